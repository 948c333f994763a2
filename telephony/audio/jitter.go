package audio

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// Jitter buffer bounds and pace, in 20 ms frames.
const (
	jbSlots       = 16  // frames the buffer can hold (320 ms), a power of two
	jbMinTarget   = 1   // hold at least 20 ms
	jbMaxTarget   = 5   // and at most 100 ms
	jbCalmFrames  = 150 // 3 s without late audio: shrink the target by a frame
	jbShortFrames = 25  // 0.5 s holding 2+ frames too many: shed them
	jbMaxConceal  = 5   // after 100 ms of nothing, go quiet and rebuffer
)

// JitterStats counts what a port's jitter buffer did. All counts are in
// frames (20 ms each) since the port opened.
type JitterStats struct {
	// Target is the delay the buffer currently aims to hold.
	Target time.Duration
	// Buffered is how much audio waits to be played right now.
	Buffered time.Duration
	// Played frames came from the call as received.
	Played uint64
	// Concealed frames were synthesised in place of missing audio.
	Concealed uint64
	// Lost frames never arrived before their turn (each was concealed).
	Lost uint64
	// Late frames arrived after their turn and were discarded.
	Late uint64
	// Underruns counts the times the buffer ran dry while playing.
	Underruns uint64
	// Dropped frames were discarded to keep the delay down: on a
	// restart with a backlog, when shrinking after calm, or duplicates.
	Dropped uint64
	// Resyncs counts jumps in the sequence numbers that restarted the
	// buffer (a new stream, or a sender far ahead or behind).
	Resyncs uint64
	// Overflows counts frames Play could not queue because the sound
	// device was not taking them (stalled, switching, or gone).
	Overflows uint64
}

type jitterCounters struct {
	target, buffered                                                 atomic.Int64
	played, concealed, lost, late, underruns, dropped, resyncs, over atomic.Uint64
}

func (c *jitterCounters) snapshot() JitterStats {
	return JitterStats{
		Target:    time.Duration(c.target.Load()) * telephony.FrameDuration,
		Buffered:  time.Duration(c.buffered.Load()) * telephony.FrameDuration,
		Played:    c.played.Load(),
		Concealed: c.concealed.Load(),
		Lost:      c.lost.Load(),
		Late:      c.late.Load(),
		Underruns: c.underruns.Load(),
		Dropped:   c.dropped.Load(),
		Resyncs:   c.resyncs.Load(),
		Overflows: c.over.Load(),
	}
}

type jbSlot struct {
	valid bool
	seq   uint16
	pcm   []int16
}

// jitterBuffer orders a call's frames by RTP sequence number and plays
// them out at the pace its reader pulls samples: the reader is the clock
// (the sound device in production, a loop in tests). It is owned by one
// goroutine or thread: the audio callback, which first pushes the frames
// that Play queued and then reads. It never allocates after creation.
//
// Policy: playing starts once target frames are buffered (20 ms at
// rest). When the frame due is missing but later ones are here, it is
// lost: a concealment frame takes its place. When nothing is buffered,
// the frame due is late or lost: a concealment frame plays, the due
// frame keeps its turn (the delay grows by a frame) and the target grows;
// if it turns out lost, the growth is undone. A frame that comes after
// its turn is discarded and grows the target and the delay. After a
// calm spell the target shrinks by a frame, and when the buffer holds
// more than the target asks, a frame is dropped with a short crossfade.
// After 100 ms with nothing to play it falls silent and rebuffers.
type jitterBuffer struct {
	n int // samples per frame

	slots [jbSlots]jbSlot
	count int

	playing   bool
	next      uint16 // sequence number of the frame due next
	target    int    // frames to hold
	stretched bool   // a concealment frame already stands in for next
	grew      bool   // and the target grew for it
	stretch   int    // concealment frames to insert to grow the delay
	skip      int    // frames to drop to shrink the delay
	long      int    // boundaries in the calm window
	short     int    // boundaries in the short window
	minLong   int    // fewest frames buffered at a boundary, calm window
	minShort  int    // same, short window

	cur []int16 // frame being played
	pos int     // next sample of cur; n at a frame boundary

	// Which recent sequence numbers played from received audio, so that
	// a duplicate of one is not taken for a late frame.
	doneSeq [jbSlots]uint16
	doneOK  [jbSlots]bool

	plc   concealer
	stats *jitterCounters

	// trace, when set (tests), hears every decision at a frame boundary.
	trace func(what jbDecision, seq uint16)
}

