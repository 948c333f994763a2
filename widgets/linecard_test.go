package widgets

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func cardRenderer(t *testing.T, c *LineCard) *lineCardRenderer {
	t.Helper()
	return test.WidgetRenderer(c).(*lineCardRenderer)
}

// visibleButtons lists the words on the buttons a card shows.
func visibleButtons(t *testing.T, c *LineCard) []string {
	var out []string
	for _, o := range cardRenderer(t, c).buttons.Objects {
		if b := o.(*widget.Button); b.Visible() {
			out = append(out, b.Text)
		}
	}
	return out
}

// cardStates are the cards each state golden shows.
var cardStates = []struct {
	name string
	card func() *LineCard
}{
	{"ringing", func() *LineCard {
		return NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineRinging, t0)
	}},
	{"dialing", func() *LineCard {
		return NewLineCard("c1", "Bob Chen", "2041", LineDialing, t0)
	}},
	{"active", func() *LineCard {
		return NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineActive, t0)
	}},
	{"held", func() *LineCard {
		c := NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineHeld, t0)
		c.Detail = "held by caller"
		return c
	}},
	{"parking", func() *LineCard {
		c := NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineParking, t0)
		c.Orbit = 705
		return c
	}},
	{"parked", func() *LineCard {
		c := NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineParked, t0)
		c.Orbit = 705
		return c
	}},
	{"back", func() *LineCard {
		c := NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineBack, t0)
		c.Orbit = 705
		c.Detail = "nobody picked up 705 in 2:00"
		return c
	}},
	{"ended", func() *LineCard {
		c := NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineEnded, t0)
		c.Detail = "caller hung up"
		return c
	}},
	{"number_only", func() *LineCard {
		return NewLineCard("c1", "", "sip:0207946001@pbx.example.com", LineActive, t0)
	}},
	{"long_name", func() *LineCard {
		return NewLineCard("c1", "Dr. Maximiliane Alexandra Featherstonehaugh-Worthington",
			"+44 20 7946 0018 ext. 4471 via the Cambridge office", LineHeld, t0)
	}},
}

func TestLineCard_States(t *testing.T) {
	newApp(t)
	for _, tt := range cardStates {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.card()
			c.Tick(t0.Add(42 * time.Second))
			w := test.NewTempWindow(t, c)
			w.Resize(fyne.NewSize(420, c.MinSize().Height+2*8))
			test.AssertRendersToMarkup(t, "linecard/"+tt.name+".xml", w.Canvas())
		})
	}
}

func TestLineCard_Look(t *testing.T) {
	for variant, v := range variants {
		t.Run(variant, func(t *testing.T) {
			newLookApp(t, v)
			var cards []fyne.CanvasObject
			for _, tt := range cardStates[:8] {
				c := tt.card()
				c.Tick(t0.Add(42 * time.Second))
				cards = append(cards, c)
			}
			w := test.NewTempWindow(t, container.NewGridWithColumns(2,
				container.NewVBox(cards[:4]...), container.NewVBox(cards[4:]...)))
			w.Resize(fyne.NewSize(800, 500))
			test.AssertRendersToImage(t, "linecard/look_"+variant+".png", w.Canvas())
		})
	}
}

func TestLineCard_ButtonsFitState(t *testing.T) {
	newApp(t)
	for _, tt := range []struct {
		state LineState
		want  []string
	}{
		{LineRinging, []string{"Answer", "Decline"}},
		{LineBack, []string{"Answer", "Decline"}},
		{LineDialing, []string{"Hang up"}},
		{LineActive, []string{"Hold", "Transfer", "Hang up"}},
		{LineHeld, []string{"Resume", "Transfer", "Hang up"}},
		{LineParking, nil},
		{LineParked, nil},
		{LineEnded, nil},
	} {
		c := NewLineCard("c1", "Alice", "201", tt.state, t0)
		test.NewTempWindow(t, c)
		got := visibleButtons(t, c)
		if len(got) != len(tt.want) {
			t.Errorf("%s: buttons %q, want %q", tt.state, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: buttons %q, want %q", tt.state, got, tt.want)
			}
		}
	}
}

