// Package wav reads and writes 16-bit linear PCM WAV files.
//
// Read accepts RIFF/WAVE files whose format chunk is plain PCM (format tag 1)
// or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format, at 16 bits per sample,
// any sample rate and any number of channels. Chunks other than "fmt " and
// "data" (LIST, fact, cue, bext, ...) are skipped. Everything else is
// refused with a one-line error that names the problem and wraps one of the
// sentinel errors ErrNotWAVE, ErrUnsupported, ErrMalformed or ErrTruncated,
// so callers can test it with errors.Is.
//
// Write produces the canonical 44-byte-header PCM layout that every player
// and telephony tool understands.
package wav

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// Sentinel errors wrapped by the errors of Read, ReadFile, Write and
// Require8kMono16.
var (
	// ErrNotWAVE is wrapped when the input is not a RIFF/WAVE file.
	ErrNotWAVE = errors.New("not a RIFF/WAVE file")
	// ErrUnsupported is wrapped when the file is a valid WAVE file whose
	// audio encoding this package does not handle (not 16-bit PCM), and
	// by Require8kMono16 when the audio is not 8000 Hz 16-bit mono.
	ErrUnsupported = errors.New("unsupported WAVE format")
	// ErrMalformed is wrapped when the file's structure is inconsistent,
	// such as a missing or too short format chunk, or when Write is given
	// Audio that cannot be written.
	ErrMalformed = errors.New("malformed WAVE file")
	// ErrTruncated is wrapped when the input ends early. Errors that wrap
	// it also wrap io.ErrUnexpectedEOF.
	ErrTruncated = errors.New("truncated WAVE file")
)

// Audio is decoded 16-bit PCM audio.
type Audio struct {
	// SampleRate is the number of frames per second, e.g. 8000.
	SampleRate int
	// Channels is the number of interleaved channels, 1 for mono.
	Channels int
	// BitsPerSample is the sample width; Read always sets 16 and Write
	// requires 16.
	BitsPerSample int
	// Samples holds the interleaved samples, Channels per frame.
	Samples []int16
}

// Frames returns the number of sample frames (samples per channel).
func (a *Audio) Frames() int {
	if a.Channels <= 0 {
		return 0
	}
	return len(a.Samples) / a.Channels
}

// Duration returns the playing time of the audio.
func (a *Audio) Duration() time.Duration {
	if a.SampleRate <= 0 {
		return 0
	}
	return time.Duration(a.Frames()) * time.Second / time.Duration(a.SampleRate)
}

// wavError is an error with a self-contained one-line message that still
// matches its sentinel (and any further causes) with errors.Is.
type wavError struct {
	msg   string
	kinds []error
}

func (e *wavError) Error() string   { return e.msg }
func (e *wavError) Unwrap() []error { return e.kinds }

func errorf(kind error, format string, args ...any) error {
	return &wavError{msg: "wav: " + fmt.Sprintf(format, args...), kinds: []error{kind}}
}

func truncated(format string, args ...any) error {
	return &wavError{
		msg:   "wav: " + fmt.Sprintf(format, args...),
		kinds: []error{ErrTruncated, io.ErrUnexpectedEOF},
	}
}

const (
	formatPCM        = 0x0001
	formatExtensible = 0xFFFE
	// maxFmtSize bounds the format chunk we are willing to buffer.
	maxFmtSize = 1 << 16
	// sizeUnknown is the data size streaming writers leave in place when
	// they cannot seek back to fill it in.
	sizeUnknown = 0xFFFFFFFF
)

// ksdataformatSubtypeTail is the part of the KSDATAFORMAT_SUBTYPE_* GUIDs
// after the leading 16-bit format tag: {0000xxxx-0000-0010-8000-00AA00389B71}.
var ksdataformatSubtypeTail = [14]byte{
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
}

// formatName gives a human name to well-known WAVE format tags.
func formatName(tag uint16) string {
	switch tag {
	case 0x0001:
		return "PCM"
	case 0x0002:
		return "ADPCM"
	case 0x0003:
		return "float"
	case 0x0006:
		return "A-law"
	case 0x0007:
		return "µ-law"
	case 0x0011:
		return "IMA ADPCM"
	case 0x0031:
		return "GSM 6.10"
	case 0x0055:
		return "MP3"
	case formatExtensible:
		return "extensible"
	}
	return "unknown"
}

