package audio

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unsafe"

	"github.com/gen2brain/malgo"

	"github.com/switchboard/switchboard/telephony"
)

// Backend names a sound system miniaudio can drive.
type Backend = malgo.Backend

// Sound systems. BackendNull is miniaudio's null device: it keeps time
// like a sound card but makes and hears no sound (tests). malgo's own
// BackendNull constant is miniaudio's custom backend and does not work.
const (
	BackendNull       Backend = 14
	BackendPulseAudio Backend = malgo.BackendPulseaudio
	BackendALSA       Backend = malgo.BackendAlsa
	BackendJACK       Backend = malgo.BackendJack
	BackendWASAPI     Backend = malgo.BackendWasapi
	BackendCoreAudio  Backend = malgo.BackendCoreaudio
)

// realBackends is miniaudio's order of preference without the custom and
// null backends: with no device at all, Open must say so rather than
// play into nothing.
var realBackends = []Backend{
	malgo.BackendWasapi, malgo.BackendDsound, malgo.BackendWinmm,
	malgo.BackendCoreaudio, malgo.BackendSndio, malgo.BackendAudio4,
	malgo.BackendOss, malgo.BackendPulseaudio, malgo.BackendAlsa,
	malgo.BackendJack, malgo.BackendAaudio, malgo.BackendOpensl,
}

// ErrUnavailable means no sound device could be used. The console still
// runs: answer calls with a Silent device and tell the user.
var ErrUnavailable = errors.New("audio: no sound device available")

// ErrClosed is returned by a closed port's Capture and by a closed
// Device.
var ErrClosed = errors.New("audio: closed")

// Options configure a Device. The zero value uses the system's default
// devices.
type Options struct {
	// Backends to try in order; nil tries every real sound system of
	// the platform (never the null device).
	Backends []Backend
	// Playback and Capture are the headset's device IDs (DeviceInfo.ID);
	// empty means the system default.
	Playback, Capture string
	// Ring is the device the ringtone plays on; empty means the system
	// default playback device.
	Ring string
	// Period is the sound device's period, 10 ms when zero; Periods is
	// how many periods the device buffers, 2 when zero.
	Period  time.Duration
	Periods int
	// Watch is how often the device is checked for stalls and removal,
	// 250 ms when zero.
	Watch time.Duration
	// Linger keeps the stream open this long after the last port
	// closes, so that back-to-back calls do not reopen it; 2 s when
	// zero.
	Linger time.Duration
	// Logf, when set, receives miniaudio's and this package's log lines.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Period <= 0 {
		o.Period = 10 * time.Millisecond
	}
	if o.Periods <= 0 {
		o.Periods = 2
	}
	if o.Watch <= 0 {
		o.Watch = 250 * time.Millisecond
	}
	if o.Linger <= 0 {
		o.Linger = 2 * time.Second
	}
	if o.Backends == nil {
		o.Backends = realBackends
	}
}

// DeviceInfo describes a playback or capture device.
type DeviceInfo struct {
	// ID identifies the device across runs (PulseAudio and ALSA: the
	// device name, such as "alsa_output.usb-…"; elsewhere a hex string).
	ID string
	// Name is what to show the user. Several devices may share one.
	Name    string
	Default bool
}

// EventKind says what happened to the sound device.
type EventKind uint8

// Kinds of device events.
const (
	// EventFallback: a chosen device went away (a headset unplugged);
	// audio moved to the system default device. Event.Device is the ID
	// that went away.
	EventFallback EventKind = iota
	// EventRestarted: the device stalled or stopped by itself and was
	// reopened.
	EventRestarted
	// EventUnavailable: no device could be opened. Calls go on without
	// local audio (Capture sends silence); Events reports EventRestored
	// when a device works again.
	EventUnavailable
	// EventRestored: audio works again after EventUnavailable.
	EventRestored
)

var eventNames = [...]string{"fallback", "restarted", "unavailable", "restored"}

// String returns the kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", k)
}

// Event reports a change of the sound device the window should show.
type Event struct {
	Kind EventKind
	// Device is the device ID concerned ("" for the default device).
	Device string
	// Err is the cause, when there is one.
	Err error
}

// String describes the event for a log or a banner.
func (e Event) String() string {
	dev := e.Device
	if dev == "" {
		dev = "default device"
	}
	switch e.Kind {
	case EventFallback:
		return fmt.Sprintf("audio device %s went away; using the default device", dev)
	case EventRestarted:
		return fmt.Sprintf("audio device %s stalled and was restarted", dev)
	case EventUnavailable:
		return fmt.Sprintf("audio unavailable: %v", e.Err)
	case EventRestored:
		return "audio available again"
	}
	return e.Kind.String()
}