func TestLineCard_Callbacks(t *testing.T) {
	newApp(t)
	var got []string
	c := NewLineCard("c1", "Alice", "201", LineRinging, t0)
	c.OnAnswer = func() { got = append(got, "answer") }
	c.OnHold = func() { got = append(got, "hold") }
	c.OnResume = func() { got = append(got, "resume") }
	c.OnHangUp = func() { got = append(got, "hangup") }
	c.OnTransfer = func() { got = append(got, "transfer") }
	w := test.NewTempWindow(t, c)
	w.Resize(fyne.NewSize(420, 160))
	r := cardRenderer(t, c)

	// Tapped where the receptionist sees them, through the canvas.
	tap := func(b *widget.Button) { test.TapCanvas(w.Canvas(), centre(b)) }
	tap(r.answer)
	c.SetState(LineActive, 0, t0)
	tap(r.hold)
	c.SetState(LineHeld, 0, t0)
	tap(r.resume)
	tap(r.transfer)
	tap(r.hangUp)
	want := []string{"answer", "hold", "resume", "transfer", "hangup"}
	if len(got) != len(want) {
		t.Fatalf("callbacks %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("callbacks %q, want %q", got, want)
		}
	}

	// A card without callbacks does nothing when tapped.
	bare := NewLineCard("c2", "Bob", "202", LineRinging, t0)
	test.NewTempWindow(t, bare)
	test.Tap(cardRenderer(t, bare).answer)
}

func TestLineCard_Timer(t *testing.T) {
	newApp(t)
	c := NewLineCard("c1", "Alice", "201", LineActive, t0)
	test.NewTempWindow(t, c)
	r := cardRenderer(t, c)
	for _, tt := range []struct {
		at   time.Duration
		want string
	}{
		{-time.Second, "0:00"}, // clocks disagree a little: never negative
		{0, "0:00"},
		{7 * time.Second, "0:07"},
		{754 * time.Second, "12:34"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1:02:03"},
	} {
		c.Tick(t0.Add(tt.at))
		if c.Timer() != tt.want || r.timer.Text != tt.want {
			t.Errorf("at %v: timer %q shown %q, want %q", tt.at, c.Timer(), r.timer.Text, tt.want)
		}
	}
	c.SetState(LineHeld, 0, t0.Add(time.Hour))
	c.Tick(t0.Add(time.Hour + 5*time.Second))
	if r.timer.Text != "0:05" {
		t.Errorf("after SetState the timer restarts: shown %q", r.timer.Text)
	}
	c.SetState(LineHeld, 0, time.Time{})
	if r.timer.Text != "" {
		t.Errorf("no start time shows no timer, shown %q", r.timer.Text)
	}
}

func TestLineCard_StateLabel(t *testing.T) {
	for _, tt := range []struct {
		state LineState
		orbit int
		want  string
	}{
		{LineRinging, 0, "Ringing"},
		{LineDialing, 0, "Calling…"},
		{LineActive, 0, "Active"},
		{LineHeld, 0, "On hold"},
		{LineParking, 0, "Parking…"},
		{LineParking, 705, "Parking on 705…"},
		{LineParked, 705, "Parked on 705"},
		{LineBack, 705, "Back from 705"},
		{LineEnded, 0, "Ended"},
		{LineState("transferring"), 0, "transferring"},
	} {
		c := &LineCard{State: tt.state, Orbit: tt.orbit}
		if got := c.StateLabel(); got != tt.want {
			t.Errorf("%s/%d: %q, want %q", tt.state, tt.orbit, got, tt.want)
		}
	}
}

// TestLineCard_UncertainPark: a park whose orbit the PBX did not name
// says every orbit it may be on, never one of them as certain.
func TestLineCard_UncertainPark(t *testing.T) {
	for _, tt := range []struct {
		maybe []int
		want  string
	}{
		{nil, "Parked on 701"},
		{[]int{701}, "Parked on 701"},
		{[]int{701, 702}, "Parked on 701 or 702"},
		{[]int{701, 702, 705}, "Parked on 701, 702 or 705"},
	} {
		c := &LineCard{State: LineParked, Orbit: 701, MaybeOrbits: tt.maybe}
		if got := c.StateLabel(); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.maybe, got, tt.want)
		}
	}
}

func TestLineCard_Parkable(t *testing.T) {
	for _, s := range []LineState{LineRinging, LineDialing, LineActive, LineHeld, LineParking, LineParked, LineBack, LineEnded} {
		c := &LineCard{State: s}
		want := s == LineActive || s == LineHeld
		if c.Parkable() != want {
			t.Errorf("%s: Parkable %v", s, c.Parkable())
		}
	}
}

