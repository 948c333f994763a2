// Command render-icon draws Switchboard's application icon and writes it
// as a PNG: a blue rounded square with a white telephone handset over a
// small grid of orbit lamps, two of them lit. The shapes are described as
// distance functions and sampled 8×8 times per pixel, so the edges are
// smooth at any size; nothing is copied from an icon set.
//
// The repository keeps the result as assets/icon.png (embedded by the
// assets package); run this again after changing the drawing:
//
//	go run ./assets/cmd/render-icon assets/icon.png
//
// An optional second argument sets the size in pixels (512 by default).
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: render-icon out.png [size]")
		os.Exit(2)
	}
	size := 512
	if len(os.Args) == 3 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 16 || n > 4096 {
			fmt.Fprintln(os.Stderr, "render-icon: size must be a number of pixels from 16 to 4096")
			os.Exit(2)
		}
		size = n
	}
	f, err := os.Create(os.Args[1])
	if err == nil {
		err = png.Encode(f, render(size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "render-icon:", err)
		os.Exit(1)
	}
}

// A layer is one shape: inside reports whether a point (in a 512×512
// design space) is covered, paint its colour there.
type layer struct {
	inside func(x, y float64) bool
	paint  func(x, y float64) rgba
}

type rgba struct{ r, g, b, a float64 } // straight alpha, 0..1

func solid(c rgba) func(x, y float64) rgba { return func(float64, float64) rgba { return c } }

func hex(s string, a float64) rgba {
	v, _ := strconv.ParseUint(s, 16, 32)
	return rgba{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, a}
}

// over composites c over dst (premultiplied accumulation in dst).
func over(dst, c rgba) rgba {
	a := c.a + dst.a*(1-c.a)
	if a == 0 {
		return rgba{}
	}
	mix := func(s, d float64) float64 { return (s*c.a + d*dst.a*(1-c.a)) / a }
	return rgba{mix(c.r, dst.r), mix(c.g, dst.g), mix(c.b, dst.b), a}
}

// roundRect reports whether (x, y) is inside the rectangle x0,y0–x1,y1
// with corners of radius r.
func roundRect(x0, y0, x1, y1, r float64) func(x, y float64) bool {
	return func(x, y float64) bool {
		cx := math.Max(x0+r, math.Min(x, x1-r))
		cy := math.Max(y0+r, math.Min(y, y1-r))
		return x >= x0 && x <= x1 && y >= y0 && y <= y1 && math.Hypot(x-cx, y-cy) <= r
	}
}

// handset is a telephone receiver: a thick arc (the handle) whose ends
// widen into the ear and mouth pieces.
func handset(x, y float64) bool {
	const (
		cx, cy = 256.0, 300.0 // centre of the handle's arc
		radius = 150.0
		thick  = 28.0 // half the handle's thickness
		from   = math.Pi * 1.18
		to     = math.Pi * 1.82
	)
	// The handle: points near the arc between the two angles.
	ang := math.Atan2(y-cy, x-cx)
	if ang < 0 {
		ang += 2 * math.Pi
	}
	if ang >= from && ang <= to && math.Abs(math.Hypot(x-cx, y-cy)-radius) <= thick {
		return true
	}
	// The two pieces: rounded blocks at the ends, set along the radius
	// and reaching inward, wider than the handle.
	for _, a := range []float64{from, to} {
		ex, ey := cx+radius*math.Cos(a), cy+radius*math.Sin(a)
		ux, uy := math.Cos(a), math.Sin(a) // outward along the radius
		dx, dy := x-ex, y-ey
		u := dx*ux + dy*uy  // along the radius
		v := -dx*uy + dy*ux // along the arc
		// Distance to a box centred 22 inward, 50×42 half-extents, with
		// corners of radius 30.
		const hu, hv, r = 50.0, 40.0, 30.0
		qu := math.Abs(u+22) - (hu - r)
		qv := math.Abs(v) - (hv - r)
		if math.Hypot(math.Max(qu, 0), math.Max(qv, 0))+math.Min(math.Max(qu, qv), 0) <= r {
			return true
		}
	}
	return false
}

func render(size int) *image.NRGBA {
	top, bottom := hex("2F6FE4", 1), hex("1A3C8C", 1)
	bg := roundRect(24, 24, 488, 488, 104)
	layers := []layer{
		{bg, func(x, y float64) rgba {
			t := (y - 24) / 464
			return rgba{top.r + (bottom.r-top.r)*t, top.g + (bottom.g-top.g)*t, top.b + (bottom.b-top.b)*t, 1}
		}},
	}
	// The orbit grid: 3×2 lamps under the handset; one green (parked by
	// me), one amber (parked elsewhere), the rest dim.
	const w, h, gapX, gapY, left, topY = 100.0, 58.0, 22.0, 20.0, 84.0, 330.0
	lit := map[[2]int]rgba{{1, 0}: hex("3DDC84", 1), {2, 1}: hex("FFB62E", 1)}
	for row := 0; row < 2; row++ {
		for col := 0; col < 3; col++ {
			x0 := left + float64(col)*(w+gapX)
			y0 := topY + float64(row)*(h+gapY)
			c, ok := lit[[2]int{col, row}]
			if !ok {
				c = rgba{1, 1, 1, 0.22}
			}
			layers = append(layers, layer{roundRect(x0, y0, x0+w, y0+h, 16), solid(c)})
		}
	}
	// A shadow under the handset, then the handset.
	layers = append(layers,
		layer{func(x, y float64) bool { return bg(x, y) && handset(x-4, y-8) }, solid(rgba{0.04, 0.1, 0.25, 0.35})},
		layer{handset, solid(rgba{1, 1, 1, 1})},
	)

	const ss = 8 // samples per pixel per axis
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	scale := 512 / float64(size)
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var sum rgba
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) * scale
					y := (float64(py) + (float64(sy)+0.5)/ss) * scale
					var c rgba
					for _, l := range layers {
						if l.inside(x, y) {
							c = over(c, l.paint(x, y))
						}
					}
					sum.r += c.r * c.a
					sum.g += c.g * c.a
					sum.b += c.b * c.a
					sum.a += c.a
				}
			}
			n := float64(ss * ss)
			a := sum.a / n
			var out color.NRGBA
			if a > 0 {
				out = color.NRGBA{
					R: uint8(math.Round(sum.r / sum.a * 255)),
					G: uint8(math.Round(sum.g / sum.a * 255)),
					B: uint8(math.Round(sum.b / sum.a * 255)),
					A: uint8(math.Round(a * 255)),
				}
			}
			img.SetNRGBA(px, py, out)
		}
	}
	return img
}
