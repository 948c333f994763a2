package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Presence is what a contact's lamp in the directory shows.
type Presence uint8

// The presence states a directory row shows.
const (
	PresenceUnknown Presence = iota // no lamp information (not subscribed, or no answer)
	PresenceIdle                    // free
	PresenceRinging                 // a call rings the person
	PresenceBusy                    // on a call
)

// Colour names of the presence lamps; a theme that does not define them
// gets the standard colour named in each comment.
const (
	// ColorNamePresenceUnknown colours an unknown lamp (disabled).
	ColorNamePresenceUnknown fyne.ThemeColorName = "switchboard-presence-unknown"
	// ColorNamePresenceIdle colours a free person's lamp (success).
	ColorNamePresenceIdle fyne.ThemeColorName = "switchboard-presence-idle"
	// ColorNamePresenceRinging colours a ringing person's lamp (warning).
	ColorNamePresenceRinging fyne.ThemeColorName = "switchboard-presence-ringing"
	// ColorNamePresenceBusy colours the lamp of a person on a call (error).
	ColorNamePresenceBusy fyne.ThemeColorName = "switchboard-presence-busy"
)

// presenceColors is each presence's colour name and its fallback.
var presenceColors = map[Presence][2]fyne.ThemeColorName{
	PresenceUnknown: {ColorNamePresenceUnknown, theme.ColorNameDisabled},
	PresenceIdle:    {ColorNamePresenceIdle, theme.ColorNameSuccess},
	PresenceRinging: {ColorNamePresenceRinging, theme.ColorNameWarning},
	PresenceBusy:    {ColorNamePresenceBusy, theme.ColorNameError},
}

// presenceColor is the lamp colour of p in th.
func presenceColor(th fyne.Theme, p Presence) color.Color {
	names, ok := presenceColors[p]
	if !ok {
		names = presenceColors[PresenceUnknown]
	}
	v := fyne.CurrentApp().Settings().ThemeVariant()
	c := th.Color(names[0], v)
	if isUnset(c) {
		c = th.Color(names[1], v)
	}
	if c == nil {
		return color.Transparent
	}
	return c
}

// PresenceWord is a lamp in words, beside its colour: "free", "ringing",
// "on a call"; nothing for unknown (the grey lamp).
func PresenceWord(p Presence) string {
	switch p {
	case PresenceIdle:
		return "free"
	case PresenceRinging:
		return "ringing"
	case PresenceBusy:
		return "on a call"
	}
	return ""
}

// DirectoryRow is one contact as the directory pane lists it.
type DirectoryRow struct {
	// ID is the owner's key for the contact; the pane does not show it.
	ID string
	// Name is the contact's name.
	Name string
	// Extension is the number (or SIP address) shown beside the name.
	Extension string
	// Department is shown under the name.
	Department string
	// Presence is the contact's lamp.
	Presence Presence
}

// DirectoryPane is the directory: a search box above the list of
// contacts. Typing searches as you type (the owner runs the search in
// OnSearch and shows the result with SetRows); in the search box, Up and
// Down move the selection, Enter acts on the selected contact
// (OnActivate) and Escape clears the search. The first row is selected
// when rows are set, so Enter acts on the best match.
type DirectoryPane struct {
	widget.BaseWidget

	// Query is the text in the search box.
	Query string
	// Rows are the contacts listed, best match first.
	Rows []DirectoryRow
	// Selected is the index of the selected row, -1 for none.
	Selected int
	// Placeholder is shown in the empty search box.
	Placeholder string
	// Status is a line under the search box saying what is wrong with
	// the directory while its contacts are still listed ("Directory as
	// of 09:12 (the directory server cannot be reached)"); empty: none.
	Status string
	// EmptyText is shown over the list when it lists nobody and nothing
	// is searched: why ("Reading the directory…", "No directory: …",
	// "Nobody in the directory"); empty: nothing shown.
	EmptyText string

	// OnSearch is called with the query after every change of it.
	OnSearch func(query string) `json:"-"`
	// OnActivate is called with the selected row on Enter, or when a row
	// is double-tapped.
	OnActivate func(row DirectoryRow) `json:"-"`
	// OnEscape is called on Escape in the empty search box (the owner
	// gives the keyboard back); Escape in a search clears it first.
	OnEscape func() `json:"-"`
	// OnShown is called with the rows on screen (first..last, inclusive;
	// last < first for none) when they change: after a search, a
	// scroll, a resize. The owner watches their presence.
	OnShown func(first, last int) `json:"-"`

	// shown is the range last reported to OnShown.
	shown [2]int

	entry *searchEntry
	list  *widget.List
	empty *widget.Label // "Nobody matches …", over the list when a search finds no one
	// status shows Status between the search box and the list.
	status *widget.Label
	// selecting is set while the pane selects a row itself, so that the
	// list's OnSelected does not report it back.
	selecting bool
}

