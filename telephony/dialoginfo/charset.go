package dialoginfo

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// charsetReader is the xml.Decoder CharsetReader: it converts ISO-8859-1
// (Latin-1, as Asterisk declares) and US-ASCII documents to UTF-8. Bytes
// above 0x7F in a US-ASCII document become U+FFFD.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "iso-ir-100", "cp819", "ibm819":
		return &byteReader{r: input}, nil
	case "us-ascii", "ascii", "us", "iso646-us", "ansi_x3.4-1968", "cp367", "ibm367":
		return &byteReader{r: input, ascii: true}, nil
	}
	return nil, fmt.Errorf("unsupported charset %q", charset)
}

// byteReader converts a single-byte charset whose bytes are the code points
// U+0000–U+00FF (ISO-8859-1, and US-ASCII below 0x80) to UTF-8.
type byteReader struct {
	r       io.Reader
	ascii   bool
	raw     [512]byte
	pending []byte // converted, not yet returned
	buf     []byte // backing store of pending
}

func (c *byteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.pending) == 0 {
		n, err := c.r.Read(c.raw[:])
		if n == 0 {
			return 0, err
		}
		c.buf = c.buf[:0]
		for _, b := range c.raw[:n] {
			switch {
			case b < utf8.RuneSelf:
				c.buf = append(c.buf, b)
			case c.ascii:
				c.buf = utf8.AppendRune(c.buf, utf8.RuneError)
			default:
				c.buf = utf8.AppendRune(c.buf, rune(b))
			}
		}
		c.pending = c.buf
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
