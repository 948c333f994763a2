package main

import (
	"bytes"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
)

// TestFitScreen: the console's 1280×800 start size shrinks to a screen
// it would not fit at its scale, never grows, and is left alone without
// a screen to fit.
func TestFitScreen(t *testing.T) {
	want := fyne.NewSize(1280, 800)
	for _, tt := range []struct {
		name  string
		work  image.Point
		scale float32
		fits  fyne.Size
	}{
		// 1.5 × 1280×800 is 1920×1200: the window opened off a 1400×900 screen.
		{"scale 1.5 on 1400x900", image.Pt(1400, 900), 1.5, fyne.NewSize(922, 568)},
		{"scale 1 on 1920x1080", image.Pt(1920, 1080), 1, want},
		{"scale 1 on 1366x768 laptop", image.Pt(1366, 768), 1, fyne.NewSize(1280, 720)},
		{"scale 2 on 2560x1440", image.Pt(2560, 1440), 2, fyne.NewSize(1272, 696)},
		{"a work area under a panel", image.Pt(1400, 860), 1, fyne.NewSize(1280, 800)},
		{"no work area", image.Pt(0, 0), 1.5, want},
		{"no scale", image.Pt(1400, 900), 0, want},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := fitScreen(want, tt.work, tt.scale)
			if got != tt.fits {
				t.Errorf("fitScreen(%v, %v, %v) = %v, want %v", want, tt.work, tt.scale, got, tt.fits)
			}
			if tt.scale > 0 && tt.work.X > 0 {
				if px := got.Width * tt.scale; px > float32(tt.work.X) {
					t.Errorf("%v px wide on a %d px screen", px, tt.work.X)
				}
				if px := got.Height * tt.scale; px > float32(tt.work.Y) {
					t.Errorf("%v px high on a %d px screen", px, tt.work.Y)
				}
			}
		})
	}
}

// TestFyneScale follows Fyne's rule for a window's scale: FYNE_SCALE,
// else the app's setting, times the system's, to a tenth.
func TestFyneScale(t *testing.T) {
	for _, tt := range []struct {
		env             string
		setting, system float32
		want            float32
	}{
		{"1.5", 1, 1, 1.5},
		{"1.5", 1, 1.2, 1.8},
		{"", 1.25, 1, 1.3},
		{"", 0, 1, 1},
		{"auto", 2, 1.5, 1.5},
		{"bogus", 1.2, 1, 1.2},
		{"-1", 1, 1, 1},
	} {
		if got := fyneScale(tt.env, tt.setting, tt.system); got != tt.want {
			t.Errorf("fyneScale(%q, %v, %v) = %v, want %v", tt.env, tt.setting, tt.system, got, tt.want)
		}
	}
	for _, tt := range []struct {
		mm, px int
		want   float32
	}{
		{0, 1400, 1},       // Xvfb and others that say no size
		{370, 1400, 1},     // 96 dpi
		{300, 2560, 1.806}, // a HiDPI laptop panel
		{1, 1400, 1},       // nonsense
	} {
		if got := detectedScale(tt.mm, tt.px); got < tt.want-0.01 || got > tt.want+0.01 {
			t.Errorf("detectedScale(%d mm, %d px) = %v, want %v", tt.mm, tt.px, got, tt.want)
		}
	}
}

// TestRealWindowFitsScreen opens the console at FYNE_SCALE=1.5 and 2 on
// a 1400×900 screen: its window fits the screen (at 1.5 it opened at
// 1920×1200).
func TestRealWindowFitsScreen(t *testing.T) {
	for _, scale := range []string{"1.5", "2"} {
		t.Run(scale, func(t *testing.T) {
			x := startX(t, "fits-screen-"+scale)
			x.env = append(x.env, "FYNE_SCALE="+scale) // the last of a key wins
			c := startConsole(t, x, "-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none")
			c.waitEvent(t, "first-frame", 60*time.Second)
			win := c.window(t, x)
			// Xvfb has no window manager: the window takes the size it
			// asks for; read it until it is there (or the safety net).
			var w, h int
			deadline := time.Now().Add(10 * time.Second)
			for {
				w, h = geometry(t, x, win)
				if w > 0 && w <= 1400 && h <= 900 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			settled(t, x)
			x.shot(t, "scale-"+scale)
			if w > 1400 || h > 900 {
				t.Errorf("window %dx%d on a 1400x900 screen at scale %s", w, h, scale)
			}
			if scale == "1.5" {
				// A picture of the Keys help with the colours' legend: Keys
				// is the header's last button, at its right end.
				before := screen(t, x)
				x.xdo(t, "mousemove", "--window", win, strconv.Itoa(w-int(40*1.5)), strconv.Itoa(int(22*1.5)))
				x.xdo(t, "click", "1")
				// A busy console may take a while to draw the help: wait
				// for the screen to change before waiting for it to settle
				// (two equal pictures right after the click said nothing
				// opened, beside two busy loops).
				if !changes(t, x, before) {
					t.Error("nothing opened on a click on Keys")
				}
				settled(t, x)
				x.shot(t, "keys-legend")
			}
		})
	}
}

// screen is a picture of the whole screen, as PNG.
func screen(t *testing.T, x *x11) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "screen.png")
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = x.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v: %s", err, out)
	}
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// settled waits until two pictures of the screen in a row are alike:
// the window has been drawn at the size it took (right after a resize
// it shows the frame drawn before, or black).
func settled(t *testing.T, x *x11) {
	t.Helper()
	var last []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		img := screen(t, x)
		if last != nil && bytes.Equal(img, last) {
			return
		}
		last = img
	}
	t.Error("the screen never settled")
}

// changes waits until the screen differs from before; false if it did
// not within the safety net.
func changes(t *testing.T, x *x11, before []byte) bool {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if !bytes.Equal(screen(t, x), before) {
			return true
		}
	}
	return false
}

// geometry is the size of X window win in pixels.
func geometry(t *testing.T, x *x11, win string) (w, h int) {
	t.Helper()
	for _, line := range strings.Split(x.xdo(t, "getwindowgeometry", win), "\n") {
		if g, ok := strings.CutPrefix(strings.TrimSpace(line), "Geometry: "); ok {
			ws, hs, _ := strings.Cut(g, "x")
			w, _ = strconv.Atoi(ws)
			h, _ = strconv.Atoi(hs)
		}
	}
	return w, h
}
