package main

import (
	"image"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strconv"

	"fyne.io/fyne/v2"
	"github.com/go-gl/glfw/v3.4/glfw"
)

// Room, in pixels, that the window leaves on the screen's work area for
// the window manager's frame: borders and a title bar.
const (
	frameW = 16
	frameH = 48
)

// fitScreen is the size, in Fyne units, to open a window that would like
// to be want: want, or less where a screen work area of work pixels, at
// scale pixels per unit, is smaller (with room for the window's frame).
// Without a work area or a scale it is want.
func fitScreen(want fyne.Size, work image.Point, scale float32) fyne.Size {
	if scale <= 0 || work.X <= frameW || work.Y <= frameH {
		return want
	}
	maxW := float32(math.Floor(float64(float32(work.X-frameW) / scale)))
	maxH := float32(math.Floor(float64(float32(work.Y-frameH) / scale)))
	return fyne.NewSize(fyne.Min(want.Width, maxW), fyne.Min(want.Height, maxH))
}

// fyneScale is the scale Fyne 2.8's GLFW driver gives a window: the
// user's (FYNE_SCALE as env says, else the app's setting; "auto" is 1)
// times the system's, rounded to a tenth. Fyne has no API that tells it
// before the window is shown, so this follows its internal/driver/glfw.
func fyneScale(env string, setting, system float32) float32 {
	user := float32(1)
	switch {
	case env != "" && env != "auto":
		if v, err := strconv.ParseFloat(env, 32); err == nil && v != 0 {
			user = float32(v)
		} else if setting > 0 {
			user = setting
		}
	case env == "" && setting > 0:
		user = setting
	}
	if user < 0 {
		user = 1
	}
	return float32(math.Round(float64(system*user*10))) / 10
}

// detectedScale is the system scale Fyne detects from a monitor widthMM
// millimetres and widthPx pixels wide: its DPI over 120, at least 1.
func detectedScale(widthMM, widthPx int) float32 {
	if widthMM <= 0 {
		return 1
	}
	dpi := float32(widthPx) / (float32(widthMM) / 25.4)
	if dpi > 1000 || dpi < 10 {
		return 1
	}
	return fyne.Max(1, dpi/120)
}

// startSize is the size to open the console's window at: want, fitted
// to the primary monitor's work area at the scale the window will get.
// It must be called on the main goroutine after the app's first window
// was made (GLFW is then initialised); where GLFW cannot say (no
// display, another driver), it is want.
func startSize(a fyne.App, want fyne.Size) (size fyne.Size) {
	size = want
	defer func() {
		// go-gl/glfw panics on GLFW's errors, such as "not initialised"
		// when there is no display: then the window opens at want.
		if r := recover(); r != nil {
			slog.Debug("no screen size", "err", r)
			size = want
		}
	}()
	m := glfw.GetPrimaryMonitor()
	if m == nil {
		return want
	}
	_, _, w, h := m.GetWorkarea()
	system := float32(1)
	switch {
	case runtime.GOOS == "darwin":
		// macOS scales at the texture level.
	case runtime.GOOS == "windows":
		system, _ = m.GetContentScale()
	case glfw.GetPlatform() == glfw.PlatformWayland:
		// Wayland scales through the content scale, and so does its work area.
	default:
		if mode := m.GetVideoMode(); mode != nil {
			mm, _ := m.GetPhysicalSize()
			system = detectedScale(mm, mode.Width)
		}
	}
	scale := fyneScale(os.Getenv("FYNE_SCALE"), a.Settings().Scale(), system)
	size = fitScreen(want, image.Pt(w, h), scale)
	slog.Debug("window size", "want", want, "work_area", image.Pt(w, h), "scale", scale, "size", size)
	return size
}