// NewDirectoryPane returns an empty directory pane that calls search as
// the query changes.
func NewDirectoryPane(search func(query string)) *DirectoryPane {
	d := &DirectoryPane{OnSearch: search, Selected: -1, Placeholder: "Search people (name, extension, department)"}
	d.ExtendBaseWidget(d)
	d.entry = newSearchEntry(d)
	d.empty = widget.NewLabel("")
	d.empty.Alignment = fyne.TextAlignCenter
	d.empty.Wrapping = fyne.TextWrapWord
	d.empty.Hide()
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord
	d.status.Importance = widget.WarningImportance
	d.status.Hide()
	d.list = widget.NewList(
		func() int { return len(d.Rows) },
		func() fyne.CanvasObject { return newDirectoryRowView(d) },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= 0 && id < len(d.Rows) {
				o.(*directoryRowView).set(id, d.Rows[id])
			}
			// The list binds a row as it comes on screen.
			d.reportShown()
		},
	)
	d.list.OnSelected = func(id widget.ListItemID) {
		if !d.selecting {
			d.Selected = id
		}
	}
	return d
}

// SetState shows what is wrong with the directory (Status) and what the
// pane says when it lists nobody (EmptyText).
func (d *DirectoryPane) SetState(status, emptyText string) {
	if status == d.Status && emptyText == d.EmptyText {
		return
	}
	d.Status, d.EmptyText = status, emptyText
	d.Refresh()
}

// SetRows replaces the rows listed and selects the first.
func (d *DirectoryPane) SetRows(rows []DirectoryRow) {
	d.Rows = rows
	d.Selected = -1
	if len(rows) > 0 {
		d.Selected = 0
	}
	d.Refresh()
	d.shown = [2]int{-1, -2} // new rows: report them even where the range is the same
	d.reportShown()
}

// shownWithoutWindow is how many rows count as on screen while the
// pane has no size (not laid out yet).
const shownWithoutWindow = 30

// ShownRows returns the rows on screen, first..last inclusive (last <
// first when none): those the list's height and scroll offset show.
func (d *DirectoryPane) ShownRows() (first, last int) {
	n := len(d.Rows)
	h := d.list.Size().Height
	step := newDirectoryRowView(d).MinSize().Height + d.Theme().Size(theme.SizeNamePadding)
	if h <= 0 || step <= 0 {
		return 0, min(n, shownWithoutWindow) - 1
	}
	off := d.list.GetScrollOffset()
	first = int(off / step)
	last = int((off + h) / step)
	return min(first, n), min(last, n-1)
}

// reportShown calls OnShown when the rows on screen changed.
func (d *DirectoryPane) reportShown() {
	if d.OnShown == nil {
		return
	}
	first, last := d.ShownRows()
	if d.shown == [2]int{first, last} {
		return
	}
	d.shown = [2]int{first, last}
	d.OnShown(first, last)
}

// SetPresence changes the lamp of the rows with id, redrawing only them.
func (d *DirectoryPane) SetPresence(id string, p Presence) {
	for i := range d.Rows {
		if d.Rows[i].ID == id && d.Rows[i].Presence != p {
			d.Rows[i].Presence = p
			d.list.RefreshItem(i)
		}
	}
}

// SetQuery replaces the search text; OnSearch is called as if typed.
func (d *DirectoryPane) SetQuery(q string) {
	d.entry.SetText(q)
}

// FocusSearch gives the search box the keyboard (the console's "/" key).
func (d *DirectoryPane) FocusSearch() {
	if c := fyne.CurrentApp().Driver().CanvasForObject(d.entry); c != nil {
		c.Focus(d.entry)
	}
}

// SearchFocused reports whether the search box has the keyboard.
func (d *DirectoryPane) SearchFocused() bool {
	c := fyne.CurrentApp().Driver().CanvasForObject(d.entry)
	return c != nil && c.Focused() == d.entry
}

// MoveSelection moves the selection by delta rows, staying within the list.
func (d *DirectoryPane) MoveSelection(delta int) {
	if len(d.Rows) == 0 {
		return
	}
	i := d.Selected + delta
	if d.Selected < 0 && delta > 0 {
		i = delta - 1
	}
	i = max(0, min(i, len(d.Rows)-1))
	if i == d.Selected {
		return
	}
	d.Selected = i
	d.selectInList()
}

// Activate calls OnActivate with the selected row, if there is one.
func (d *DirectoryPane) Activate() {
	if d.Selected >= 0 && d.Selected < len(d.Rows) && d.OnActivate != nil {
		d.OnActivate(d.Rows[d.Selected])
	}
}

