package sip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestNoticeBodyBounded: a park notice's body is the sender's to write;
// the window gets it without control characters and bounded, however
// long or odd the body is.
func TestNoticeBodyBounded(t *testing.T) {
	if got := noticeBody([]byte(" Call for you:\tEva\x07 on 705\r\n")); got != "Call for you: Eva on 705" {
		t.Errorf("noticeBody = %q", got)
	}
	huge := noticeBody([]byte(strings.Repeat("é", 100_000)))
	if n := utf8.RuneCountInString(huge); n != maxNoticeText {
		t.Errorf("a 100,000-character body gives %d characters, want %d", n, maxNoticeText)
	}
	if got := noticeBody([]byte{0xff, 'a', 0xfe}); got != "a" {
		t.Errorf("invalid UTF-8: %q, want %q", got, "a")
	}
}