// jbDecision is what the jitter buffer did at a frame boundary.
type jbDecision uint8

const (
	jbPlayed    jbDecision = iota // played frame seq
	jbConcealed                   // played a concealment frame
	jbSilent                      // idle: silence until audio comes
	jbSkipped                     // dropped frame seq (crossfaded into the next)
)

func (j *jitterBuffer) note(what jbDecision, seq uint16) {
	if j.trace != nil {
		j.trace(what, seq)
	}
}

func newJitterBuffer(rate int, stats *jitterCounters) *jitterBuffer {
	n := rate / 50
	j := &jitterBuffer{n: n, target: jbMinTarget, cur: make([]int16, n), pos: n, stats: stats}
	for i := range j.slots {
		j.slots[i].pcm = make([]int16, n)
	}
	j.plc.init(rate, n)
	j.resetWindows()
	j.publish()
	return j
}

func (j *jitterBuffer) slot(seq uint16) *jbSlot { return &j.slots[seq%jbSlots] }

func (j *jitterBuffer) publish() {
	j.stats.target.Store(int64(j.target))
	j.stats.buffered.Store(int64(j.count))
}

func (j *jitterBuffer) flush() {
	for i := range j.slots {
		j.slots[i].valid = false
	}
	j.count = 0
	j.playing, j.stretched, j.grew = false, false, false
	j.stretch, j.skip = 0, 0
}

// push stores a received frame.
func (j *jitterBuffer) push(seq uint16, pcm []int16) {
	defer j.publish()
	d := int16(seq - j.next)
	if j.count > 0 || j.playing {
		if d >= jbSlots || d <= -jbSlots {
			j.stats.resyncs.Add(1)
			j.flush()
		} else if d < 0 && j.playing {
			if i := seq % jbSlots; j.doneOK[i] && j.doneSeq[i] == seq {
				j.stats.dropped.Add(1) // duplicate of a played frame
				return
			}
			// Its turn has passed (it was concealed): discard it and
			// hold more from now on.
			j.stats.late.Add(1)
			j.lateEvent()
			j.stretch = 1
			return
		}
	}
	if !j.playing && (j.count == 0 || int16(seq-j.next) < 0) {
		j.next = seq
	}
	s := j.slot(seq)
	if s.valid {
		if s.seq == seq {
			j.stats.dropped.Add(1) // duplicate
			return
		}
		j.count-- // stale leftover; cannot happen in order, but be safe
	}
	s.valid, s.seq = true, seq
	k := copy(s.pcm, pcm)
	clear(s.pcm[k:])
	j.count++
}

// read fills out with the next samples to play.
func (j *jitterBuffer) read(out []int16) {
	for len(out) > 0 {
		if j.pos >= j.n && !j.boundary() {
			j.note(jbSilent, 0)
			clear(out)
			j.publish()
			return
		}
		k := copy(out, j.cur[j.pos:])
		j.pos += k
		out = out[k:]
	}
	j.publish()
}

func (j *jitterBuffer) resetWindows() {
	j.long, j.short = 0, 0
	j.minLong, j.minShort = math.MaxInt, math.MaxInt
}

func (j *jitterBuffer) lateEvent() {
	if j.target < jbMaxTarget {
		j.target++
	}
	j.resetWindows()
}

// take moves the due frame into cur and frees its slot.
func (j *jitterBuffer) take(s *jbSlot) {
	copy(j.cur, s.pcm)
	j.doneSeq[s.seq%jbSlots], j.doneOK[s.seq%jbSlots] = s.seq, true
	s.valid = false
	j.count--
	j.next++
}

