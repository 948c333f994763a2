package app

import (
	"log/slog"
	"time"

	"fyne.io/fyne/v2"

	"github.com/switchboard/switchboard/calllog"
)

// DefaultHistoryDays is how long the call log keeps a call by default.
const DefaultHistoryDays = 90

// CallLogSettings say where the call log is kept and for how long. They
// persist in Fyne's preferences beside Settings, apart from it: the
// settings dialog does not show them, and saving it keeps them.
type CallLogSettings struct {
	// Path is the log's file; empty: calllog.DefaultPath (the user's
	// data directory).
	Path string
	// Days is how many days a call is kept (DefaultHistoryDays when
	// zero; negative: for ever).
	Days int
}

// Preference keys of CallLogSettings.
const (
	keyCallLogPath = "history.path"
	keyCallLogDays = "history.days"
)

// LoadCallLogSettings reads the call log's settings from p.
func LoadCallLogSettings(p fyne.Preferences) CallLogSettings {
	return CallLogSettings{Path: p.String(keyCallLogPath), Days: p.IntWithFallback(keyCallLogDays, DefaultHistoryDays)}
}

// Save writes s to p.
func (s CallLogSettings) Save(p fyne.Preferences) {
	p.SetString(keyCallLogPath, s.Path)
	p.SetInt(keyCallLogDays, s.Days)
}

// OpenCallLog opens the call log s describes; its owner passes it to
// New as Options.CallLog and closes it after the console.
func (s CallLogSettings) OpenCallLog(logger *slog.Logger) (*calllog.Log, error) {
	path := s.Path
	if path == "" {
		var err error
		if path, err = calllog.DefaultPath(); err != nil {
			return nil, err
		}
	}
	days := s.Days
	if days == 0 {
		days = DefaultHistoryDays
	}
	keep := time.Duration(days) * 24 * time.Hour
	if days < 0 {
		keep = -1
	}
	return calllog.Open(path, calllog.Options{Retention: keep, Logger: logger})
}
