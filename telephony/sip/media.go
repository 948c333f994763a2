// Media: the RTP leg of an answered dialog (G.711 in and out, RFC 4733
// DTMF), attached to the sound device while its call is the live line,
// or relayed to another leg while a call is parked by relay.

package sip

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/switchboard/switchboard/telephony"
	"github.com/zaf/g711"
)

// G.711 payload types and the 20 ms frame at 8 kHz.
const (
	ptPCMU       = 0
	ptPCMA       = 8
	sampleRate   = 8000
	frameSamples = sampleRate / 50
)

// leg is the media of one answered SIP dialog: a receive loop that
// decodes every packet and hands it to the leg's sink (the sound device
// port of the live call, or the other leg of a relay), and, while a port
// is attached, a send loop that encodes the port's capture.
//
// The receive loop reads through diago's DTMF reader, which is no second
// reader of the socket but a filter on the one stream: it hands every
// packet on, audio and telephone events alike, and decodes the events
// on the way. So the digits the far end keys never take audio from the
// sound device, and the loop still drops the telephone-event packets
// before decoding audio.
type leg struct {
	log    *slog.Logger
	codec  uint8
	reader *media.RTPPacketReader // its PacketHeader describes what rx read last
	rx     io.Reader              // reader, through the DTMF filter
	pkt    *media.RTPPacketWriter
	dtmf   *diago.DTMFWriter
	rxDone chan struct{}

	mu     sync.Mutex
	sink   func(telephony.Frame)
	port   telephony.AudioPort
	txDone chan struct{}
	closed bool
	relay  *leg // set while relaying to another leg
	relEnc []byte
}

// newLeg starts the receive loop of an answered dialog's media. Each
// DTMF digit received is given to onDigit (when set) on the receive
// loop's goroutine: it must not block.
func newLeg(m *diago.DialogMedia, log *slog.Logger, onDigit func(rune)) (*leg, error) {
	var props diago.MediaProps
	if _, err := m.AudioReader(diago.WithAudioReaderMediaProps(&props)); err != nil {
		return nil, fmt.Errorf("audio reader: %w", err)
	}
	pt := props.Codec.PayloadType
	if pt != ptPCMU && pt != ptPCMA {
		return nil, fmt.Errorf("codec %s (%d) is not G.711", props.Codec.Name, pt)
	}
	dtmf, err := m.AudioWriterDTMF()
	if err != nil {
		return nil, fmt.Errorf("audio writer: %w", err)
	}
	rx, err := m.AudioReaderDTMF()
	if err != nil {
		return nil, fmt.Errorf("dtmf reader: %w", err)
	}
	// diago v0.42's DTMF reader and writer read the media session without
	// its lock; taking the lock once orders those reads before the update
	// of a later re-INVITE.
	m.MediaSession()
	rx.OnDTMF(func(d rune) error {
		if onDigit != nil && d != 0 {
			onDigit(d)
		}
		return nil
	})
	l := &leg{
		log:    log,
		codec:  pt,
		reader: m.RTPPacketReader,
		rx:     rx,
		pkt:    m.RTPPacketWriter,
		dtmf:   dtmf,
		rxDone: make(chan struct{}),
	}
	go l.receive()
	return l, nil
}

// receive runs until the dialog's media is closed.
func (l *leg) receive() {
	defer close(l.rxDone)
	buf := make([]byte, media.RTPBufSize)
	pcm := make([]int16, 0, frameSamples*4)
	for {
		n, err := l.rx.Read(buf)
		if err != nil {
			return
		}
		if n == 0 {
			continue
		}
		hdr := l.reader.PacketHeader
		if hdr.PayloadType != l.codec {
			continue // telephone-event or comfort noise
		}
		pcm = pcm[:0]
		for _, b := range buf[:n] {
			if l.codec == ptPCMU {
				pcm = append(pcm, g711.DecodeUlawFrame(b))
			} else {
				pcm = append(pcm, g711.DecodeAlawFrame(b))
			}
		}
		l.mu.Lock()
		sink := l.sink
		l.mu.Unlock()
		if sink != nil {
			sink(telephony.Frame{Seq: hdr.SequenceNumber, Timestamp: hdr.Timestamp, PCM: pcm})
		}
	}
}