// boundary picks what plays for the next frame; false means silence
// (idle, waiting for audio).
func (j *jitterBuffer) boundary() bool {
	if !j.playing {
		if j.count == 0 || j.count < j.target {
			return false
		}
		// Start. A backlog beyond the target is old audio: drop it.
		for j.count > j.target {
			if s := j.slot(j.next); s.valid && s.seq == j.next {
				s.valid = false
				j.count--
				j.stats.dropped.Add(1)
			}
			j.next++
		}
		for s := j.slot(j.next); !(s.valid && s.seq == j.next); s = j.slot(j.next) {
			j.next++ // skip a leading gap
		}
		j.playing = true
		j.resetWindows()
		j.plc.reset()
	}
	j.pos = 0
	if j.stretch > 0 && j.count > 0 {
		j.stretch--
		j.conceal()
		return true
	}
	if s := j.slot(j.next); s.valid && s.seq == j.next {
		if j.skip > 0 {
			if s1 := j.slot(j.next + 1); s1.valid && s1.seq == j.next+1 {
				j.skip--
				j.stats.dropped.Add(1)
				j.note(jbSkipped, s.seq)
				j.note(jbPlayed, s1.seq)
				j.take(s)
				j.take(s1)
				crossfade(j.cur, s.pcm, s1.pcm, len(j.cur)/4)
				j.played()
				return true
			}
		}
		j.note(jbPlayed, s.seq)
		j.take(s)
		j.played()
		return true
	}
	if j.count == 0 {
		// Nothing here: late or lost, we cannot tell yet. Conceal and
		// keep the turn.
		if j.plc.run >= jbMaxConceal {
			// The stream stopped (hold, silence suppression): that is
			// not lateness, take back the growth and rebuffer.
			if j.grew {
				j.target--
			}
			j.playing = false
			j.stretched, j.grew = false, false
			j.pos = j.n
			return false
		}
		if !j.stretched {
			j.stats.underruns.Add(1)
			j.grew = j.target < jbMaxTarget
			j.lateEvent()
			j.stretched = true
		}
		j.conceal()
		return true
	}
	// The due frame is missing and later ones are here: it is lost.
	j.stats.lost.Add(1)
	j.doneOK[j.next%jbSlots] = false
	j.next++
	if j.stretched {
		// A concealment frame already played in its place; and it was
		// a loss, not lateness, so take back the growth.
		if j.grew {
			j.target--
		}
		j.stretched, j.grew = false, false
		j.pos = j.n
		return j.boundary()
	}
	j.conceal()
	return true
}

func (j *jitterBuffer) conceal() {
	j.note(jbConcealed, j.next)
	j.plc.generate(j.cur)
	j.stats.concealed.Add(1)
}

// played finishes a boundary at which a received frame was taken: it
// smooths the join after concealment and runs the delay adaptation.
func (j *jitterBuffer) played() {
	j.stats.played.Add(1)
	j.stretched, j.grew = false, false
	j.plc.join(j.cur)
	j.plc.remember(j.cur)
	ahead := j.count
	j.minLong = min(j.minLong, ahead)
	j.minShort = min(j.minShort, ahead)
	j.long++
	j.short++
	if j.short >= jbShortFrames {
		// Two or more frames too many all along (the device lost time,
		// or a backlog came in): shed all but one of them now, a frame
		// per boundary.
		if excess := j.minShort - (j.target - 1); excess >= 2 {
			j.skip = excess - 1
		}
		j.short, j.minShort = 0, math.MaxInt
	}
	if j.long >= jbCalmFrames {
		if j.target > jbMinTarget {
			j.target--
		}
		if j.minLong-(j.target-1) >= 1 {
			j.skip = 1
		}
		j.long, j.minLong = 0, math.MaxInt
	}
}

// crossfade writes into dst the frame b whose first ov samples fade in
// while the head of a fades out. a's head continues what played before,
// so dropping a this way does not click.
func crossfade(dst, a, b []int16, ov int) {
	copy(dst, b)
	for i := 0; i < ov; i++ {
		w := float32(i+1) / float32(ov+1)
		dst[i] = sat16((1-w)*float32(a[i]) + w*float32(b[i]))
	}
}

