package app

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/widgets"
)

// Snapshot is what the window shows, in words and places: for tests, and
// for the state log a driver of the real window reads (cmd/attendant
// --state-log) to know what happened and where to click.
type Snapshot struct {
	Lines         []LineSnapshot  `json:"lines"`
	Orbits        []OrbitSnapshot `json:"orbits"`
	ParkAvailable bool            `json:"park_available"`
	Registration  string          `json:"registration"`
	Park          string          `json:"park"`
	Audio         string          `json:"audio"`
	// Message is the status bar's passing message.
	Message string `json:"message,omitempty"`
	// Typed is what the keyboard has typed or is being asked.
	Typed string `json:"typed,omitempty"`
	// Confirm is the question waiting for an answer, if any.
	Confirm string `json:"confirm,omitempty"`
	// Notification is the last desktop notification sent.
	Notification string `json:"notification,omitempty"`
	// History is the history panel, newest first.
	History []string `json:"history"`
	// People is the People pane, nil when the window has none.
	People *PeopleSnapshot `json:"people,omitempty"`
}

// PeopleSnapshot is the People pane: the people on screen, and the bars
// of an attended transfer and of a camp-on when they are shown.
type PeopleSnapshot struct {
	// Query is the text in the search box.
	Query string `json:"query,omitempty"`
	// Rows are the people wholly on screen, top first.
	Rows []PersonSnapshot `json:"rows"`
	// Consult is what the attended transfer's bar says; empty when
	// none is under way.
	Consult string `json:"consult,omitempty"`
	// Waiting is what the camp-on bar says ("transfer when free?", the
	// calls waiting for a colleague); empty when it is hidden.
	Waiting string `json:"waiting,omitempty"`
	// Buttons are the attended transfer bar's buttons (Complete,
	// Cancel) by label, where they are; WaitingButtons the camp-on bar's.
	Buttons        map[string]Rect `json:"buttons,omitempty"`
	WaitingButtons map[string]Rect `json:"waiting_buttons,omitempty"`
}

// PersonSnapshot is one person in the People pane.
type PersonSnapshot struct {
	Name      string `json:"name"`
	Extension string `json:"extension,omitempty"`
	// Presence is the lamp in a word (widgets.PresenceWord), empty for
	// unknown.
	Presence string `json:"presence,omitempty"`
	// Selected is set on the person Enter (or a drop here) acts on:
	// while a call is dragged over the pane, the one under the pointer.
	Selected bool `json:"selected,omitempty"`
	Rect     Rect `json:"rect"`
}

// LineSnapshot is one line card.
type LineSnapshot struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Number string `json:"number"`
	State  string `json:"state"`
	Orbit  int    `json:"orbit,omitempty"`
	Detail string `json:"detail,omitempty"`
	Rect   Rect   `json:"rect"`
}

// OrbitSnapshot is one orbit slot.
type OrbitSnapshot struct {
	Number int    `json:"number"`
	State  string `json:"state"`
	Caller string `json:"caller,omitempty"`
	Parker string `json:"parker,omitempty"`
	Hint   string `json:"hint,omitempty"`
	Rect   Rect   `json:"rect"`
}

// Rect is where an object is on the window's canvas, in Fyne's
// device-independent units (pixels at scale 1).
type Rect struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
	W float32 `json:"w"`
	H float32 `json:"h"`
}

// Centre is the middle of r.
func (r Rect) Centre() (x, y float32) { return r.X + r.W/2, r.Y + r.H/2 }

// rectOf is where o, a child of parent, is: parent's place (found once
// per snapshot, a walk of the whole tree) plus o's position in it.
func rectOf(parent fyne.Position, o fyne.CanvasObject) Rect {
	if !o.Visible() {
		return Rect{}
	}
	p := parent.Add(o.Position())
	s := o.Size()
	return Rect{X: p.X, Y: p.Y, W: s.Width, H: s.Height}
}