func (l *leg) encode(dst []byte, pcm []int16) []byte {
	dst = dst[:0]
	for _, s := range pcm {
		if l.codec == ptPCMU {
			dst = append(dst, g711.EncodeUlawFrame(s))
		} else {
			dst = append(dst, g711.EncodeAlawFrame(s))
		}
	}
	return dst
}

// attach connects the leg to a sound device port: what arrives is played,
// what the port captures is sent, paced by the port.
func (l *leg) attach(port telephony.AudioPort) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = port.Close()
		return errors.New("call media is closed")
	}
	if l.port != nil || l.relay != nil {
		_ = port.Close()
		return errors.New("call media is busy")
	}
	l.port = port
	l.sink = port.Play
	done := make(chan struct{})
	l.txDone = done
	go func() {
		defer close(done)
		pcm := make([]int16, frameSamples)
		var payload []byte
		for {
			if err := port.Capture(pcm); err != nil {
				return
			}
			payload = l.encode(payload, pcm)
			if _, err := l.dtmf.Write(payload); err != nil {
				return
			}
		}
	}()
	return nil
}

// detach disconnects the sound device port (if any) and waits for the
// send loop to end.
func (l *leg) detach() {
	l.mu.Lock()
	port, done := l.port, l.txDone
	l.port, l.txDone = nil, nil
	if l.relay == nil {
		l.sink = nil
	}
	l.mu.Unlock()
	if port != nil {
		if err := port.Close(); err != nil {
			l.log.Debug("closing audio port", "error", err)
		}
	}
	if done != nil {
		<-done
	}
}

// relayTo makes everything l receives go out on other (a relay park: the
// console bridges the caller and the park service's leg).
func (l *leg) relayTo(other *leg) {
	l.mu.Lock()
	l.relay = other
	l.sink = func(f telephony.Frame) { other.writeRelay(f.PCM) }
	l.mu.Unlock()
}

// writeRelay sends one frame received on the other leg, unpaced (the
// other leg's arrivals pace it).
func (l *leg) writeRelay(pcm []int16) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.relEnc = l.encode(l.relEnc, pcm)
	payload := l.relEnc
	_, err := l.pkt.WriteSamples(payload, uint32(len(pcm)), false, l.codec)
	l.mu.Unlock()
	if err != nil {
		l.log.Debug("relay write", "error", err)
	}
}

// unrelay stops relaying.
func (l *leg) unrelay() {
	l.mu.Lock()
	l.relay = nil
	if l.port == nil {
		l.sink = nil
	}
	l.mu.Unlock()
}

// sendDTMF sends digits as RFC 4733 telephone events, in order.
func (l *leg) sendDTMF(digits string) error {
	for _, d := range digits {
		if err := l.dtmf.WriteDTMF(d); err != nil {
			return fmt.Errorf("dtmf %q: %w", d, err)
		}
	}
	return nil
}

// close detaches the port and marks the leg closed; the receive loop
// ends when diago closes the dialog's media.
func (l *leg) close() {
	l.detach()
	l.mu.Lock()
	l.closed = true
	l.sink = nil
	l.relay = nil
	l.mu.Unlock()
}

// validDTMF reports whether every digit can be sent as a telephone event.
func validDTMF(digits string) error {
	if digits == "" {
		return errors.New("no digits")
	}
	for _, d := range digits {
		switch {
		case d >= '0' && d <= '9', d == '*', d == '#', d >= 'A' && d <= 'D':
		default:
			return fmt.Errorf("%q is not a DTMF digit", d)
		}
	}
	return nil
}