// TestLineCard_Waited: a waiting card shows its caller's total time when
// it differs from the timer, and from LongWait on marks a long wait in
// words and in the attention colour; a ring-back is in the attention
// colour too (issue 13).
func TestLineCard_Waited(t *testing.T) {
	newApp(t)
	c := NewLineCard("c1", "Alice", "201", LineHeld, t0.Add(20*time.Second))
	c.Waited = t0
	c.LongWait = time.Minute
	test.NewTempWindow(t, c)
	r := cardRenderer(t, c)
	c.Tick(t0.Add(40 * time.Second))
	if r.timer.Text != "0:20" || r.waited.Text != "waited 0:40" || r.waited.Hidden {
		t.Errorf("held: timer %q, waited %q", r.timer.Text, r.waited.Text)
	}
	c.Tick(t0.Add(61 * time.Second))
	if r.waited.Text != "long wait 1:01" {
		t.Errorf("long wait: %q", r.waited.Text)
	}

	// A ringing card turns to the attention colour when the wait is long.
	attention := colorOf(c.Theme(), ColorNameSlotRingingBack)
	again := NewLineCard("c4", "Dan", "204", LineRinging, t0.Add(30*time.Second))
	again.Waited, again.LongWait = t0, time.Minute
	test.NewTempWindow(t, again)
	ra := cardRenderer(t, again)
	again.Tick(t0.Add(40 * time.Second))
	if ra.accent.FillColor == attention || ra.waited.Text != "waited 0:40" {
		t.Errorf("a short wait: %q, in the attention colour %v", ra.waited.Text, ra.accent.FillColor == attention)
	}
	again.Tick(t0.Add(60 * time.Second))
	if ra.accent.FillColor != attention || ra.bg.StrokeColor != attention || ra.waited.Text != "long wait 1:00" {
		t.Errorf("a long wait: %q, accent %v", ra.waited.Text, ra.accent.FillColor)
	}

	// A first ring: the total is the timer, nothing more to show.
	ring := NewLineCard("c2", "Bob", "202", LineRinging, t0)
	ring.Waited = t0
	ring.LongWait = time.Minute
	test.NewTempWindow(t, ring)
	ring.Tick(t0.Add(10 * time.Second))
	if rr := cardRenderer(t, ring); !rr.waited.Hidden || rr.waited.Text != "" {
		t.Errorf("a first ring shows %q", rr.waited.Text)
	}
	// Live, the caller waits no more.
	c.SetState(LineActive, 0, t0.Add(61*time.Second))
	if r.waited.Text != "" || r.accent.FillColor == attention {
		t.Errorf("active: waited %q", r.waited.Text)
	}

	back := NewLineCard("c3", "Carol", "203", LineBack, t0)
	back.Orbit = 705
	test.NewTempWindow(t, back)
	if rb := cardRenderer(t, back); rb.pill.FillColor != colorOf(back.Theme(), ColorNameSlotRingingBack) || rb.stateText.Text != "Back from 705" {
		t.Errorf("a ring-back is not marked: pill %v, %q", rb.pill.FillColor, rb.stateText.Text)
	}
}

// TestLineCard_Compact: a compact card is much shorter than a full one,
// keeps its buttons (icons only) and its words.
func TestLineCard_Compact(t *testing.T) {
	newApp(t)
	full := NewLineCard("c1", "Alice Martin", "+44 20 7946 0018", LineRinging, t0)
	test.NewTempWindow(t, full)
	compact := NewLineCard("c2", "Alice Martin", "+44 20 7946 0018", LineRinging, t0)
	compact.Compact = true
	w := test.NewTempWindow(t, compact)
	w.Resize(fyne.NewSize(340, compact.MinSize().Height+16))
	if fh, ch := full.MinSize().Height, compact.MinSize().Height; ch > fh*0.65 {
		t.Errorf("compact card %.0f high, full %.0f", ch, fh)
	}
	if got := visibleButtons(t, compact); len(got) != 2 || got[0] != "" || got[1] != "" {
		t.Errorf("compact buttons %q, want two icons", got)
	}
	r := cardRenderer(t, compact)
	if r.name.Text != "Alice Martin" || r.stateText.Text != "Ringing" {
		t.Errorf("compact card says %q, %q", r.name.Text, r.stateText.Text)
	}
	answered := false
	compact.OnAnswer = func() { answered = true }
	test.TapCanvas(w.Canvas(), centre(r.answer))
	if !answered {
		t.Error("the compact Answer does not answer")
	}
	// A long wait keeps the compact card two lines high: its total takes
	// the timer's place, the detail is left out.
	h := compact.MinSize().Height
	compact.Waited, compact.LongWait = t0.Add(-2*time.Minute), time.Minute
	compact.Detail = "nobody picked up 705 in 2:00"
	compact.Tick(t0.Add(10 * time.Second))
	if r.waited.Text != "long wait 2:10" || r.waited.Hidden || !r.timer.Hidden || !r.detail.Hidden {
		t.Errorf("compact long wait: %q (hidden %v), timer hidden %v, detail hidden %v",
			r.waited.Text, r.waited.Hidden, r.timer.Hidden, r.detail.Hidden)
	}
	if got := compact.MinSize().Height; got != h {
		t.Errorf("a compact long wait is %.0f high, %.0f without", got, h)
	}
	compact.Waited, compact.Detail = time.Time{}, ""
	// Full again: the words come back.
	compact.Compact = false
	compact.Refresh()
	if got := visibleButtons(t, compact); len(got) != 2 || got[0] != "Answer" || got[1] != "Decline" {
		t.Errorf("buttons %q after compact", got)
	}
}