// Read decodes a 16-bit PCM WAV stream. It reads r only as far as the end of
// the data chunk. A data chunk whose size is 0xFFFFFFFF (left by a streaming
// writer) is read to the end of r; a trailing partial frame is dropped.
func Read(r io.Reader) (*Audio, error) {
	var hdr [12]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		switch {
		case !isEOF(err):
			return nil, fmt.Errorf("wav: %w", err)
		case n == 0:
			return nil, errorf(ErrNotWAVE, "empty input is not a RIFF/WAVE file")
		case n < 4 || string(hdr[:4]) != "RIFF":
			return nil, errorf(ErrNotWAVE, "not a RIFF/WAVE file (only %d bytes)", n)
		}
		return nil, truncated("truncated RIFF header (%d of 12 bytes)", n)
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		switch string(hdr[:4]) {
		case "RIFX":
			return nil, errorf(ErrNotWAVE, "big-endian RIFX files are not supported, only RIFF/WAVE")
		case "RF64":
			return nil, errorf(ErrNotWAVE, "RF64 files are not supported, only RIFF/WAVE")
		case "RIFF":
			return nil, errorf(ErrNotWAVE, "RIFF form %q is not a RIFF/WAVE file", hdr[8:12])
		}
		return nil, errorf(ErrNotWAVE, "not a RIFF/WAVE file (starts with %q)", hdr[:4])
	}

	var a *Audio
	var blockAlign int
	for {
		var ch [8]byte
		if n, err := io.ReadFull(r, ch[:]); err != nil {
			if !isEOF(err) {
				return nil, fmt.Errorf("wav: %w", err)
			}
			if n == 0 {
				if a == nil {
					return nil, errorf(ErrMalformed, `no "fmt " chunk`)
				}
				return nil, errorf(ErrMalformed, `no "data" chunk`)
			}
			return nil, truncated("truncated chunk header")
		}
		id := string(ch[:4])
		size := binary.LittleEndian.Uint32(ch[4:])
		switch id {
		case "fmt ":
			if a != nil {
				return nil, errorf(ErrMalformed, `more than one "fmt " chunk`)
			}
			if size > maxFmtSize {
				return nil, errorf(ErrMalformed, `"fmt " chunk of %d bytes is too large`, size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, buf); err != nil {
				if !isEOF(err) {
					return nil, fmt.Errorf("wav: %w", err)
				}
				// A missing pad byte after an odd chunk at the
				// very end would be harmless, but "fmt " is never
				// the last chunk of a usable file.
				return nil, truncated(`truncated "fmt " chunk`)
			}
			var err error
			if a, blockAlign, err = parseFmt(buf[:size]); err != nil {
				return nil, err
			}
		case "data":
			if a == nil {
				return nil, errorf(ErrMalformed, `"data" chunk before "fmt " chunk`)
			}
			return readData(r, a, blockAlign, size)
		default:
			skip := int64(size) + int64(size&1)
			if n, err := io.CopyN(io.Discard, r, skip); err != nil {
				if !isEOF(err) {
					return nil, fmt.Errorf("wav: %w", err)
				}
				if n == skip-1 && size&1 == 1 {
					// Missing pad byte at the end of the stream:
					// report the real problem below.
					continue
				}
				return nil, truncated("truncated %q chunk (%d of %d bytes)", id, n, size)
			}
		}
	}
}

// isEOF reports whether err means the input simply ran out.
func isEOF(err error) bool {
	return err == io.EOF || err == io.ErrUnexpectedEOF
}

// parseFmt validates a "fmt " chunk body and returns the Audio it describes
// along with the block alignment.
func parseFmt(b []byte) (*Audio, int, error) {
	if len(b) < 16 {
		return nil, 0, errorf(ErrMalformed, `"fmt " chunk is %d bytes, want at least 16`, len(b))
	}
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	channels := int(le.Uint16(b[2:]))
	rate := le.Uint32(b[4:])
	blockAlign := int(le.Uint16(b[12:]))
	bits := int(le.Uint16(b[14:]))

	if tag == formatExtensible {
		if len(b) < 40 || le.Uint16(b[16:]) < 22 {
			return nil, 0, errorf(ErrMalformed, `"fmt " chunk is too short for WAVE_FORMAT_EXTENSIBLE (%d bytes, want 40)`, len(b))
		}
		sub := le.Uint16(b[24:])
		if [14]byte(b[26:40]) != ksdataformatSubtypeTail {
			return nil, 0, errorf(ErrUnsupported, "extensible format with sub-format GUID % x is not 16-bit PCM", b[24:40])
		}
		if sub != formatPCM {
			return nil, 0, errorf(ErrUnsupported, "extensible format with sub-format %d (%s) is not 16-bit PCM", sub, formatName(sub))
		}
	} else if tag != formatPCM {
		return nil, 0, errorf(ErrUnsupported, "format %d (%s) is not 16-bit PCM", tag, formatName(tag))
	}
	if bits != 16 {
		return nil, 0, errorf(ErrUnsupported, "%d-bit samples are not 16-bit PCM", bits)
	}
	if tag == formatExtensible {
		if valid := int(le.Uint16(b[18:])); valid != 0 && valid != 16 {
			return nil, 0, errorf(ErrUnsupported, "%d valid bits in 16-bit containers are not 16-bit PCM", valid)
		}
	}
	if channels == 0 {
		return nil, 0, errorf(ErrMalformed, "zero channels")
	}
	if rate == 0 || rate > math.MaxInt32 {
		return nil, 0, errorf(ErrMalformed, "sample rate %d is out of range", rate)
	}
	if blockAlign != 2*channels {
		return nil, 0, errorf(ErrMalformed, "block align %d does not match %d channels of 16 bits", blockAlign, channels)
	}
	return &Audio{SampleRate: int(rate), Channels: channels, BitsPerSample: bits}, blockAlign, nil
}

