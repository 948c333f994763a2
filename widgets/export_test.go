package widgets

import "time"

// SetSlot changes what the slot for orbit shows (see OrbitSlot.Set); it
// reports false when the lot has no such orbit. Tests only: the console
// sets slots through OrbitGrid.Slot.
func (g *OrbitGrid) SetSlot(orbit int, state SlotState, caller, parker string, since time.Time) bool {
	s := g.Slot(orbit)
	if s == nil {
		return false
	}
	s.Set(state, caller, parker, since)
	return true
}
