// Package assets holds the media Switchboard ships with: sounds that are
// synthesised in code (so they are royalty-free by construction and need
// no binary files in the repository), such as the music on hold, and the
// application icon, a PNG drawn by a program in this repository
// (assets/cmd/render-icon) and embedded with the go:embed directive.
package assets
