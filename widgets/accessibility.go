package widgets

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
)

var (
	_ fyne.Accessible = (*LineCard)(nil)
	_ fyne.Accessible = (*OrbitSlot)(nil)
	_ fyne.Accessible = (*OrbitGrid)(nil)
	_ fyne.Accessible = (*DialPad)(nil)
	_ fyne.Accessible = (*padKey)(nil)
)

// join joins the non-empty parts with commas, as a screen reader reads
// them.
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// AccessibilityLabel reads the card: caller, number, state and time.
func (c *LineCard) AccessibilityLabel() string {
	return join(c.Name, c.Number, c.StateLabel(), c.Timer(), c.Detail)
}

// AccessibilityRole is a container: the card holds its buttons.
func (c *LineCard) AccessibilityRole() fyne.AccessibleRole { return fyne.AccessibleRoleContainer }

// AccessibilityLabel reads the slot: "Orbit 705, Alice Martin, parked by
// you, 2:10", "Orbit 704, Bob Chen, ringing back reception1, 0:12",
// "Orbit 706, Eva Novak, for Bob Chen, note: contract, parked by
// Reception 2, 1:05", or "Orbit 701, free".
func (s *OrbitSlot) AccessibilityLabel() string {
	orbit := "Orbit " + strconv.Itoa(s.Orbit)
	var forWhom, note string
	if s.For != "" {
		forWhom = "for " + s.For
	}
	if s.Note != "" {
		note = "note: " + s.Note
	}
	switch s.Shown() {
	case SlotFree:
		return join(orbit, "free", s.Hint())
	case SlotUnavailable:
		return join(orbit, "unavailable", s.Hint())
	case SlotMine:
		return join(orbit, s.Caller, forWhom, note, "parked by you", s.Timer(), s.Hint())
	case SlotRingingBack:
		whom := "ringing back"
		if s.Parker != "" {
			whom += " " + s.Parker
		}
		return join(orbit, s.Caller, forWhom, note, whom, s.Timer(), s.Hint())
	}
	by := ""
	if s.Parker != "" {
		by = "parked by " + s.Parker
	}
	return join(orbit, s.Caller, forWhom, note, by, s.Timer(), s.Hint())
}

// AccessibilityRole is a button: tapping a slot that holds a call
// retrieves it.
func (s *OrbitSlot) AccessibilityRole() fyne.AccessibleRole { return fyne.AccessibleRoleButton }

// AccessibilityLabel names the grid, and its banner while unavailable.
func (g *OrbitGrid) AccessibilityLabel() string {
	if g.Unavailable {
		b := g.Banner
		if b == "" {
			b = DefaultBanner
		}
		return join("Park orbits", b)
	}
	return "Park orbits"
}

// AccessibilityRole is a container of slots.
func (g *OrbitGrid) AccessibilityRole() fyne.AccessibleRole { return fyne.AccessibleRoleContainer }

// AccessibilityLabel reads the number entered, or the placeholder.
func (d *DialPad) AccessibilityLabel() string {
	if d.Number == "" {
		return d.Placeholder
	}
	return d.Number
}

// AccessibilityRole is a container of keys.
func (d *DialPad) AccessibilityRole() fyne.AccessibleRole { return fyne.AccessibleRoleContainer }

// AccessibilityLabel reads the key's digit or sign.
func (k *padKey) AccessibilityLabel() string { return string(k.key) }

// AccessibilityRole is a button.
func (k *padKey) AccessibilityRole() fyne.AccessibleRole { return fyne.AccessibleRoleButton }