// Level is a signal level as fractions of full scale (1.0 = 32768).
type Level struct {
	RMS, Peak float64
}

// Device is the console's sound device: the headset (a playback and a
// capture stream) shared by the calls' ports, a ring device, level meters, mute
// and volume. It implements telephony.AudioDevice. All methods are safe
// for concurrent use.
//
// The stream runs while a port is open (and Linger after the last one
// closes, or while Preview holds it). A watchdog goroutine, owned by the
// Device and ended by Close or by the context given to Open, reopens a
// stream that stalls or stops and moves to the default device when a
// chosen device disappears.
type Device struct {
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mctx   *malgo.AllocatedContext
	eng    *engine
	events chan Event
	lost   atomic.Uint64 // events dropped because nobody read them

	mu          sync.Mutex // control plane only; never taken by a callback
	closed      bool
	stream      *streams
	playID      string // chosen devices ("" = default)
	capID       string
	ringID      string
	inUsePlay   string // what the stream actually uses
	inUseCap    string
	ports       []*Port
	previews    int
	idleSince   time.Time
	unavailable bool // the last attempt to open a stream failed
	ring        *ringer
	ringGain    atomic.Uint32              // float32 bits
	ringTap     atomic.Pointer[sampleRing] // test hook for the next ringer

	stopping       atomic.Bool // we are stopping the stream on purpose
	unexpectedStop atomic.Bool // it stopped without us
	lastFrames     uint64      // watchdog: progress seen at the last check
	stalls         int
	lastCap        uint64
	startFrames    uint64 // progress when the stream started
	startCap       uint64
	startedAt      time.Time
	lastEnum       time.Time
}

var _ telephony.AudioDevice = (*Device)(nil)

// Open initialises the sound system and checks that a device exists. It
// does not start a stream: the first port or Preview does. ctx bounds
// the Device's goroutines; Close releases everything.
//
// When no sound system or no device is found, the error wraps
// ErrUnavailable: use a Silent device and tell the user.
func Open(ctx context.Context, opts Options) (*Device, error) {
	opts.defaults()
	logf := func(string) {}
	if opts.Logf != nil {
		logf = func(m string) { opts.Logf("miniaudio: %s", m) }
	}
	mctx, err := malgo.InitContext(opts.Backends, malgo.ContextConfig{}, logf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	d := &Device{
		opts:   opts,
		mctx:   mctx,
		eng:    newEngine(opts),
		events: make(chan Event, 16),
		playID: opts.Playback,
		capID:  opts.Capture,
		ringID: opts.Ring,
	}
	play, capt, err := d.devices()
	if err == nil && len(play) == 0 && len(capt) == 0 {
		err = errors.New("no playback or capture device")
	}
	if err != nil {
		d.free()
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	d.ringGain.Store(math.Float32bits(1))
	d.ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Add(1)
	go d.watch()
	return d, nil
}

func (d *Device) free() {
	_ = d.mctx.Uninit()
	d.mctx.Free()
}

func (d *Device) logf(format string, args ...any) {
	if d.opts.Logf != nil {
		d.opts.Logf(format, args...)
	}
}

// Close stops every stream, ends the ports (their Capture returns
// ErrClosed) and releases the sound system.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait() // the watchdog and any ringing end with the context
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.ports {
		p.markClosed()
	}
	d.ports = nil
	d.publishPorts()
	d.closeStream()
	d.free()
	return nil
}

// Events reports device changes: fallbacks, restarts, loss and return of
// audio. It never blocks the device; unread events beyond 16 are dropped.
func (d *Device) Events() <-chan Event { return d.events }

func (d *Device) emit(e Event) {
	d.logf("audio: %s", e)
	select {
	case d.events <- e:
	default:
		d.lost.Add(1)
	}
}

// deviceID turns miniaudio's device ID into a stable string: the name
// for the backends that identify devices by name, hex otherwise.
func deviceID(id malgo.DeviceID) string {
	end := 0
	for end < len(id) && id[end] != 0 {
		end++
	}
	text := end > 0
	for _, b := range id[:end] {
		if b >= 0x80 || !unicode.IsPrint(rune(b)) {
			text = false
			break
		}
	}
	for _, b := range id[end:] {
		if b != 0 {
			text = false
			break
		}
	}
	if text {
		return string(id[:end])
	}
	return hex.EncodeToString(id[:max(1, len(id)-countTrailingZeros(id[:]))])
}

func countTrailingZeros(b []byte) int {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i] == 0; i-- {
		n++
	}
	return n
}