func sat16(v float32) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

// concealer synthesises audio for missing frames by repeating the last
// pitch period of what played (found by autocorrelation), fading out over
// 60 ms, and crossfades back into real audio when it returns: the
// approach of ITU-T G.711 Appendix I, simplified.
type concealer struct {
	n              int
	hist           []int16 // the last samples played, newest last
	minLag, maxLag int
	step           int       // lag search stride: rate/8000
	period         []float32 // one pitch period, copied at the start of a run
	plen, phase    int
	run            int // concealment frames in a row
	t              int // samples concealed in this run
	fadeStart      int // samples at full level before fading
	fadeLen        int // samples to fade to silence
}

func (c *concealer) init(rate, n int) {
	c.n = n
	c.step = max(1, rate/8000)
	c.minLag = rate / 400 // 400 Hz
	c.maxLag = rate / 66  // 66 Hz
	c.hist = make([]int16, 2*c.maxLag+n)
	c.period = make([]float32, c.maxLag)
	c.fadeStart = rate / 100     // 10 ms
	c.fadeLen = rate * 50 / 1000 // to silence 60 ms in
}

func (c *concealer) reset() {
	clear(c.hist)
	c.run = 0
}

func (c *concealer) remember(frame []int16) {
	k := copy(c.hist, c.hist[len(frame):])
	copy(c.hist[k:], frame)
}

func (c *concealer) findPeriod() int {
	h := c.hist
	w := c.maxLag
	end := len(h)
	best, bestLag := float32(0), 0
	for lag := c.minLag; lag <= c.maxLag; lag += c.step {
		var xy, yy float32
		for i := end - w; i < end; i += c.step {
			x, y := float32(h[i]), float32(h[i-lag])
			xy += x * y
			yy += y * y
		}
		if yy > 0 && xy > 0 {
			if score := xy * xy / yy; score > best {
				best, bestLag = score, lag
			}
		}
	}
	if bestLag == 0 {
		return c.maxLag
	}
	// Refine around the coarse lag at full resolution.
	lo, hi := max(c.minLag, bestLag-c.step+1), min(c.maxLag, bestLag+c.step-1)
	best = 0
	for lag := lo; lag <= hi; lag++ {
		var xy, yy float32
		for i := end - w; i < end; i++ {
			x, y := float32(h[i]), float32(h[i-lag])
			xy += x * y
			yy += y * y
		}
		if yy > 0 && xy > 0 {
			if score := xy * xy / yy; score > best {
				best, bestLag = score, lag
			}
		}
	}
	return bestLag
}

func (c *concealer) gain() float32 {
	if c.t < c.fadeStart {
		return 1
	}
	g := 1 - float32(c.t-c.fadeStart)/float32(c.fadeLen)
	return max(g, 0)
}

// generate fills out with concealment audio.
func (c *concealer) generate(out []int16) {
	if c.run == 0 {
		c.plen = c.findPeriod()
		for i := 0; i < c.plen; i++ {
			c.period[i] = float32(c.hist[len(c.hist)-c.plen+i])
		}
		c.phase, c.t = 0, 0
	}
	for i := range out {
		out[i] = sat16(c.period[c.phase] * c.gain())
		c.phase++
		if c.phase == c.plen {
			c.phase = 0
		}
		c.t++
	}
	c.run++
	c.remember(out)
}

// join crossfades the continued concealment into frame, the first real
// frame after a run of concealment.
func (c *concealer) join(frame []int16) {
	if c.run == 0 {
		return
	}
	ov := min(len(frame), c.n/4)
	for i := 0; i < ov; i++ {
		cont := c.period[c.phase] * c.gain()
		c.phase++
		if c.phase == c.plen {
			c.phase = 0
		}
		c.t++
		w := float32(i+1) / float32(ov+1)
		frame[i] = sat16((1-w)*cont + w*float32(frame[i]))
	}
	c.run = 0
}
