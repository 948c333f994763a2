package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// chunk builds one RIFF chunk with its pad byte.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// rawChunk builds a chunk header with an arbitrary size and the given body,
// without padding.
func rawChunk(id string, size uint32, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], size)
	return append(b, body...)
}

// riff wraps chunks into a RIFF/WAVE file with a correct RIFF size.
func riff(chunks ...[]byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// fmtBody builds a plain "fmt " chunk body.
func fmtBody(tag uint16, channels int, rate uint32, bits int) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint16(b[0:], tag)
	le.PutUint16(b[2:], uint16(channels))
	le.PutUint32(b[4:], rate)
	le.PutUint32(b[8:], rate*uint32(channels*bits/8))
	le.PutUint16(b[12:], uint16(channels*bits/8))
	le.PutUint16(b[14:], uint16(bits))
	return b
}

// extBody builds a WAVE_FORMAT_EXTENSIBLE "fmt " chunk body.
func extBody(channels int, rate uint32, bits, valid int, sub uint16) []byte {
	b := fmtBody(formatExtensible, channels, rate, bits)
	le := binary.LittleEndian
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, uint16(valid))
	b = le.AppendUint32(b, 0x4) // front centre
	b = le.AppendUint16(b, sub)
	return append(b, ksdataformatSubtypeTail[:]...)
}

func pcm(samples ...int16) []byte {
	var b []byte
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

func TestWriteCanonicalHeader(t *testing.T) {
	var buf bytes.Buffer
	a := &Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 16, Samples: []int16{1, -2, 0x1234}}
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	want := riff(chunk("fmt ", fmtBody(1, 1, 8000, 16)), chunk("data", pcm(1, -2, 0x1234)))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Write =\n% x\nwant\n% x", buf.Bytes(), want)
	}
	if buf.Len() != 44+6 {
		t.Errorf("length %d, want 50", buf.Len())
	}
}

func TestRoundTrip(t *testing.T) {
	all := make([]int16, 0, 65536)
	for v := math.MinInt16; v <= math.MaxInt16; v++ {
		all = append(all, int16(v))
	}
	long := make([]int16, 200_000) // several write buffers
	for i := range long {
		long[i] = int16(i * 7919)
	}
	cases := []struct {
		name string
		a    Audio
	}{
		{"8k mono", Audio{8000, 1, 16, []int16{0, 1, -1, 32767, -32768}}},
		{"empty", Audio{8000, 1, 16, nil}},
		{"44.1k stereo", Audio{44100, 2, 16, []int16{1, 2, 3, 4, 5, 6}}},
		{"48k six channels", Audio{48000, 6, 16, make([]int16, 60)}},
		{"every value", Audio{16000, 1, 16, all}},
		{"long", Audio{8000, 1, 16, long}},
		{"zero bits means 16", Audio{8000, 1, 0, []int16{5}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, &c.a); err != nil {
				t.Fatal(err)
			}
			if got, want := buf.Len(), 44+2*len(c.a.Samples); got != want {
				t.Errorf("wrote %d bytes, want %d", got, want)
			}
			// Reading one byte at a time exercises short reads.
			got, err := Read(iotest.OneByteReader(bytes.NewReader(buf.Bytes())))
			if err != nil {
				t.Fatal(err)
			}
			if got.SampleRate != c.a.SampleRate || got.Channels != c.a.Channels || got.BitsPerSample != 16 {
				t.Errorf("got %d Hz %d ch %d bits, want %d Hz %d ch 16 bits",
					got.SampleRate, got.Channels, got.BitsPerSample, c.a.SampleRate, c.a.Channels)
			}
			if !slices.Equal(got.Samples, c.a.Samples) {
				t.Error("samples changed in the round trip")
			}
		})
	}
}

