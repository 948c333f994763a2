package widgets

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// staleRenderCacheEnv, set to a duration, has every picture test wait
// that long before it builds its window (TestGoldensWithStaleRenderCache).
const staleRenderCacheEnv = "SWITCHBOARD_TEST_STALE_RENDER_CACHE"

// freshRenderCache readies Fyne's render cache for a picture: it
// advances the cache's clock, as a real driver does every frame.
//
// The cache drops a widget's renderer that has not been marked alive
// for a minute by that clock (FYNE_CACHE), and the painter makes a new
// one nobody lays out: a half-drawn picture. The test driver advances
// the clock only in Canvas.Capture, so a window built more than a minute
// after the process's last capture (a -race run of this package on a
// busy machine gets there) marks its renderers alive by an old time, and
// its first capture drops them. A capture of an empty canvas advances
// the clock before the window is built (see app/harness_test.go's frame,
// which fixed the same trap for TestLook).
func freshRenderCache() {
	if age, err := time.ParseDuration(os.Getenv(staleRenderCacheEnv)); err == nil {
		time.Sleep(age)
	}
	test.NewCanvas().Capture()
}

// TestGoldensWithStaleRenderCache: the widgets' pictures are whole when
// their windows are built after the render cache's clock went stale. In
// a process of its own, with the cache's minute made 1 s and 1.1 s without
// a capture before each window, every image golden of the package is
// drawn and compared, and TestRenderersKeptThroughCapture checks that the
// capture drew the renderers the window was built with. (The widgets'
// pictures came out right even with their renderers dropped, as their
// renderers lay themselves out when made; the app's did not.)
func TestGoldensWithStaleRenderCache(t *testing.T) {
	if os.Getenv(staleRenderCacheEnv) != "" {
		t.Skip("the child process runs the picture tests")
	}
	if testing.Short() {
		t.Skip("a test process of its own: not with -short")
	}
	// The renderers' check runs in a process of its own, where its
	// capture is the first (later ones within 10 s skip the cache's
	// clean); the pictures run together in another.
	for _, tests := range [][]string{{"TestRenderersKeptThroughCapture"}, {"TestDialPad_Look", "TestLegend_Look",
		"TestLineCard_Look", "TestOrbitGrid_DragLook", "TestOrbitGrid_Look", "TestOrbitSlot_Look", "TestDirectoryPane_StatesMarkup"}} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^("+strings.Join(tests, "|")+")$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "FYNE_CACHE=1s", staleRenderCacheEnv+"=1100ms")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s with a stale render cache: %v\n%s", strings.Join(tests, ", "), err, out)
		}
		for _, name := range tests {
			if !strings.Contains(string(out), "--- PASS: "+name) {
				t.Errorf("%s did not pass:\n%s", name, out)
			}
		}
	}
}

// TestRenderersKeptThroughCapture (run by TestGoldensWithStaleRenderCache
// with a stale cache): a picture's capture draws the renderers its window
// was built and laid out with, not new ones. It fails without
// freshRenderCache's capture.
func TestRenderersKeptThroughCapture(t *testing.T) {
	if os.Getenv(staleRenderCacheEnv) == "" {
		t.Skip("TestGoldensWithStaleRenderCache runs it with a stale render cache")
	}
	newLookApp(t, variants["light"])
	b := widget.NewButton("Answer", nil)
	w := test.NewTempWindow(t, b)
	w.Resize(fyne.NewSize(200, 100))
	before := test.WidgetRenderer(b)
	w.Canvas().Capture()
	if test.WidgetRenderer(b) != before {
		t.Fatal("the capture dropped the window's renderers and drew new ones, not laid out")
	}
}
