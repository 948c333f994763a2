package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// LegendEntry is one colour of the console and what it means.
type LegendEntry struct {
	// Color names the colour (ColorNameFree, …).
	Color fyne.ThemeColorName
	// Name is the colour's meaning in a word or two ("Free").
	Name string
	// Meaning says where the receptionist sees it.
	Meaning string
}

// LegendEntries are the console's colours, one meaning each (see the
// palette in palette.go), in the order the legend lists them.
var LegendEntries = []LegendEntry{
	{ColorNameFree, "Free", "an orbit nobody holds: drop a call on it to park it; Answer"},
	{ColorNameYours, "Yours", "your live call, a call you parked; Resume"},
	{ColorNameOthers, "Others'", "a call parked by another console"},
	{ColorNameWaiting, "Waiting", "a caller waits for you: ringing, on hold, ringing back"},
	{ColorNameDanger, "Danger", "Hang up, Decline, a refused drop"},
}

// Legend lists the console's colours, each with a swatch drawn as the
// slots and cards draw it and what it means, for the Keys help.
type Legend struct {
	widget.BaseWidget
}

// NewLegend returns the legend of LegendEntries.
func NewLegend() *Legend {
	l := &Legend{}
	l.ExtendBaseWidget(l)
	return l
}

// CreateRenderer is a private method to Fyne which links this widget to
// its renderer.
func (l *Legend) CreateRenderer() fyne.WidgetRenderer {
	l.ExtendBaseWidget(l)
	r := &legendRenderer{legend: l}
	for range LegendEntries {
		row := legendRow{swatch: &canvas.Rectangle{}, name: &canvas.Text{}, meaning: &canvas.Text{}}
		row.name.TextStyle = fyne.TextStyle{Bold: true}
		r.rows = append(r.rows, row)
		r.objects = append(r.objects, row.swatch, row.name, row.meaning)
	}
	r.Refresh()
	return r
}

type legendRow struct {
	swatch        *canvas.Rectangle
	name, meaning *canvas.Text
}

type legendRenderer struct {
	legend  *Legend
	rows    []legendRow
	objects []fyne.CanvasObject
}

func (r *legendRenderer) Destroy() {}

func (r *legendRenderer) Objects() []fyne.CanvasObject { return r.objects }

// metrics are the swatch's size, the gap, the name column's width and
// a row's height.
func (r *legendRenderer) metrics() (swatch fyne.Size, gap, nameW, rowH float32) {
	th := r.legend.Theme()
	gap = th.Size(theme.SizeNamePadding) * 2
	text := th.Size(theme.SizeNameText)
	for i, e := range LegendEntries {
		nameW = fyne.Max(nameW, fyne.MeasureText(e.Name, text, r.rows[i].name.TextStyle).Width)
	}
	lineH := fyne.MeasureText("Mg", text, fyne.TextStyle{}).Height
	swatch = fyne.NewSize(lineH*2, lineH)
	rowH = lineH + th.Size(theme.SizeNamePadding)
	return swatch, gap, nameW, rowH
}

func (r *legendRenderer) Layout(fyne.Size) {
	swatch, gap, nameW, rowH := r.metrics()
	for i, row := range r.rows {
		y := float32(i) * rowH
		row.swatch.Move(fyne.NewPos(0, y))
		row.swatch.Resize(swatch)
		row.name.Move(fyne.NewPos(swatch.Width+gap, y))
		row.name.Resize(fyne.NewSize(nameW, swatch.Height))
		row.meaning.Move(fyne.NewPos(swatch.Width+2*gap+nameW, y))
		row.meaning.Resize(row.meaning.MinSize())
	}
}

// MinSize is every row whole: no meaning is cut.
func (r *legendRenderer) MinSize() fyne.Size {
	swatch, gap, nameW, rowH := r.metrics()
	w := float32(0)
	for _, row := range r.rows {
		w = fyne.Max(w, row.meaning.MinSize().Width)
	}
	n := float32(len(r.rows))
	return fyne.NewSize(swatch.Width+2*gap+nameW+w, n*rowH-(rowH-swatch.Height))
}

func (r *legendRenderer) Refresh() {
	th := r.legend.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	fg := th.Color(theme.ColorNameForeground, v)
	text := th.Size(theme.SizeNameText)
	for i, e := range LegendEntries {
		row := r.rows[i]
		c := colorOf(th, e.Color)
		row.swatch.CornerRadius = th.Size(theme.SizeNameInputRadius)
		row.swatch.FillColor, row.swatch.StrokeColor, row.swatch.StrokeWidth = c, nil, 0
		if e.Color == ColorNameFree {
			// Drawn as a free slot is: an empty orbit outlined in green.
			row.swatch.FillColor = th.Color(theme.ColorNameInputBackground, v)
			row.swatch.StrokeColor = c
			row.swatch.StrokeWidth = th.Size(theme.SizeNameInputBorder)
		}
		row.name.Text, row.name.Color, row.name.TextSize = e.Name, fg, text
		row.meaning.Text, row.meaning.Color, row.meaning.TextSize = e.Meaning, fg, text
	}
	r.Layout(r.legend.Size())
	for _, o := range r.objects {
		o.Refresh()
	}
}
