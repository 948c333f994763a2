package app

import "fyne.io/fyne/v2"

// ParkForPrompt returns the open "Park for…" prompt's search box, note
// box and the names it offers, the one Enter takes first; ok is false
// when no prompt is open.
func (c *Console) ParkForPrompt() (search, note fyne.Focusable, offered []string, ok bool) {
	if c.forWhom == nil || c.forWhom.prompt == nil {
		return nil, nil, nil, false
	}
	p := c.forWhom.prompt
	if p.pick >= 0 {
		offered = append(offered, p.cands[p.pick].name)
	}
	for i, cd := range p.cands {
		if i != p.pick {
			offered = append(offered, cd.name)
		}
	}
	return p.search, p.note, offered, true
}