func TestReadAccepts(t *testing.T) {
	samples := []int16{100, -200, 300, -400}
	stereoFmt := fmtBody(1, 2, 44100, 16)
	monoFmt := fmtBody(1, 1, 8000, 16)
	cases := []struct {
		name     string
		in       []byte
		rate     int
		channels int
		want     []int16
	}{
		{"plain", riff(chunk("fmt ", monoFmt), chunk("data", pcm(samples...))), 8000, 1, samples},
		{"extensible PCM", riff(chunk("fmt ", extBody(1, 8000, 16, 16, 1)), chunk("data", pcm(samples...))), 8000, 1, samples},
		{"extensible valid bits zero", riff(chunk("fmt ", extBody(2, 16000, 16, 0, 1)), chunk("data", pcm(samples...))), 16000, 2, samples},
		{"fmt with cbSize 0", riff(chunk("fmt ", append(slices.Clone(monoFmt), 0, 0)), chunk("data", pcm(samples...))), 8000, 1, samples},
		{"LIST before fmt", riff(chunk("LIST", []byte("INFOISFT\x06\x00\x00\x00Lavf\x00\x00")), chunk("fmt ", monoFmt), chunk("data", pcm(samples...))), 8000, 1, samples},
		{"odd-sized chunk with pad", riff(chunk("fmt ", monoFmt), chunk("junk", []byte{1, 2, 3}), chunk("data", pcm(samples...))), 8000, 1, samples},
		{"fact and cue", riff(chunk("fmt ", monoFmt), chunk("fact", []byte{4, 0, 0, 0}), chunk("cue ", make([]byte, 28)), chunk("data", pcm(samples...))), 8000, 1, samples},
		{"empty unknown chunk", riff(chunk("fmt ", monoFmt), chunk("zero", nil), chunk("data", pcm(samples...))), 8000, 1, samples},
		{"chunks after data ignored", riff(chunk("fmt ", monoFmt), chunk("data", pcm(samples...)), chunk("LIST", []byte("whatever")), []byte("garbage")), 8000, 1, samples},
		{"odd data size", riff(chunk("fmt ", monoFmt), chunk("data", append(pcm(samples...), 9))), 8000, 1, samples},
		{"partial stereo frame dropped", riff(chunk("fmt ", stereoFmt), chunk("data", pcm(1, 2, 3, 4, 5))), 44100, 2, []int16{1, 2, 3, 4}},
		{"empty data", riff(chunk("fmt ", monoFmt), chunk("data", nil)), 8000, 1, []int16{}},
		{"streaming data size", riff(chunk("fmt ", monoFmt), rawChunk("data", 0xFFFFFFFF, pcm(samples...))), 8000, 1, samples},
		{"wrong RIFF size ignored", func() []byte {
			b := riff(chunk("fmt ", monoFmt), chunk("data", pcm(samples...)))
			binary.LittleEndian.PutUint32(b[4:], 0)
			return b
		}(), 8000, 1, samples},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if a.SampleRate != c.rate || a.Channels != c.channels || a.BitsPerSample != 16 {
				t.Errorf("got %d Hz %d ch %d bits, want %d Hz %d ch", a.SampleRate, a.Channels, a.BitsPerSample, c.rate, c.channels)
			}
			if !slices.Equal(a.Samples, c.want) {
				t.Errorf("samples = %v, want %v", a.Samples, c.want)
			}
		})
	}
}

func TestReadStopsAtEndOfData(t *testing.T) {
	in := riff(chunk("fmt ", fmtBody(1, 1, 8000, 16)), chunk("data", pcm(1, 2)))
	rest := []byte("next thing in the stream")
	r := bytes.NewReader(append(slices.Clone(in), rest...))
	if _, err := Read(r); err != nil {
		t.Fatal(err)
	}
	left, _ := io.ReadAll(r)
	if !bytes.Equal(left, rest) {
		t.Errorf("Read consumed past the data chunk; left %q", left)
	}
}