// Devices lists the playback and capture devices; ErrClosed once the
// Device is closed.
func (d *Device) Devices() (playback, capture []DeviceInfo, err error) {
	// One user of the sound system at a time: miniaudio's PulseAudio
	// backend runs every listing, lookup and stream open on the context's
	// one main loop, which is not safe from two threads.
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, nil, ErrClosed
	}
	return d.devices()
}

// devices is Devices with d.mu held (or before the Device is shared).
func (d *Device) devices() (playback, capture []DeviceInfo, err error) {
	conv := func(list []malgo.DeviceInfo) []DeviceInfo {
		out := make([]DeviceInfo, 0, len(list))
		for i := range list {
			out = append(out, DeviceInfo{ID: deviceID(list[i].ID), Name: list[i].Name(), Default: list[i].IsDefault != 0})
		}
		return out
	}
	p, err := d.mctx.Devices(malgo.Playback)
	if err != nil {
		return nil, nil, err
	}
	c, err := d.mctx.Devices(malgo.Capture)
	if err != nil {
		return nil, nil, err
	}
	return conv(p), conv(c), nil
}

// lookup finds a device's miniaudio ID; ok is false when it is not
// there. An empty id is the default device and always found.
func (d *Device) lookup(kind malgo.DeviceType, id string) (malgo.DeviceID, bool) {
	if id == "" {
		return malgo.DeviceID{}, true
	}
	list, err := d.mctx.Devices(kind)
	if err != nil {
		return malgo.DeviceID{}, false
	}
	for i := range list {
		if deviceID(list[i].ID) == id {
			return list[i].ID, true
		}
	}
	return malgo.DeviceID{}, false
}

// SetDevices switches the headset to other devices ("" for the default).
// A live call keeps going: its stream reopens on the new devices. An
// unknown ID is an error and changes nothing.
func (d *Device) SetDevices(playback, capture string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if _, ok := d.lookup(malgo.Playback, playback); !ok {
		return fmt.Errorf("audio: no playback device %q", playback)
	}
	if _, ok := d.lookup(malgo.Capture, capture); !ok {
		return fmt.Errorf("audio: no capture device %q", capture)
	}
	d.playID, d.capID = playback, capture
	if d.stream == nil {
		return nil
	}
	return d.reopen()
}

// CurrentDevices returns the devices the headset stream uses now (after
// any fallback; "" is the default device) and whether a stream runs.
func (d *Device) CurrentDevices() (playback, capture string, running bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inUsePlay, d.inUseCap, d.stream != nil
}

// SetRingDevice chooses the device the ringtone plays on ("" for the
// default). It applies from the next Ring.
func (d *Device) SetRingDevice(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if _, ok := d.lookup(malgo.Playback, id); !ok {
		return fmt.Errorf("audio: no playback device %q", id)
	}
	d.ringID = id
	return nil
}

// SetMuted mutes or unmutes the microphone: while muted, every port's
// Capture returns silence (the input meter still shows the microphone).
func (d *Device) SetMuted(muted bool) { d.eng.muted.Store(muted) }

// Muted reports whether the microphone is muted.
func (d *Device) Muted() bool { return d.eng.muted.Load() }

// SetVolume sets the headset's playback volume: 1 is unchanged, 0
// silent, up to 4 (+12 dB, clipped).
func (d *Device) SetVolume(v float64) { d.eng.setGain(v) }

// Volume returns the playback volume.
func (d *Device) Volume() float64 { return d.eng.volume() }

// Levels returns the microphone's and the headset output's level over
// the last device period (zero while no stream runs). Poll it from the
// window, 10-30 times a second.
func (d *Device) Levels() (in, out Level) { return d.eng.levels() }

// Beep plays the short call-waiting beep into the headset (the
// receptionist hears it; the caller does not). It does nothing while no
// stream runs and reports whether it played.
func (d *Device) Beep() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stream == nil {
		return false
	}
	d.eng.beepReq.Add(1)
	return true
}

// Preview runs the headset stream until ctx ends, without a call, so that
// the settings window can show the level meters and play a beep.
func (d *Device) Preview(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.previews++
	err := d.ensureStream()
	d.wg.Add(1) // under d.mu: Close cannot be waiting yet
	d.mu.Unlock()
	go func() {
		defer d.wg.Done()
		select {
		case <-ctx.Done():
		case <-d.ctx.Done():
		}
		d.mu.Lock()
		d.previews--
		d.idleSince = time.Now()
		d.mu.Unlock()
	}()
	return err
}

