package assets

import _ "embed" // for the icon

//go:embed icon.png
var iconPNG []byte

// IconName is a file name for the application icon, for toolkits that
// want one with the bytes.
const IconName = "switchboard.png"

// Icon returns Switchboard's application icon: a 512×512 PNG drawn by
// assets/cmd/render-icon (a white telephone handset over a grid of orbit
// lamps on a blue rounded square). Every call returns the same slice;
// callers must not modify it.
func Icon() []byte { return iconPNG }