func TestReadErrors(t *testing.T) {
	monoFmt := fmtBody(1, 1, 8000, 16)
	data := chunk("data", pcm(1, 2, 3))
	badGUID := extBody(1, 8000, 16, 16, 1)
	badGUID[len(badGUID)-1] ^= 0xff
	shortExt := extBody(1, 8000, 16, 16, 1)[:30]
	badAlign := fmtBody(1, 2, 8000, 16)
	binary.LittleEndian.PutUint16(badAlign[12:], 2)

	cases := []struct {
		name string
		in   []byte
		kind error
		msg  string // exact message when not empty
		has  string // substring of the message
	}{
		{name: "empty", in: nil, kind: ErrNotWAVE, msg: "wav: empty input is not a RIFF/WAVE file"},
		{name: "three bytes", in: []byte("RIF"), kind: ErrNotWAVE, msg: "wav: not a RIFF/WAVE file (only 3 bytes)"},
		{name: "text", in: []byte("hello, this is not audio"), kind: ErrNotWAVE, msg: `wav: not a RIFF/WAVE file (starts with "hell")`},
		{name: "RIFF but AVI", in: []byte("RIFF\x04\x00\x00\x00AVI LIST"), kind: ErrNotWAVE, msg: `wav: RIFF form "AVI " is not a RIFF/WAVE file`},
		{name: "RIFX", in: []byte("RIFX\x00\x00\x00\x24WAVE"), kind: ErrNotWAVE, has: "big-endian RIFX"},
		{name: "RF64", in: []byte("RF64\xff\xff\xff\xffWAVEds64"), kind: ErrNotWAVE, has: "RF64"},
		{name: "truncated RIFF header", in: []byte("RIFF\x00\x00"), kind: ErrTruncated, msg: "wav: truncated RIFF header (6 of 12 bytes)"},
		{name: "header only", in: riff(), kind: ErrMalformed, msg: `wav: no "fmt " chunk`},
		{name: "no data chunk", in: riff(chunk("fmt ", monoFmt)), kind: ErrMalformed, msg: `wav: no "data" chunk`},
		{name: "no data, unpadded odd chunk last", in: riff(chunk("fmt ", monoFmt), rawChunk("junk", 3, []byte{1, 2, 3})), kind: ErrMalformed, msg: `wav: no "data" chunk`},
		{name: "data before fmt", in: riff(data, chunk("fmt ", monoFmt)), kind: ErrMalformed, has: `"data" chunk before "fmt "`},
		{name: "two fmt chunks", in: riff(chunk("fmt ", monoFmt), chunk("fmt ", monoFmt), data), kind: ErrMalformed, has: `more than one "fmt "`},
		{name: "fmt too short", in: riff(chunk("fmt ", monoFmt[:14]), data), kind: ErrMalformed, msg: `wav: "fmt " chunk is 14 bytes, want at least 16`},
		{name: "fmt too large", in: riff(rawChunk("fmt ", 1<<20, monoFmt)), kind: ErrMalformed, has: "too large"},
		{name: "fmt truncated", in: riff(rawChunk("fmt ", 16, monoFmt[:10])), kind: ErrTruncated, has: `truncated "fmt "`},
		{name: "float", in: riff(chunk("fmt ", fmtBody(3, 1, 8000, 32)), data), kind: ErrUnsupported, msg: "wav: format 3 (float) is not 16-bit PCM"},
		{name: "A-law", in: riff(chunk("fmt ", fmtBody(6, 1, 8000, 8)), data), kind: ErrUnsupported, msg: "wav: format 6 (A-law) is not 16-bit PCM"},
		{name: "µ-law", in: riff(chunk("fmt ", fmtBody(7, 1, 8000, 8)), data), kind: ErrUnsupported, msg: "wav: format 7 (µ-law) is not 16-bit PCM"},
		{name: "MP3", in: riff(chunk("fmt ", fmtBody(0x55, 2, 44100, 0)), data), kind: ErrUnsupported, msg: "wav: format 85 (MP3) is not 16-bit PCM"},
		{name: "unknown tag", in: riff(chunk("fmt ", fmtBody(0x1234, 1, 8000, 16)), data), kind: ErrUnsupported, msg: "wav: format 4660 (unknown) is not 16-bit PCM"},
		{name: "8-bit PCM", in: riff(chunk("fmt ", fmtBody(1, 1, 8000, 8)), data), kind: ErrUnsupported, msg: "wav: 8-bit samples are not 16-bit PCM"},
		{name: "24-bit PCM", in: riff(chunk("fmt ", fmtBody(1, 2, 48000, 24)), data), kind: ErrUnsupported, msg: "wav: 24-bit samples are not 16-bit PCM"},
		{name: "extensible float", in: riff(chunk("fmt ", extBody(1, 8000, 32, 32, 3)), data), kind: ErrUnsupported, msg: "wav: extensible format with sub-format 3 (float) is not 16-bit PCM"},
		{name: "extensible 24-bit PCM", in: riff(chunk("fmt ", extBody(1, 8000, 24, 24, 1)), data), kind: ErrUnsupported, msg: "wav: 24-bit samples are not 16-bit PCM"},
		{name: "extensible 12 valid bits", in: riff(chunk("fmt ", extBody(1, 8000, 16, 12, 1)), data), kind: ErrUnsupported, has: "12 valid bits"},
		{name: "extensible foreign GUID", in: riff(chunk("fmt ", badGUID), data), kind: ErrUnsupported, has: "sub-format GUID"},
		{name: "extensible too short", in: riff(chunk("fmt ", shortExt), data), kind: ErrMalformed, has: "too short for WAVE_FORMAT_EXTENSIBLE"},
		{name: "zero channels", in: riff(chunk("fmt ", fmtBody(1, 0, 8000, 16)), data), kind: ErrMalformed, msg: "wav: zero channels"},
		{name: "zero rate", in: riff(chunk("fmt ", fmtBody(1, 1, 0, 16)), data), kind: ErrMalformed, msg: "wav: sample rate 0 is out of range"},
		{name: "huge rate", in: riff(chunk("fmt ", fmtBody(1, 1, 0x90000000, 16)), data), kind: ErrMalformed, has: "out of range"},
		{name: "block align mismatch", in: riff(chunk("fmt ", badAlign), data), kind: ErrMalformed, msg: "wav: block align 2 does not match 2 channels of 16 bits"},
		{name: "truncated data", in: riff(chunk("fmt ", monoFmt), rawChunk("data", 100, pcm(1, 2, 3))), kind: ErrTruncated, msg: "wav: truncated data: 6 of 100 bytes"},
		{name: "huge data size in short file", in: riff(chunk("fmt ", monoFmt), rawChunk("data", 0xFFFFFFF0, pcm(1))), kind: ErrTruncated, has: "2 of 4294967280 bytes"},
		{name: "truncated chunk header", in: append(riff(chunk("fmt ", monoFmt)), 'd', 'a', 't'), kind: ErrTruncated, msg: "wav: truncated chunk header"},
		{name: "truncated unknown chunk", in: riff(chunk("fmt ", monoFmt), rawChunk("LIST", 50, []byte("INFO"))), kind: ErrTruncated, msg: `wav: truncated "LIST" chunk (4 of 50 bytes)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(c.in))
			if err == nil {
				t.Fatalf("Read succeeded: %+v", a)
			}
			if a != nil {
				t.Errorf("Read returned audio with error %v", err)
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q does not wrap %v", err, c.kind)
			}
			for _, other := range []error{ErrNotWAVE, ErrUnsupported, ErrMalformed, ErrTruncated} {
				if other != c.kind && errors.Is(err, other) {
					t.Errorf("error %q also wraps %v", err, other)
				}
			}
			if c.kind == ErrTruncated && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("truncation error %q does not wrap io.ErrUnexpectedEOF", err)
			}
			if c.msg != "" && err.Error() != c.msg {
				t.Errorf("error = %q, want %q", err, c.msg)
			}
			if c.has != "" && !strings.Contains(err.Error(), c.has) {
				t.Errorf("error = %q, want it to contain %q", err, c.has)
			}
			if !strings.HasPrefix(err.Error(), "wav: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not a one-line wav: error", err)
			}
		})
	}
}

func TestReadPassesOnReaderErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	full := riff(chunk("LIST", []byte("INFO")), chunk("fmt ", fmtBody(1, 1, 8000, 16)), chunk("data", pcm(1, 2, 3, 4)))
	for cut := 0; cut < len(full); cut++ {
		r := io.MultiReader(bytes.NewReader(full[:cut]), iotest.ErrReader(boom))
		_, err := Read(r)
		if !errors.Is(err, boom) {
			t.Errorf("cut at %d: error %v does not wrap the reader's error", cut, err)
		}
	}
}

type failWriter struct {
	n   int // bytes accepted before failing
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	boom := errors.New("pipe gone")
	cases := []struct {
		name string
		a    *Audio
		w    io.Writer
		kind error
		has  string
	}{
		{"nil audio", nil, io.Discard, ErrMalformed, "nil audio"},
		{"8 bits", &Audio{8000, 1, 8, []int16{1}}, io.Discard, ErrUnsupported, "8-bit"},
		{"24 bits", &Audio{8000, 1, 24, []int16{1}}, io.Discard, ErrUnsupported, "24-bit"},
		{"zero channels", &Audio{8000, 0, 16, []int16{1}}, io.Discard, ErrMalformed, "0 channels"},
		{"negative channels", &Audio{8000, -2, 16, nil}, io.Discard, ErrMalformed, "-2 channels"},
		{"too many channels", &Audio{8000, 40000, 16, nil}, io.Discard, ErrMalformed, "40000 channels"},
		{"zero rate", &Audio{0, 1, 16, []int16{1}}, io.Discard, ErrMalformed, "sample rate 0"},
		{"absurd rate", &Audio{math.MaxInt32, 2, 16, nil}, io.Discard, ErrMalformed, "sample rate"},
		{"partial frame", &Audio{8000, 2, 16, []int16{1, 2, 3}}, io.Discard, ErrMalformed, "3 samples are not a whole number of 2-channel frames"},
		{"writer fails on header", &Audio{8000, 1, 16, []int16{1}}, &failWriter{n: 10, err: boom}, boom, "pipe gone"},
		{"writer fails on data", &Audio{8000, 1, 16, make([]int16, 100_000)}, &failWriter{n: 70_000, err: boom}, boom, "pipe gone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Write(c.w, c.a)
			if !errors.Is(err, c.kind) {
				t.Fatalf("error %v does not wrap %v", err, c.kind)
			}
			if !strings.Contains(err.Error(), c.has) || !strings.HasPrefix(err.Error(), "wav: ") {
				t.Errorf("error = %q, want it to contain %q", err, c.has)
			}
		})
	}
}

func TestRequire8kMono16(t *testing.T) {
	cases := []struct {
		name string
		a    *Audio
		kind error
		msg  string
	}{
		{"ok", &Audio{8000, 1, 16, []int16{0}}, nil, ""},
		{"nil", nil, ErrMalformed, "wav: music on hold: no audio"},
		{"empty", &Audio{8000, 1, 16, nil}, ErrMalformed, "wav: music on hold has no samples"},
		{"44.1k stereo", &Audio{44100, 2, 16, []int16{0, 0}}, ErrUnsupported, "wav: music on hold must be 8000 Hz 16-bit mono, not 44100 Hz 16-bit stereo"},
		{"16k mono", &Audio{16000, 1, 16, []int16{0}}, ErrUnsupported, "wav: music on hold must be 8000 Hz 16-bit mono, not 16000 Hz 16-bit mono"},
		{"8k stereo", &Audio{8000, 2, 16, []int16{0, 0}}, ErrUnsupported, "wav: music on hold must be 8000 Hz 16-bit mono, not 8000 Hz 16-bit stereo"},
		{"8k 8-bit", &Audio{8000, 1, 8, []int16{0}}, ErrUnsupported, "wav: music on hold must be 8000 Hz 16-bit mono, not 8000 Hz 8-bit mono"},
		{"six channels", &Audio{48000, 6, 16, make([]int16, 6)}, ErrUnsupported, "wav: music on hold must be 8000 Hz 16-bit mono, not 48000 Hz 16-bit 6 channels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Require8kMono16(c.a)
			if c.kind == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, c.kind) {
				t.Fatalf("error %v does not wrap %v", err, c.kind)
			}
			if err.Error() != c.msg {
				t.Errorf("error = %q, want %q", err, c.msg)
			}
		})
	}
}

func TestFramesAndDuration(t *testing.T) {
	cases := []struct {
		a      Audio
		frames int
		dur    time.Duration
	}{
		{Audio{8000, 1, 16, make([]int16, 8000)}, 8000, time.Second},
		{Audio{8000, 1, 16, make([]int16, 160)}, 160, 20 * time.Millisecond},
		{Audio{44100, 2, 16, make([]int16, 44100)}, 22050, 500 * time.Millisecond},
		{Audio{0, 0, 16, make([]int16, 10)}, 0, 0},
		{Audio{8000, 1, 16, nil}, 0, 0},
	}
	for _, c := range cases {
		if got := c.a.Frames(); got != c.frames {
			t.Errorf("%d Hz %d ch %d samples: Frames = %d, want %d", c.a.SampleRate, c.a.Channels, len(c.a.Samples), got, c.frames)
		}
		if got := c.a.Duration(); got != c.dur {
			t.Errorf("%d Hz %d ch %d samples: Duration = %v, want %v", c.a.SampleRate, c.a.Channels, len(c.a.Samples), got, c.dur)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "moh.wav")
	a := &Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 16, Samples: []int16{3, 1, 4, 1, 5, 9, 2, 6}}
	if err := WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Samples, a.Samples) || Require8kMono16(got) != nil {
		t.Errorf("ReadFile = %+v", got)
	}

	if _, err := ReadFile(filepath.Join(dir, "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("not audio at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(bad)
	if !errors.Is(err, ErrNotWAVE) || !strings.HasPrefix(err.Error(), bad+": wav: ") {
		t.Errorf("bad file: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.wav"), a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "x.wav"), &Audio{8000, 1, 8, nil}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("WriteFile of 8-bit audio: %v", err)
	}
}