// Snapshot returns what the window shows now.
func (c *Console) Snapshot() Snapshot {
	s := Snapshot{
		ParkAvailable: c.parkUp && c.lotSize() > 0,
		Registration:  c.status.reg.label.Text,
		Park:          c.status.park.label.Text,
		Audio:         c.status.audio.label.Text,
		Message:       c.status.msg.Text,
		Typed:         c.status.typed.Text,
		Notification:  c.lastNote,
		History:       c.history.texts(),
		Lines:         []LineSnapshot{},
		Orbits:        []OrbitSnapshot{},
	}
	if c.confirm != nil {
		s.Confirm = c.confirm.question
	}
	drv := c.app.Driver()
	lines, grid := drv.AbsolutePositionForObject(c.linesBox), drv.AbsolutePositionForObject(c.grid)
	for _, l := range c.order {
		s.Lines = append(s.Lines, LineSnapshot{
			ID: string(l.call.ID), Name: l.card.Name, Number: l.card.Number, State: string(l.card.State),
			Orbit: l.card.Orbit, Detail: l.card.Detail, Rect: rectOf(lines, l.card),
		})
	}
	for _, slot := range c.grid.Slots {
		s.Orbits = append(s.Orbits, OrbitSnapshot{
			Number: slot.Orbit, State: string(slot.Shown()), Caller: slot.Caller, Parker: slot.Parker,
			Hint: slot.Hint(), Rect: rectOf(grid, slot),
		})
	}
	s.People = c.peopleSnapshot()
	return s
}

// peopleSnapshot is the People pane's part of the snapshot, nil without
// a directory.
func (c *Console) peopleSnapshot() *PeopleSnapshot {
	p := c.people
	if p == nil {
		return nil
	}
	ps := &PeopleSnapshot{Query: p.pane.Query, Rows: []PersonSnapshot{}}
	for _, at := range p.pane.RowPlaces() {
		r := p.pane.Rows[at.Index]
		ps.Rows = append(ps.Rows, PersonSnapshot{
			Name: r.Name, Extension: r.Extension, Presence: widgets.PresenceWord(r.Presence),
			Selected: at.Index == p.pane.Selected,
			Rect:     Rect{X: at.Pos.X, Y: at.Pos.Y, W: at.Size.Width, H: at.Size.Height},
		})
	}
	if p.consultB.Visible() {
		ps.Consult = p.consultL.Text
	}
	if p.ps.bar.Visible() {
		ps.Waiting = p.ps.label.Text
	}
	ps.Buttons = c.buttonRects(p.consultB)
	ps.WaitingButtons = c.buttonRects(p.ps.bar)
	return ps
}

// buttonRects returns where the visible buttons in bar are, by label;
// nil when there are none.
func (c *Console) buttonRects(bar *fyne.Container) map[string]Rect {
	var rects map[string]Rect
	drv := c.app.Driver()
	for _, b := range buttonsIn(bar) {
		if rects == nil {
			rects = map[string]Rect{}
		}
		rects[b.Text] = rectOf(drv.AbsolutePositionForObject(b).Subtract(b.Position()), b)
	}
	return rects
}

// buttonsIn returns the visible buttons in the containers under o.
func buttonsIn(o fyne.CanvasObject) []*widget.Button {
	switch v := o.(type) {
	case *widget.Button:
		if v.Visible() {
			return []*widget.Button{v}
		}
	case *fyne.Container:
		if !v.Visible() {
			return nil
		}
		var out []*widget.Button
		for _, child := range v.Objects {
			out = append(out, buttonsIn(child)...)
		}
		return out
	}
	return nil
}

// stateLog writes the window's state as JSON lines: an "event" line for
// moments (started, first-frame) and a "state" line each time the
// snapshot changes.
type stateLog struct {
	mu   sync.Mutex
	w    io.Writer
	last []byte
}

type stateLine struct {
	Time  string    `json:"time"`
	Event string    `json:"event"`
	State *Snapshot `json:"state,omitempty"`
}

func (l *stateLog) write(line stateLine) {
	line.Time = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	_, _ = l.w.Write(append(b, '\n'))
}

func (l *stateLog) event(name string, s *Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.write(stateLine{Event: name, State: s})
}

func (l *stateLog) snapshot(s Snapshot) {
	b, err := json.Marshal(s)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if bytes.Equal(b, l.last) {
		return
	}
	l.last = b
	l.write(stateLine{Event: "state", State: &s})
}
