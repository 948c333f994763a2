package app

import (
	"context"

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

// People returns the People pane, nil without a directory.
func (c *Console) People() *widgets.DirectoryPane {
	if c.people == nil {
		return nil
	}
	return c.people.pane
}

// RefreshDirectory reads the directory's sources again now.
func (c *Console) RefreshDirectory(ctx context.Context) error { return c.people.dir.Refresh(ctx) }

// DirectoryStatus is what the status bar says of the directory.
func (c *Console) DirectoryStatus() string { return c.status.directoryText() }

// Favourites names the favourite contacts in order.
func (c *Console) Favourites() []string { return c.people.favouriteNames() }