// selectInList shows Selected in the list (selected and scrolled to).
func (d *DirectoryPane) selectInList() {
	d.selecting = true
	defer func() { d.selecting = false }()
	if d.Selected < 0 || d.Selected >= len(d.Rows) {
		d.list.UnselectAll()
		return
	}
	d.list.Select(d.Selected)
}

// queryChanged is the search box's OnChanged.
func (d *DirectoryPane) queryChanged(q string) {
	d.Query = q
	if d.OnSearch != nil {
		d.OnSearch(q)
	}
}

// CreateRenderer makes the pane's renderer.
func (d *DirectoryPane) CreateRenderer() fyne.WidgetRenderer {
	d.ExtendBaseWidget(d)
	return &directoryRenderer{d: d, objects: []fyne.CanvasObject{d.entry, d.status, d.list, d.empty}}
}

type directoryRenderer struct {
	d       *DirectoryPane
	objects []fyne.CanvasObject
}

func (r *directoryRenderer) Destroy() {}

func (r *directoryRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *directoryRenderer) Layout(size fyne.Size) {
	defer r.d.reportShown() // a new height shows other rows
	pad := r.d.Theme().Size(theme.SizeNamePadding)
	eh := r.d.entry.MinSize().Height
	r.d.entry.Move(fyne.NewPos(0, 0))
	r.d.entry.Resize(fyne.NewSize(size.Width, eh))
	top := eh + pad
	if r.d.status.Visible() {
		r.d.status.Move(fyne.NewPos(0, top))
		r.d.status.Resize(fyne.NewSize(size.Width, r.d.status.MinSize().Height))
		top += r.d.status.MinSize().Height
	}
	r.d.list.Move(fyne.NewPos(0, top))
	r.d.list.Resize(fyne.NewSize(size.Width, max(0, size.Height-top)))
	r.d.empty.Move(fyne.NewPos(0, top))
	r.d.empty.Resize(fyne.NewSize(size.Width, r.d.empty.MinSize().Height))
}

func (r *directoryRenderer) MinSize() fyne.Size {
	pad := r.d.Theme().Size(theme.SizeNamePadding)
	e, l := r.d.entry.MinSize(), r.d.list.MinSize()
	h := e.Height + pad + l.Height
	if r.d.status.Visible() {
		h += r.d.status.MinSize().Height
	}
	return fyne.NewSize(max(e.Width, l.Width), h)
}

func (r *directoryRenderer) Refresh() {
	d := r.d
	if d.entry.Text != d.Query {
		d.entry.SetText(d.Query)
	}
	d.entry.SetPlaceHolder(d.Placeholder)
	switch {
	case len(d.Rows) == 0 && d.Query != "":
		d.empty.SetText("Nobody matches “" + d.Query + "”")
		d.empty.Show()
	case len(d.Rows) == 0 && d.EmptyText != "":
		d.empty.SetText(d.EmptyText)
		d.empty.Show()
	default:
		d.empty.Hide()
	}
	if d.Status != "" {
		d.status.SetText(d.Status)
		d.status.Show()
	} else {
		d.status.Hide()
	}
	r.Layout(d.Size())
	d.list.Refresh()
	d.selectInList()
}

// searchEntry is the pane's search box: an entry whose Up, Down, Enter
// and Escape keys act on the pane's list.
type searchEntry struct {
	widget.Entry
	pane *DirectoryPane
}

func newSearchEntry(d *DirectoryPane) *searchEntry {
	e := &searchEntry{pane: d}
	e.ExtendBaseWidget(e)
	e.OnChanged = d.queryChanged
	return e
}

// TypedKey moves the selection (Up, Down, Page Up, Page Down), acts on it
// (Enter) or clears the search (Escape); other keys edit the text.
func (e *searchEntry) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyDown:
		e.pane.MoveSelection(1)
	case fyne.KeyUp:
		e.pane.MoveSelection(-1)
	case fyne.KeyPageDown:
		e.pane.MoveSelection(pageRows)
	case fyne.KeyPageUp:
		e.pane.MoveSelection(-pageRows)
	case fyne.KeyReturn, fyne.KeyEnter:
		e.pane.Activate()
	case fyne.KeyEscape:
		if e.Text != "" {
			e.SetText("")
		} else if e.pane.OnEscape != nil {
			e.pane.OnEscape()
		}
	default:
		e.Entry.TypedKey(k)
	}
}

// pageRows is how far Page Up and Page Down move the selection.
const pageRows = 10

