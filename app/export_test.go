package app

import (
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// Grid returns the orbit grid, for the tests (package app_test) that tap
// and drag onto its slots.
func (c *Console) Grid() *widgets.OrbitGrid { return c.grid }

// Card returns the line card of call id, or nil, for the tests that drag
// it.
func (c *Console) Card(id telephony.CallID) *widgets.LineCard {
	if l := c.lines[id]; l != nil {
		return l.card
	}
	return nil
}
