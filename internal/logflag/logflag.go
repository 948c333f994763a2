// Package logflag declares the -log-level and -log-format flags that
// Switchboard's commands share, and makes the slog logger they ask for.
package logflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// Flags holds the two flags' raw values until Parse checks them.
type Flags struct {
	level, format *string
}

// Declare adds -log-level (default info) and -log-format (default text) to fs.
func Declare(fs *flag.FlagSet) *Flags {
	return &Flags{
		level:  fs.String("log-level", "info", "`level` of the logs on stderr: debug, info, warn or error"),
		format: fs.String("log-format", "text", "`format` of the logs on stderr: text or json"),
	}
}

// Options is what the flags decide.
type Options struct {
	Level slog.Level
	JSON  bool // JSON lines instead of slog's text form
}

// Parse checks the flags' values. Its error names the flag, the value and
// what is wanted on one line, e.g. `-log-level loud: want debug, info, warn or error`.
func (f *Flags) Parse() (Options, error) {
	var o Options
	if err := o.Level.UnmarshalText([]byte(*f.level)); err != nil {
		return o, fmt.Errorf("-log-level %s: %w", quoteEmpty(*f.level), errors.New("want debug, info, warn or error"))
	}
	switch *f.format {
	case "text":
	case "json":
		o.JSON = true
	default:
		return o, fmt.Errorf("-log-format %s: %w", quoteEmpty(*f.format), errors.New("want text or json"))
	}
	return o, nil
}

// Logger makes the slog logger the options ask for, writing to w.
func (o Options) Logger(w io.Writer) *slog.Logger {
	h := &slog.HandlerOptions{Level: o.Level}
	if o.JSON {
		return slog.New(slog.NewJSONHandler(w, h))
	}
	return slog.New(slog.NewTextHandler(w, h))
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