// directoryRowView draws one row: the presence lamp, the name with the
// department under it, and the extension at the right.
type directoryRowView struct {
	widget.BaseWidget
	pane *DirectoryPane
	id   int
	row  DirectoryRow

	lamp       *canvas.Rectangle
	name, ext  *canvas.Text
	department *canvas.Text
	state      *canvas.Text // the lamp in a word, under the extension
}

func newDirectoryRowView(d *DirectoryPane) *directoryRowView {
	v := &directoryRowView{pane: d, id: -1}
	v.ExtendBaseWidget(v)
	return v
}

func (v *directoryRowView) set(id int, row DirectoryRow) {
	v.id, v.row = id, row
	v.Refresh()
}

// DoubleTapped activates the row.
func (v *directoryRowView) DoubleTapped(*fyne.PointEvent) {
	if v.id < 0 {
		return
	}
	v.pane.Selected = v.id
	v.pane.selectInList()
	v.pane.Activate()
}

func (v *directoryRowView) CreateRenderer() fyne.WidgetRenderer {
	v.lamp = canvas.NewRectangle(color.Transparent)
	v.name = canvas.NewText("", color.Black)
	v.name.TextStyle.Bold = true
	v.ext = canvas.NewText("", color.Black)
	v.ext.TextStyle.Monospace = true
	v.department = canvas.NewText("", color.Black)
	v.state = canvas.NewText("", color.Black)
	v.state.Alignment = fyne.TextAlignTrailing
	r := &rowRenderer{v: v, objects: []fyne.CanvasObject{v.lamp, v.name, v.department, v.ext, v.state}}
	r.Refresh()
	return r
}

type rowRenderer struct {
	v       *directoryRowView
	objects []fyne.CanvasObject
}

func (r *rowRenderer) Destroy() {}

func (r *rowRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *rowRenderer) lampSize() float32 {
	return r.v.Theme().Size(theme.SizeNameInlineIcon) / 2
}

func (r *rowRenderer) Layout(size fyne.Size) {
	th := r.v.Theme()
	pad := th.Size(theme.SizeNamePadding)
	ls := r.lampSize()
	v := r.v
	v.lamp.Resize(fyne.NewSquareSize(ls))
	v.lamp.Move(fyne.NewPos(pad, (size.Height-ls)/2))
	nh, dh := v.name.MinSize().Height, v.department.MinSize().Height
	top := (size.Height - nh - dh) / 2
	ext, st := v.ext.MinSize(), v.state.MinSize()
	right := max(ext.Width, st.Width)
	v.ext.Move(fyne.NewPos(size.Width-pad-ext.Width, top))
	v.ext.Resize(ext)
	v.state.Move(fyne.NewPos(size.Width-pad-st.Width, top+nh))
	v.state.Resize(st)
	x := pad + ls + pad
	w := max(0, size.Width-x-right-2*pad)
	v.name.Move(fyne.NewPos(x, top))
	v.name.Resize(fyne.NewSize(w, nh))
	v.department.Move(fyne.NewPos(x, top+nh))
	v.department.Resize(fyne.NewSize(w, dh))
}

func (r *rowRenderer) MinSize() fyne.Size {
	th := r.v.Theme()
	pad := th.Size(theme.SizeNamePadding)
	v := r.v
	h := v.name.MinSize().Height + v.department.MinSize().Height
	w := pad + r.lampSize() + pad + v.name.MinSize().Width + 2*pad + max(v.ext.MinSize().Width, v.state.MinSize().Width) + pad
	return fyne.NewSize(w, h+pad)
}

func (r *rowRenderer) Refresh() {
	v := r.v
	th := v.Theme()
	variant := fyne.CurrentApp().Settings().ThemeVariant()
	ls := r.lampSize()
	v.lamp.FillColor = presenceColor(th, v.row.Presence)
	v.lamp.CornerRadius = ls / 2
	v.name.Text = v.row.Name
	v.name.Color = th.Color(theme.ColorNameForeground, variant)
	v.name.TextSize = th.Size(theme.SizeNameText)
	v.ext.Text = v.row.Extension
	v.ext.Color = th.Color(theme.ColorNameForeground, variant)
	v.ext.TextSize = th.Size(theme.SizeNameText)
	v.department.Text = v.row.Department
	v.department.Color = th.Color(theme.ColorNamePlaceHolder, variant)
	v.department.TextSize = th.Size(theme.SizeNameCaptionText)
	v.state.Text = PresenceWord(v.row.Presence)
	v.state.Color = th.Color(theme.ColorNamePlaceHolder, variant)
	v.state.TextSize = th.Size(theme.SizeNameCaptionText)
	// The extension's width decides the others': lay out again.
	r.Layout(v.Size())
	for _, o := range r.objects {
		o.Refresh()
	}
}