// readData reads the body of the data chunk into a.Samples.
func readData(r io.Reader, a *Audio, blockAlign int, size uint32) (*Audio, error) {
	var body []byte
	var err error
	if size == sizeUnknown {
		body, err = io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("wav: reading data: %w", err)
		}
	} else {
		// io.ReadAll grows its buffer as data arrives, so a bogus size
		// in a short file cannot make us allocate gigabytes up front.
		body, err = io.ReadAll(io.LimitReader(r, int64(size)))
		if err != nil {
			return nil, fmt.Errorf("wav: reading data: %w", err)
		}
		if int64(len(body)) < int64(size) {
			return nil, truncated("truncated data: %d of %d bytes", len(body), size)
		}
	}
	body = body[:len(body)/blockAlign*blockAlign]
	a.Samples = make([]int16, len(body)/2)
	for i := range a.Samples {
		a.Samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
	}
	return a, nil
}

// ReadFile reads the WAV file at path. Errors name the file.
func ReadFile(path string) (*Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Write encodes a as a 16-bit PCM WAV stream with a 44-byte header. A zero
// BitsPerSample is taken as 16; any other value than 16 is an error, as is a
// non-positive sample rate or channel count, or a sample count that is not a
// whole number of frames.
func Write(w io.Writer, a *Audio) error {
	if a == nil {
		return errorf(ErrMalformed, "nil audio")
	}
	if a.BitsPerSample != 16 && a.BitsPerSample != 0 {
		return errorf(ErrUnsupported, "cannot write %d-bit samples, only 16-bit PCM", a.BitsPerSample)
	}
	if a.Channels <= 0 || a.Channels > math.MaxUint16/2 {
		return errorf(ErrMalformed, "cannot write %d channels", a.Channels)
	}
	if a.SampleRate <= 0 || int64(a.SampleRate)*int64(2*a.Channels) > math.MaxUint32 {
		return errorf(ErrMalformed, "cannot write sample rate %d", a.SampleRate)
	}
	if len(a.Samples)%a.Channels != 0 {
		return errorf(ErrMalformed, "%d samples are not a whole number of %d-channel frames", len(a.Samples), a.Channels)
	}
	dataSize := 2 * int64(len(a.Samples))
	if dataSize > math.MaxUint32-36 {
		return errorf(ErrMalformed, "%d samples are too many for a WAV file", len(a.Samples))
	}

	le := binary.LittleEndian
	buf := make([]byte, 44, 44+min(dataSize, 64<<10))
	copy(buf[0:], "RIFF")
	le.PutUint32(buf[4:], uint32(36+dataSize))
	copy(buf[8:], "WAVE")
	copy(buf[12:], "fmt ")
	le.PutUint32(buf[16:], 16)
	le.PutUint16(buf[20:], formatPCM)
	le.PutUint16(buf[22:], uint16(a.Channels))
	le.PutUint32(buf[24:], uint32(a.SampleRate))
	le.PutUint32(buf[28:], uint32(a.SampleRate*2*a.Channels))
	le.PutUint16(buf[32:], uint16(2*a.Channels))
	le.PutUint16(buf[34:], 16)
	copy(buf[36:], "data")
	le.PutUint32(buf[40:], uint32(dataSize))

	for _, s := range a.Samples {
		if len(buf)+2 > cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("wav: %w", err)
			}
			buf = buf[:0]
		}
		buf = le.AppendUint16(buf, uint16(s))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("wav: %w", err)
	}
	return nil
}

// WriteFile writes a to path as a 16-bit PCM WAV file, replacing any
// existing file.
func WriteFile(path string, a *Audio) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = Write(bw, a)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Require8kMono16 returns nil when a is 8000 Hz, 16-bit, mono audio with
// at least one sample, the form the park service plays as music on hold.
// Otherwise it returns a one-line reason, such as "wav: music on hold must
// be 8000 Hz 16-bit mono, not 44100 Hz 16-bit stereo", wrapping
// ErrUnsupported (ErrMalformed for nil or empty audio).
func Require8kMono16(a *Audio) error {
	if a == nil {
		return errorf(ErrMalformed, "music on hold: no audio")
	}
	if a.SampleRate == 8000 && a.Channels == 1 && a.BitsPerSample == 16 {
		if len(a.Samples) == 0 {
			return errorf(ErrMalformed, "music on hold has no samples")
		}
		return nil
	}
	var ch string
	switch a.Channels {
	case 1:
		ch = "mono"
	case 2:
		ch = "stereo"
	default:
		ch = fmt.Sprintf("%d channels", a.Channels)
	}
	return errorf(ErrUnsupported, "music on hold must be 8000 Hz 16-bit mono, not %d Hz %d-bit %s",
		a.SampleRate, a.BitsPerSample, ch)
}
