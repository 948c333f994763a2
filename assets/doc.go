// Package assets holds the media Switchboard ships with: sounds that are
// synthesised in code (so they are royalty-free by construction and need no
// binary files in the repository) and, in time, files
// embedded with the go:embed directive.
package assets