// OpenPort opens a call's port at sampleRate (8000, 12000, 16000, 24000
// or 48000) and starts the headset stream if needed. If the sound device
// cannot be started the port still works, silently (Capture returns
// silence at the right pace), so the call can go on; the failure is
// reported on Events and the device is retried.
func (d *Device) OpenPort(sampleRate int) (telephony.AudioPort, error) {
	if sampleRate < 8000 || streamRate%sampleRate != 0 || sampleRate%50 != 0 || firTaps%(streamRate/sampleRate) != 0 {
		return nil, fmt.Errorf("audio: unsupported port rate %d (want 8000, 12000, 16000, 24000 or 48000)", sampleRate)
	}
	p := newPort(d, sampleRate)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	d.ports = append(d.ports, p)
	d.publishPorts()
	if err := d.ensureStream(); err != nil {
		d.logf("audio: port opened without a device: %v", err)
	}
	return p, nil
}

func (d *Device) removePort(p *Port) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i := slices.Index(d.ports, p); i >= 0 {
		d.ports = slices.Delete(d.ports, i, i+1)
		d.publishPorts()
		d.idleSince = time.Now()
	}
}

// publishPorts hands the callback a fresh copy of the port list.
func (d *Device) publishPorts() {
	list := slices.Clone(d.ports)
	d.eng.ports.Store(&list)
}

// ensureStream starts the headset stream if it is not running. d.mu held.
func (d *Device) ensureStream() error {
	if d.stream != nil {
		return nil
	}
	err := d.openStream()
	if err != nil {
		if !d.unavailable {
			d.unavailable = true
			d.emit(Event{Kind: EventUnavailable, Err: err})
		}
		return err
	}
	if d.unavailable {
		d.unavailable = false
		d.emit(Event{Kind: EventRestored})
	}
	return nil
}

// streams is the headset: a playback and a capture stream.
type streams struct {
	play, capt *malgo.Device
}

// openStream opens and starts the headset streams on the chosen
// devices, falling back to the default for a chosen device that is
// gone. d.mu held.
func (d *Device) openStream() error {
	st, err := d.initStream()
	if err != nil {
		return err
	}
	return d.startStream(st)
}

// initDevice initialises one 48 kHz 16-bit mono stream on id ("" for
// the default device).
func (d *Device) initDevice(kind malgo.DeviceType, id string, mid malgo.DeviceID, data malgo.DataProc, name string) (*malgo.Device, error) {
	cfg := malgo.DefaultDeviceConfig(kind)
	cfg.SampleRate = streamRate
	cfg.PeriodSizeInMilliseconds = uint32(d.opts.Period / time.Millisecond)
	cfg.Periods = uint32(d.opts.Periods)
	cfg.PerformanceProfile = malgo.LowLatency
	cfg.Playback.Format, cfg.Playback.Channels = malgo.FormatS16, 1
	cfg.Capture.Format, cfg.Capture.Channels = malgo.FormatS16, 1
	cfg.Pulse.StreamNamePlayback, cfg.Pulse.StreamNameCapture = name, name
	// miniaudio copies the ID during init; pin it for the call.
	var pin runtime.Pinner
	defer pin.Unpin()
	if id != "" {
		pin.Pin(&mid)
		if kind == malgo.Capture {
			cfg.Capture.DeviceID = unsafe.Pointer(&mid)
		} else {
			cfg.Playback.DeviceID = unsafe.Pointer(&mid)
		}
	}
	dev, err := malgo.InitDevice(d.mctx.Context, cfg, malgo.DeviceCallbacks{Data: data, Stop: d.onStop})
	if err != nil {
		return nil, err
	}
	format, channels := dev.PlaybackFormat(), dev.PlaybackChannels()
	if kind == malgo.Capture {
		format, channels = dev.CaptureFormat(), dev.CaptureChannels()
	}
	if dev.SampleRate() != streamRate || format != malgo.FormatS16 || channels != 1 {
		dev.Uninit()
		return nil, errors.New("miniaudio did not give 48 kHz 16-bit mono")
	}
	return dev, nil
}

func (d *Device) initStream() (*streams, error) {
	play, capt := d.playID, d.capID
	pid, ok := d.lookup(malgo.Playback, play)
	if !ok {
		d.emit(Event{Kind: EventFallback, Device: play})
		d.playID, play = "", ""
	}
	cid, ok := d.lookup(malgo.Capture, capt)
	if !ok {
		d.emit(Event{Kind: EventFallback, Device: capt})
		d.capID, capt = "", ""
	}
	var st streams
	var err error
	if st.play, err = d.initDevice(malgo.Playback, play, pid, d.eng.playData, "Switchboard call"); err != nil {
		return nil, fmt.Errorf("open playback device: %w", err)
	}
	if st.capt, err = d.initDevice(malgo.Capture, capt, cid, d.eng.capData, "Switchboard call"); err != nil {
		st.play.Uninit()
		return nil, fmt.Errorf("open capture device: %w", err)
	}
	d.inUsePlay, d.inUseCap = play, capt
	return &st, nil
}

