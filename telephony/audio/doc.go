// Package audio is the console's local sound device, on miniaudio
// (github.com/gen2brain/malgo): the receptionist's headset for calls, a
// ring device for the ringtone, level meters, mute and volume. Device
// implements telephony.AudioDevice; its ports implement
// telephony.AudioPort.
//
// # The call path
//
// Each call opens a Port at its codec's rate (8 kHz for G.711, 48 kHz
// for Opus; 12, 16 and 24 kHz work too). Everything else runs at 48 kHz,
// mono, 16-bit: a playback stream and a capture stream on the chosen
// devices, 10 ms periods, miniaudio converting to the devices' own
// formats.
//
//	RTP → decode → Port.Play ─(lock-free frame queue)→ playback callback:
//	    jitter buffer → ×6 polyphase FIR → mix, beep, volume → device
//	device → capture callback ─(lock-free sample ring)→ Port.Capture:
//	    FIR ÷6 → 20 ms frame → encode → RTP
//
// The two data callbacks never allocate, block or lock: they copy
// between single-producer single-consumer rings (atomic indices) and run
// the jitter buffer and resampler on preallocated state. Play copies and
// returns at once; Capture waits, by sleeping for as long as the missing
// samples take to arrive, never on a lock the callback holds. (malgo's own
// cgo trampoline looks the callback up in a map under an uncontended
// sync.Mutex before calling ours; that is outside this package.)
//
// The jitter buffer holds 20 ms at rest and up to 100 ms: it grows by a
// frame when audio comes late, shrinks after 3 s of calm, conceals a
// lost frame by repeating the last pitch period (fading out over 60 ms,
// crossfading back), and sheds a backlog when the device lost time. It
// is clocked by the device that plays it, so its behaviour is tested on
// a virtual clock.
//
// # Devices
//
// Open lists the sound systems' devices and fails with ErrUnavailable
// when there are none; the console then answers calls with a Silent
// device and says so. SetDevices switches the headset during a call;
// a watchdog reopens a stream that stalls or stops and moves to the
// default device when a chosen one disappears (an unplugged headset),
// reporting it on Events. Ring plays the ringtone on the ring device;
// Beep plays the call-waiting beep into the headset.
//
// # Codecs
//
// Ports carry linear PCM; the call (telephony/sip, on diago) encodes and
// decodes. The default build is G.711 only (PCMU, PCMA), which every PBX
// and softphone offers and which needs no C library. Opus is not built
// in: diago's Opus needs cgo, libopus-dev at build time and libopus0 at
// run time (and a libopus for the Windows cross-build), for a gain that
// telephone calls through a PBX rarely see. A 48 kHz port is ready for
// it: building telephony/sip with diago's with_opus_c tag is all it
// takes (note that diago declares Opus as two channels: downmix before
// Play).
package audio
