package dialoginfo

import "strings"

// EventType returns the event package named by an Event header value,
// without its parameters: "dialog" of "dialog;id=7". It keeps the case
// as written; RFC 3265 compares event types byte by byte.
func EventType(v string) string {
	v = strings.TrimLeft(v, " \t")
	if i := strings.IndexAny(v, "; \t"); i >= 0 {
		v = v[:i]
	}
	return v
}