func (d *Device) startStream(st *streams) error {
	d.stopping.Store(false)
	d.unexpectedStop.Store(false)
	err := st.capt.Start()
	if err == nil {
		err = st.play.Start()
	}
	if err != nil {
		d.stopping.Store(true)
		st.capt.Uninit()
		st.play.Uninit()
		return fmt.Errorf("start sound device: %w", err)
	}
	d.stream = st
	d.stalls = 0
	d.lastFrames, d.lastCap = d.eng.frames.Load(), d.eng.capFrames.Load()
	d.startFrames, d.startCap, d.startedAt = d.lastFrames, d.lastCap, time.Now()
	return nil
}

func (d *Device) onStop() {
	if !d.stopping.Load() {
		d.unexpectedStop.Store(true)
	}
}

// closeStream stops and releases the streams. d.mu held.
func (d *Device) closeStream() {
	if d.stream == nil {
		return
	}
	d.stopping.Store(true)
	release(d.stream.play)
	release(d.stream.capt)
	d.stream = nil
	d.eng.clearLevels()
}

// release stops and frees a started device. Stop comes first: on
// PulseAudio, Uninit alone never returns once the device's sink or
// source has gone (miniaudio 0.11.23 no longer stops before uninit, and
// its PulseAudio loop then waits for an event that never comes).
func release(dev *malgo.Device) {
	_ = dev.Stop()
	dev.Uninit()
}

// reopen moves the streams to the chosen devices: the new ones are set
// up before the old ones stop, so the gap is one device start. d.mu
// held.
func (d *Device) reopen() error {
	st, err := d.initStream()
	if err != nil {
		// Some devices cannot be opened twice: free the old one first.
		d.closeStream()
		if st, err = d.initStream(); err != nil {
			return d.ensureStream()
		}
	} else {
		d.closeStream()
	}
	if err := d.startStream(st); err != nil {
		return d.ensureStream()
	}
	return nil
}

// watch is the Device's watchdog goroutine.
func (d *Device) watch() {
	defer d.wg.Done()
	t := time.NewTicker(d.opts.Watch)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			d.check()
		}
	}
}

func (d *Device) check() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	wanted := len(d.ports) > 0 || d.previews > 0
	if d.stream == nil {
		if wanted && d.unavailable {
			_ = d.ensureStream() // retry
		}
		return
	}
	if !wanted && time.Since(d.idleSince) >= d.opts.Linger {
		d.closeStream()
		return
	}
	frames, capFrames := d.eng.frames.Load(), d.eng.capFrames.Load()
	switch {
	case (frames == d.startFrames || capFrames == d.startCap) && time.Since(d.startedAt) < startGrace:
		// Not started yet: some devices (Bluetooth headsets) take a
		// second or two.
	case frames == d.lastFrames || capFrames == d.lastCap:
		d.stalls++
	default:
		d.stalls = 0
	}
	d.lastFrames, d.lastCap = frames, capFrames
	var gone string
	if (d.playID != "" || d.capID != "") && time.Since(d.lastEnum) >= time.Second {
		d.lastEnum = time.Now()
		if _, ok := d.lookup(malgo.Playback, d.playID); !ok {
			gone = d.playID
		} else if _, ok := d.lookup(malgo.Capture, d.capID); !ok {
			gone = d.capID
		}
	}
	stopped := d.unexpectedStop.Load()
	if gone == "" && !stopped && d.stalls < 2 {
		return
	}
	// Reopen: initStream falls back (and says so) for a device that
	// is gone.
	d.logf("audio: device lost (gone=%q stopped=%v stalls=%d); reopening", gone, stopped, d.stalls)
	d.closeStream()
	if err := d.ensureStream(); err == nil && gone == "" {
		d.emit(Event{Kind: EventRestarted, Device: d.inUsePlay})
	}
}

// startGrace is how long a new stream may take to deliver its first
// callback before the watchdog restarts it.
const startGrace = 3 * time.Second

// simulateStop makes the watchdog believe the device stopped by itself
// (tests: a null device cannot be unplugged).
func (d *Device) simulateStop() { d.unexpectedStop.Store(true) }
