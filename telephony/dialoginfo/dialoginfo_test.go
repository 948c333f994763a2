package dialoginfo_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

var (
	parkedAt   = time.Date(2026, 3, 1, 9, 30, 15, 0, time.UTC)
	ringSince  = parkedAt.Add(2 * time.Minute)
	returnedAt = ringSince.Add(30 * time.Second)
)

// shapes are documents of every shape the park service sends or the
// console may meet, each valid for Marshal.
var shapes = map[string]dialoginfo.Document{
	"free orbit, no dialog": {
		Version: 0, State: dialoginfo.StateFull, Entity: "sip:705@park.example:5060",
	},
	"free orbit, terminated dialog": {
		Version: 9, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{ID: "705", State: dialoginfo.DialogTerminated}},
	},
	"terminated with event": {
		Version: 10, State: dialoginfo.StatePartial, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "d1", CallID: "c1@host", LocalTag: "lt", RemoteTag: "rt", Direction: dialoginfo.DirectionRecipient,
			State: dialoginfo.DialogTerminated, Event: "remote-bye", Code: 487,
		}},
	},
	"orbit left by a retrieve": {
		Version: 4, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705-2", Direction: dialoginfo.DirectionRecipient, State: dialoginfo.DialogTerminated, Event: "replaced",
			Remote: &dialoginfo.Participant{Identity: "sip:alice@example.com", Display: "Alice"},
			Park:   &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console1@example.com", ParkedAt: parkedAt, RetrievedBy: "sip:console2@example.com"},
		}},
	},
	"occupied orbit": {
		Version: 1, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705-1", CallID: "3848276298220188511@192.0.2.7", LocalTag: "as4f3a", RemoteTag: "9fxced76sl",
			Direction: dialoginfo.DirectionRecipient, State: dialoginfo.DialogConfirmed, Duration: 42,
			Remote: &dialoginfo.Participant{Identity: "sip:alice@example.com", Display: "Alice", Target: "sip:alice@192.0.2.7:5060"},
			Park:   &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console1@example.com", ParkedAt: parkedAt},
		}},
	},
	"local and remote": {
		Version: 2, State: dialoginfo.StateFull, Entity: "sip:706@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "x", Direction: dialoginfo.DirectionInitiator, State: dialoginfo.DialogEarly,
			Local:  &dialoginfo.Participant{Identity: "sip:706@park.example", Target: "sip:park@192.0.2.1"},
			Remote: &dialoginfo.Participant{Identity: "tel:+4930123456", Display: "Zoë Ñúñez 日本 😀"},
		}},
	},
	"participant with target only": {
		Version: 3, State: dialoginfo.StateFull, Entity: "sip:707@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "707", State: dialoginfo.DialogConfirmed,
			Local: &dialoginfo.Participant{Target: "sip:707@park.example"},
		}},
	},
	"empty participants and park": {
		Version: 4, State: dialoginfo.StateFull, Entity: "sip:708@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "708", State: dialoginfo.DialogProceeding,
			Local: &dialoginfo.Participant{}, Remote: &dialoginfo.Participant{}, Park: &dialoginfo.ParkInfo{},
		}},
	},
	"ringing back the parker": {
		Version: 6, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705-1", Direction: dialoginfo.DirectionRecipient, State: dialoginfo.DialogConfirmed,
			Remote:   &dialoginfo.Participant{Identity: "sip:alice@example.com", Display: "Alice"},
			Park:     &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console1@example.com", ParkedAt: parkedAt},
			Ringback: &dialoginfo.Ringback{Target: "sip:console1@example.com", Since: ringSince},
		}},
	},
	"ringing back the fallback": {
		Version: 7, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705-1", State: dialoginfo.DialogConfirmed,
			Park:     &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console1@example.com", ParkedAt: parkedAt},
			Ringback: &dialoginfo.Ringback{Target: "sip:operator@example.com;transport=tcp", Since: returnedAt, Fallback: true},
		}},
	},
	"returned after a ring-back": {
		Version: 8, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705-1", State: dialoginfo.DialogConfirmed,
			Park: &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console1@example.com", ParkedAt: parkedAt, ReturnedAt: returnedAt},
		}},
	},
	"left by an answered ring-back": {
		Version: 9, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705-1", State: dialoginfo.DialogTerminated, Event: "replaced",
			Park:     &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console1@example.com", ParkedAt: parkedAt, RetrievedBy: "sip:operator@example.com"},
			Ringback: &dialoginfo.Ringback{Target: "sip:operator@example.com", Since: ringSince, Fallback: true},
		}},
	},
	"empty ringback": {
		Version: 10, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{ID: "705", State: dialoginfo.DialogConfirmed, Ringback: &dialoginfo.Ringback{}}},
	},
	"park orbit only": {
		Version: 5, State: dialoginfo.StateFull, Entity: "sip:709@park.example",
		Dialogs: []dialoginfo.Dialog{{ID: "709", State: dialoginfo.DialogTrying, Park: &dialoginfo.ParkInfo{Orbit: 709}}},
	},
	"several dialogs": {
		Version: 4294967295, State: dialoginfo.StatePartial, Entity: "sip:710@park.example",
		Dialogs: []dialoginfo.Dialog{
			{ID: "a", State: dialoginfo.DialogTerminated, Event: "replaced"},
			{ID: "b", State: dialoginfo.DialogConfirmed, Remote: &dialoginfo.Participant{Identity: "sip:b@x", Display: `"Quoted" <b> & 'c'`}},
		},
	},
}

// sameDocument compares documents, times by instant.
func sameDocument(t *testing.T, got, want dialoginfo.Document) {
	t.Helper()
	if len(got.Dialogs) == len(want.Dialogs) {
		got.Dialogs = append([]dialoginfo.Dialog(nil), got.Dialogs...)
		want.Dialogs = append([]dialoginfo.Dialog(nil), want.Dialogs...)
		for i := range got.Dialogs {
			sameInstant := func(what string, g, w time.Time) {
				if !g.Equal(w) {
					t.Errorf("dialog %d: %s = %v, want %v", i, what, g, w)
				}
			}
			if g, w := got.Dialogs[i].Park, want.Dialogs[i].Park; g != nil && w != nil {
				sameInstant("ParkedAt", g.ParkedAt, w.ParkedAt)
				sameInstant("ReturnedAt", g.ReturnedAt, w.ReturnedAt)
				gc, wc := *g, *w
				gc.ParkedAt, wc.ParkedAt, gc.ReturnedAt, wc.ReturnedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				got.Dialogs[i].Park, want.Dialogs[i].Park = &gc, &wc
			}
			if g, w := got.Dialogs[i].Ringback, want.Dialogs[i].Ringback; g != nil && w != nil {
				sameInstant("Ringback.Since", g.Since, w.Since)
				gc, wc := *g, *w
				gc.Since, wc.Since = time.Time{}, time.Time{}
				got.Dialogs[i].Ringback, want.Dialogs[i].Ringback = &gc, &wc
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("document mismatch\n got: %s\nwant: %s", dump(got), dump(want))
	}
}

func dump(d dialoginfo.Document) string {
	s := fmt.Sprintf("{Version:%d State:%q Entity:%q Dialogs:[", d.Version, d.State, d.Entity)
	for _, dl := range d.Dialogs {
		l, r, p, rb := dl.Local, dl.Remote, dl.Park, dl.Ringback
		dl.Local, dl.Remote, dl.Park, dl.Ringback = nil, nil, nil, nil
		s += fmt.Sprintf("%+v", dl)
		if l != nil {
			s += fmt.Sprintf(" Local:%+v", *l)
		}
		if r != nil {
			s += fmt.Sprintf(" Remote:%+v", *r)
		}
		if p != nil {
			s += fmt.Sprintf(" Park:%+v", *p)
		}
		if rb != nil {
			s += fmt.Sprintf(" Ringback:%+v", *rb)
		}
	}
	return s + "]}"
}

func TestRoundTrip(t *testing.T) {
	for name, doc := range shapes {
		t.Run(name, func(t *testing.T) {
			b, err := dialoginfo.Marshal(doc)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !isASCII(b) {
				t.Errorf("Marshal output is not ASCII: %q", b)
			}
			// The output must be well-formed XML for any parser.
			if err := xml.Unmarshal(b, new(struct{})); err != nil {
				t.Errorf("encoding/xml rejects output: %v\n%s", err, b)
			}
			got, err := dialoginfo.Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal: %v\n%s", err, b)
			}
			sameDocument(t, got, doc)
		})
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func TestMarshalForm(t *testing.T) {
	doc := dialoginfo.Document{
		Version: 0, State: dialoginfo.StateFull, Entity: "sip:705@host",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705", CallID: "abc@h", LocalTag: "l1", RemoteTag: "r1", Direction: dialoginfo.DirectionRecipient,
			State: dialoginfo.DialogConfirmed, Duration: 17,
			Remote: &dialoginfo.Participant{Identity: "sip:alice@x", Display: "Alice", Target: "sip:alice@192.0.2.9"},
			Park:   &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console@host", ParkedAt: time.Date(2026, 3, 1, 10, 30, 15, 999, time.FixedZone("CET", 3600))},
		}},
	}
	b, err := dialoginfo.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0"?>` +
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:705@host">` +
		`<dialog id="705" call-id="abc@h" local-tag="l1" remote-tag="r1" direction="recipient">` +
		`<state>confirmed</state><duration>17</duration>` +
		`<remote><identity display="Alice">sip:alice@x</identity><target uri="sip:alice@192.0.2.9"/></remote>` +
		`<sb:park xmlns:sb="urn:switchboard:park" orbit="705" parker="sip:console@host" parked-at="2026-03-01T09:30:15Z"/>` +
		`</dialog></dialog-info>`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}

	free, err := dialoginfo.Marshal(dialoginfo.Document{Version: 3, State: dialoginfo.StatePartial, Entity: "sip:701@h"})
	if err != nil {
		t.Fatal(err)
	}
	wantFree := `<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="partial" entity="sip:701@h"></dialog-info>`
	if string(free) != wantFree {
		t.Errorf("Marshal(free) =\n%s\nwant\n%s", free, wantFree)
	}

	ringing, err := dialoginfo.Marshal(dialoginfo.Document{Version: 5, State: dialoginfo.StateFull, Entity: "sip:705@host",
		Dialogs: []dialoginfo.Dialog{{ID: "705", State: dialoginfo.DialogConfirmed,
			Park: &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console@host", ParkedAt: time.Date(2026, 3, 1, 9, 30, 15, 0, time.UTC),
				ReturnedAt: time.Date(2026, 3, 1, 9, 33, 0, 0, time.UTC)},
			Ringback: &dialoginfo.Ringback{Target: "sip:op@host", Since: time.Date(2026, 3, 1, 10, 35, 0, 999, time.FixedZone("CET", 3600)), Fallback: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantRinging := `<state>confirmed</state>` +
		`<sb:park xmlns:sb="urn:switchboard:park" orbit="705" parker="sip:console@host" parked-at="2026-03-01T09:30:15Z" returned-at="2026-03-01T09:33:00Z"/>` +
		`<sb:ringback xmlns:sb="urn:switchboard:park" target="sip:op@host" since="2026-03-01T09:35:00Z" fallback="true"/>` +
		`</dialog></dialog-info>`
	if !bytes.HasSuffix(ringing, []byte(wantRinging)) {
		t.Errorf("Marshal(ringing back) =\n%s\nwant it to end\n%s", ringing, wantRinging)
	}
	bare, err := dialoginfo.Marshal(dialoginfo.Document{State: dialoginfo.StateFull, Entity: "sip:705@host",
		Dialogs: []dialoginfo.Dialog{{ID: "705", State: dialoginfo.DialogConfirmed, Ringback: &dialoginfo.Ringback{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bare, []byte(`<state>confirmed</state><sb:ringback xmlns:sb="urn:switchboard:park"/></dialog>`)) {
		t.Errorf("Marshal(empty ringback) = %s", bare)
	}

	ended, err := dialoginfo.Marshal(dialoginfo.Document{State: dialoginfo.StateFull, Entity: "sip:701@h",
		Dialogs: []dialoginfo.Dialog{{ID: "1", State: dialoginfo.DialogTerminated, Event: "remote-bye", Code: 200}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ended, []byte(`<dialog id="1"><state event="remote-bye" code="200">terminated</state></dialog>`)) {
		t.Errorf("Marshal(terminated) = %s", ended)
	}
}

func TestMarshalEscaping(t *testing.T) {
	tests := []struct {
		display, want, decoded string
	}{
		{`Bob "The Boss"`, `display="Bob &quot;The Boss&quot;"`, `Bob "The Boss"`},
		{`<script> & 'x'`, `display="&lt;script&gt; &amp; &apos;x&apos;"`, `<script> & 'x'`},
		{"Zoë Müller", `display="Zo&#xEB; M&#xFC;ller"`, "Zoë Müller"},
		{"日本 😀", `display="&#x65E5;&#x672C; &#x1F600;"`, "日本 😀"},
		{"a\tb\nc\rd", `display="a&#x9;b&#xA;c&#xD;d"`, "a\tb\nc\rd"},
		{"bad\x00\x1f\x7f", `display="bad&#xFFFD;&#xFFFD;` + "\x7f" + `"`, "bad\uFFFD\uFFFD\x7f"},
		{"inv\xffalid\xc3", `display="inv&#xFFFD;alid&#xFFFD;"`, "inv\uFFFDalid\uFFFD"},
		{"\uFFFE\U0010FFFF", `display="&#xFFFD;&#x10FFFF;"`, "\uFFFD\U0010FFFF"},
		{"]]>", `display="]]&gt;"`, "]]>"},
	}
	for _, tt := range tests {
		doc := dialoginfo.Document{State: dialoginfo.StateFull, Entity: "sip:1@h?a=b&c=<d>",
			Dialogs: []dialoginfo.Dialog{{ID: `i"d`, State: dialoginfo.DialogConfirmed,
				Remote: &dialoginfo.Participant{Identity: "sip:x@h;p=<&>", Display: tt.display, Target: `sip:"t"@h`}}}}
		b, err := dialoginfo.Marshal(doc)
		if err != nil {
			t.Fatalf("Marshal(%q): %v", tt.display, err)
		}
		if !bytes.Contains(b, []byte(tt.want)) {
			t.Errorf("Marshal(%q) = %s\nwant it to contain %s", tt.display, b, tt.want)
		}
		if !isASCII(b) {
			t.Errorf("Marshal(%q) is not ASCII: %q", tt.display, b)
		}
		for _, s := range []string{`entity="sip:1@h?a=b&amp;c=&lt;d&gt;"`, `id="i&quot;d"`, `>sip:x@h;p=&lt;&amp;&gt;</identity>`, `uri="sip:&quot;t&quot;@h"`} {
			if !bytes.Contains(b, []byte(s)) {
				t.Errorf("Marshal(%q) = %s\nwant it to contain %s", tt.display, b, s)
			}
		}
		got, err := dialoginfo.Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%q)): %v\n%s", tt.display, err, b)
		}
		if d := got.Dialogs[0].Remote.Display; d != tt.decoded {
			t.Errorf("display %q round trips to %q, want %q", tt.display, d, tt.decoded)
		}
		if got.Entity != doc.Entity || got.Dialogs[0].ID != doc.Dialogs[0].ID ||
			got.Dialogs[0].Remote.Identity != doc.Dialogs[0].Remote.Identity || got.Dialogs[0].Remote.Target != doc.Dialogs[0].Remote.Target {
			t.Errorf("round trip of escaped fields: got %+v %+v", got, got.Dialogs[0].Remote)
		}
	}
}

func TestMarshalInvalid(t *testing.T) {
	ok := func() dialoginfo.Document {
		return dialoginfo.Document{State: dialoginfo.StateFull, Entity: "sip:1@h",
			Dialogs: []dialoginfo.Dialog{{ID: "1", State: dialoginfo.DialogConfirmed}}}
	}
	tests := map[string]func(*dialoginfo.Document){
		"empty document state":   func(d *dialoginfo.Document) { d.State = "" },
		"unknown document state": func(d *dialoginfo.Document) { d.State = "Full" },
		"empty entity":           func(d *dialoginfo.Document) { d.Entity = "" },
		"empty dialog id":        func(d *dialoginfo.Document) { d.Dialogs[0].ID = "" },
		"empty dialog state":     func(d *dialoginfo.Document) { d.Dialogs[0].State = "" },
		"unknown dialog state":   func(d *dialoginfo.Document) { d.Dialogs[0].State = "busy" },
		"unknown direction":      func(d *dialoginfo.Document) { d.Dialogs[0].Direction = "inbound" },
		"negative duration":      func(d *dialoginfo.Document) { d.Dialogs[0].Duration = -1 },
		"code too small":         func(d *dialoginfo.Document) { d.Dialogs[0].Code = 99 },
		"code too large":         func(d *dialoginfo.Document) { d.Dialogs[0].Code = 700 },
		"remote display only": func(d *dialoginfo.Document) {
			d.Dialogs[0].Remote = &dialoginfo.Participant{Display: "Alice"}
		},
		"local display only": func(d *dialoginfo.Document) {
			d.Dialogs[0].Local = &dialoginfo.Participant{Display: "Park", Target: "sip:x@h"}
		},
		"negative orbit": func(d *dialoginfo.Document) { d.Dialogs[0].Park = &dialoginfo.ParkInfo{Orbit: -705} },
		"park time year 10000": func(d *dialoginfo.Document) {
			d.Dialogs[0].Park = &dialoginfo.ParkInfo{ParkedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
		},
		"park time before year 0": func(d *dialoginfo.Document) {
			d.Dialogs[0].Park = &dialoginfo.ParkInfo{ParkedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
		},
		"return time year 10000": func(d *dialoginfo.Document) {
			d.Dialogs[0].Park = &dialoginfo.ParkInfo{ParkedAt: parkedAt, ReturnedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
		},
		"ring-back time year 10000": func(d *dialoginfo.Document) {
			d.Dialogs[0].Ringback = &dialoginfo.Ringback{Target: "sip:c@h", Since: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
		},
		"ring-back time before year 0": func(d *dialoginfo.Document) {
			d.Dialogs[0].Ringback = &dialoginfo.Ringback{Since: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
		},
	}
	if _, err := dialoginfo.Marshal(ok()); err != nil {
		t.Fatalf("Marshal(valid): %v", err)
	}
	for name, mutate := range tests {
		d := ok()
		mutate(&d)
		b, err := dialoginfo.Marshal(d)
		if !errors.Is(err, dialoginfo.ErrInvalid) {
			t.Errorf("%s: Marshal = %q, %v; want ErrInvalid", name, b, err)
			continue
		}
		if b != nil || !strings.HasPrefix(err.Error(), "dialoginfo: marshal: ") {
			t.Errorf("%s: Marshal = %q, %q", name, b, err)
		}
	}
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmarshalSamples(t *testing.T) {
	tests := []struct {
		file     string
		want     dialoginfo.Document
		occupied bool
	}{
		{"asterisk-chansip-free.xml", dialoginfo.Document{Version: 0, State: "full", Entity: "sip:701@192.0.2.10:5060",
			Dialogs: []dialoginfo.Dialog{{ID: "701", State: "terminated"}}}, false},
		{"asterisk-chansip-parked.xml", dialoginfo.Document{Version: 3, State: "full", Entity: "sip:701@pbx",
			Dialogs: []dialoginfo.Dialog{{ID: "701", State: "confirmed"}}}, true},
		{"asterisk-chansip-onhold.xml", dialoginfo.Document{Version: 12, State: "full", Entity: "sip:702@pbx.example.net",
			Dialogs: []dialoginfo.Dialog{{ID: "702", State: "confirmed", Local: &dialoginfo.Participant{Target: "sip:702@pbx.example.net"}}}}, true},
		{"asterisk-chansip-ringing-latin1.xml", dialoginfo.Document{Version: 7, State: "full", Entity: "sip:703@pbx",
			Dialogs: []dialoginfo.Dialog{{ID: "703", Direction: "recipient", State: "early",
				Remote: &dialoginfo.Participant{Identity: "sip:0301234567@pbx", Display: "Jürgen Müller", Target: "sip:0301234567@pbx"},
				Local:  &dialoginfo.Participant{Identity: "sip:703@pbx", Target: "sip:703@pbx"}}}}, true},
		{"asterisk-pjsip-parked.xml", dialoginfo.Document{Version: 1, State: "full", Entity: "sip:704@10.1.2.3",
			Dialogs: []dialoginfo.Dialog{{ID: "704", State: "confirmed"}}}, true},
		{"asterisk-usascii-empty.xml", dialoginfo.Document{Version: 2, State: "full", Entity: "sip:705@pbx"}, false},
		{"prefixed-terminated-event.xml", dialoginfo.Document{Version: 4294967295, State: "partial", Entity: "sip:706@pbx",
			Dialogs: []dialoginfo.Dialog{{ID: "as7d900as8", CallID: "a84b4c76e66710@pc33.example.com", LocalTag: "1928301774",
				RemoteTag: "456887766", Direction: "initiator", State: "terminated", Event: "remote-bye", Code: 486, Duration: 274,
				Remote: &dialoginfo.Participant{Identity: "sip:bob@example.com", Display: `Bob "B" <Sales> & Co`}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := dialoginfo.Unmarshal(readSample(t, tt.file))
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			sameDocument(t, got, tt.want)
			if _, occ := got.Occupied(); occ != tt.occupied {
				t.Errorf("Occupied() = %v, want %v", occ, tt.occupied)
			}
		})
	}
}

const asteriskBrief = `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state></dialog></dialog-info>`

func TestUnmarshalTolerance(t *testing.T) {
	confirmed := dialoginfo.Document{Version: 3, State: "full", Entity: "sip:701@pbx",
		Dialogs: []dialoginfo.Dialog{{ID: "701", State: "confirmed"}}}
	tests := map[string]struct {
		in   string
		want dialoginfo.Document
	}{
		"asterisk, no declaration": {asteriskBrief, confirmed},
		"byte order mark":          {"\xEF\xBB\xBF" + `<?xml version="1.0" encoding="utf-8"?>` + asteriskBrief, confirmed},
		"no namespace": {`<dialog-info version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state></dialog></dialog-info>`,
			confirmed},
		"prefixed root, unprefixed children": {`<d:dialog-info xmlns:d="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state></dialog></d:dialog-info>`,
			confirmed},
		"white space everywhere": {"\n\t <?xml version=\"1.0\"?>\n" + `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info"  version=" 3 " state=" FULL " entity=" sip:701@pbx ">
			<dialog id="701">
				<state>
					Confirmed
				</state>
			</dialog>
		</dialog-info>` + "\n\n", confirmed},
		"comments, CDATA and processing instructions": {`<!-- lamp --><?pi x?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><!-- c --><dialog id="701"><?pi?><state><![CDATA[confirmed]]></state></dialog></dialog-info><!-- end -->`,
			confirmed},
		"unknown elements and attributes": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" xmlns:x="urn:x" x:a="1" foo="bar" version="3" state="full" entity="sip:701@pbx">
			<x:extra><dialog id="999"><state>confirmed</state></dialog></x:extra>
			<dialog id="701" x:y="z" unknown="1">
				<x:state>terminated</x:state>
				<replaces call-id="c" local-tag="l" remote-tag="r"/>
				<referred-by display="R">sip:r@h</referred-by>
				<route-set><hop>sip:p@h</hop></route-set>
				<state x:q="1">confirmed</state>
				<x:park orbit="nope"/>
				<park orbit="nope"/>
				<x:deep><a><b><c/></b></a></x:deep>
			</dialog>
		</dialog-info>`, confirmed},
		"our park extension with another prefix": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state><remote><identity>sip:a@h</identity><identity-extra/></remote><p:park xmlns:p="urn:switchboard:park" orbit=" 701 " parker="sip:c@h" parked-at="2026-03-01T10:30:15.5+01:00" future="x"><p:child/></p:park></dialog></dialog-info>`,
			dialoginfo.Document{Version: 3, State: "full", Entity: "sip:701@pbx",
				Dialogs: []dialoginfo.Dialog{{ID: "701", State: "confirmed", Remote: &dialoginfo.Participant{Identity: "sip:a@h"},
					Park: &dialoginfo.ParkInfo{Orbit: 701, Parker: "sip:c@h", ParkedAt: time.Date(2026, 3, 1, 9, 30, 15, 5e8, time.UTC)}}}}},
		"ring-back extension with another prefix, unknown parts ignored": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state>` +
			`<p:ringback xmlns:p="urn:switchboard:park" xmlns:x="urn:x" target=" sip:c@h " since="2026-03-01T10:32:15+01:00" fallback="1" attempt="2" x:since="garbage"><p:child since="x"/>text</p:ringback>` +
			`<p:ringback-history xmlns:p="urn:switchboard:park" since="never"/><x:ringback xmlns:x="urn:x" since="never"/><ringback since="never"/></dialog></dialog-info>`,
			dialoginfo.Document{Version: 3, State: "full", Entity: "sip:701@pbx",
				Dialogs: []dialoginfo.Dialog{{ID: "701", State: "confirmed",
					Ringback: &dialoginfo.Ringback{Target: "sip:c@h", Since: time.Date(2026, 3, 1, 9, 32, 15, 0, time.UTC), Fallback: true}}}}},
		"ring-back extension before the park extension": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><sb:ringback xmlns:sb="urn:switchboard:park" target="sip:c@h" fallback="false"/><state>confirmed</state><sb:park xmlns:sb="urn:switchboard:park" orbit="701" returned-at="2026-03-01T09:33:00Z" since="ignored"/></dialog></dialog-info>`,
			dialoginfo.Document{Version: 3, State: "full", Entity: "sip:701@pbx",
				Dialogs: []dialoginfo.Dialog{{ID: "701", State: "confirmed",
					Park:     &dialoginfo.ParkInfo{Orbit: 701, ReturnedAt: time.Date(2026, 3, 1, 9, 33, 0, 0, time.UTC)},
					Ringback: &dialoginfo.Ringback{Target: "sip:c@h"}}}}},
		"park extension in default namespace": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state><park xmlns="urn:switchboard:park" orbit="701"/></dialog></dialog-info>`,
			dialoginfo.Document{Version: 3, State: "full", Entity: "sip:701@pbx",
				Dialogs: []dialoginfo.Dialog{{ID: "701", State: "confirmed", Park: &dialoginfo.ParkInfo{Orbit: 701}}}}},
		"identity with child markup and target params": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state><local><identity display="">sip:<x:b xmlns:x="urn:x">ignored</x:b>701@pbx</identity><target uri="sip:701@pbx"><param pname="+sip.rendering" pvalue="no"/></target><session-description type="application/sdp">v=0</session-description></local></dialog></dialog-info>`,
			dialoginfo.Document{Version: 3, State: "full", Entity: "sip:701@pbx",
				Dialogs: []dialoginfo.Dialog{{ID: "701", State: "confirmed", Local: &dialoginfo.Participant{Identity: "sip:701@pbx", Target: "sip:701@pbx"}}}}},
		"missing entity and dialog id": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="partial"><dialog><state>terminated</state></dialog></dialog-info>`,
			dialoginfo.Document{Version: 0, State: "partial", Dialogs: []dialoginfo.Dialog{{State: "terminated"}}}},
		"self-closing root": {`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:701@pbx"/>`,
			dialoginfo.Document{Version: 0, State: "full", Entity: "sip:701@pbx"}},
		"single-quoted attributes and entities": {`<dialog-info xmlns='urn:ietf:params:xml:ns:dialog-info' version='3' state='full' entity='sip:701@pbx'><dialog id='&#55;01'><state>&#x63;onfirmed</state></dialog></dialog-info>`,
			confirmed},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := dialoginfo.Unmarshal([]byte(tt.in))
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			sameDocument(t, got, tt.want)
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	const open = `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:701@pbx">`
	const end = `</dialog-info>`
	tests := []struct {
		name, in string
		syntax   bool // a malformed-XML error, else ErrInvalid
		mention  string
	}{
		{"empty", "", false, "empty document"},
		{"white space only", " \n\t", false, "empty document"},
		{"declaration only", `<?xml version="1.0"?>`, false, "empty document"},
		{"not XML", "SIP/2.0 200 OK", false, "text before the root"},
		{"JSON", `{"state":"full"}`, false, "text before the root"},
		{"truncated", open + `<dialog id="1"><state>confirmed</state>`, true, "malformed XML"},
		{"truncated in tag", open + `<dialog id="1`, true, "malformed XML"},
		{"unclosed root", open, true, "malformed XML"},
		{"mismatched tags", open + `<dialog id="1"><state>confirmed</dialog></state>` + end, true, "malformed XML"},
		{"unknown entity", open + `<dialog id="&nbsp;"><state>confirmed</state></dialog>` + end, true, "malformed XML"},
		{"bare ampersand", `<dialog-info version="1" state="full" entity="sip:a@b?x=1&y=2"/>`, true, "malformed XML"},
		{"illegal character", open + "<dialog id=\"1\"><state>confirmed\x01</state></dialog>" + end, true, "malformed XML"},
		{"invalid UTF-8", open + "<dialog id=\"\xff\"><state>confirmed</state></dialog>" + end, true, "malformed XML"},
		{"malformed in skipped element", open + `<x:y xmlns:x="urn:x"><a></b></x:y>` + end, true, "malformed XML"},
		{"XML 1.1", `<?xml version="1.1"?>` + open + end, true, "malformed XML"},
		{"unsupported charset", `<?xml version="1.0" encoding="EBCDIC-US"?>` + open + end, true, "EBCDIC-US"},
		{"wrong root", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:701@pbx"/>`, false, "root element <presence>"},
		{"wrong root namespace", `<dialog-info xmlns="urn:example:other" version="1" state="full"/>`, false, "root element <dialog-info> in namespace"},
		{"missing version", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" state="full" entity="sip:701@pbx"/>`, false, "no version"},
		{"empty version", `<dialog-info version="" state="full"/>`, false, "version"},
		{"negative version", `<dialog-info version="-1" state="full"/>`, false, "version"},
		{"version overflow", `<dialog-info version="4294967296" state="full"/>`, false, "version"},
		{"version not a number", `<dialog-info version="three" state="full"/>`, false, "version"},
		{"missing state", `<dialog-info version="1" entity="sip:701@pbx"/>`, false, "no state"},
		{"bad state", `<dialog-info version="1" state="complete"/>`, false, "state"},
		{"dialog without state", open + `<dialog id="1"></dialog>` + end, false, "dialog 0: no state"},
		{"bad dialog state", open + `<dialog id="1"><state>busy</state></dialog>` + end, false, "dialog 0: state"},
		{"empty dialog state", open + `<dialog id="1"><state/></dialog>` + end, false, "dialog 0: state"},
		{"bad second dialog", open + `<dialog id="1"><state>confirmed</state></dialog><dialog id="2"><state>on</state></dialog>` + end, false, "dialog 1: state"},
		{"bad code", open + `<dialog id="1"><state code="x">terminated</state></dialog>` + end, false, "code"},
		{"code out of range", open + `<dialog id="1"><state code="99">terminated</state></dialog>` + end, false, "code"},
		{"bad duration", open + `<dialog id="1"><state>confirmed</state><duration>long</duration></dialog>` + end, false, "duration"},
		{"negative duration", open + `<dialog id="1"><state>confirmed</state><duration>-5</duration></dialog>` + end, false, "duration"},
		{"bad orbit", open + `<dialog id="1"><state>confirmed</state><sb:park xmlns:sb="urn:switchboard:park" orbit="seven"/></dialog>` + end, false, "orbit"},
		{"bad parked-at", open + `<dialog id="1"><state>confirmed</state><sb:park xmlns:sb="urn:switchboard:park" parked-at="yesterday"/></dialog>` + end, false, "parked-at"},
		{"bad returned-at", open + `<dialog id="1"><state>confirmed</state><sb:park xmlns:sb="urn:switchboard:park" returned-at="later"/></dialog>` + end, false, "returned-at"},
		{"bad ringback since", open + `<dialog id="1"><state>confirmed</state><sb:ringback xmlns:sb="urn:switchboard:park" target="sip:c@h" since="now"/></dialog>` + end, false, "ringback since"},
		{"bad ringback fallback", open + `<dialog id="1"><state>confirmed</state><sb:ringback xmlns:sb="urn:switchboard:park" fallback="maybe"/></dialog>` + end, false, "ringback fallback"},
		{"text after root", open + end + "junk", false, "after the root"},
		{"second root", open + end + open + end, false, "after the root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := dialoginfo.Unmarshal([]byte(tt.in))
			if err == nil {
				t.Fatalf("Unmarshal succeeded: %+v", doc)
			}
			if !reflect.DeepEqual(doc, dialoginfo.Document{}) {
				t.Errorf("Unmarshal returned a document with the error: %+v", doc)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "dialoginfo: unmarshal: ") || !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q: want prefix %q and mention of %q", msg, "dialoginfo: unmarshal: ", tt.mention)
			}
			if invalid := errors.Is(err, dialoginfo.ErrInvalid); invalid == tt.syntax {
				t.Errorf("error %q: errors.Is(ErrInvalid) = %v, want %v", msg, invalid, !tt.syntax)
			}
			var se *xml.SyntaxError
			if tt.syntax && !errors.As(err, &se) && !strings.Contains(msg, "charset") && !strings.Contains(msg, "version") {
				t.Errorf("error %q does not wrap *xml.SyntaxError", msg)
			}
		})
	}
}

func TestCharsets(t *testing.T) {
	body := func(enc string, display []byte) []byte {
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="` + enc + `"?>` + "\n")
		b.WriteString(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:701@pbx"><dialog id="701"><state>confirmed</state><remote><identity display="`)
		b.Write(display)
		b.WriteString(`">sip:a@pbx</identity></remote></dialog></dialog-info>`)
		return b.Bytes()
	}
	// Long enough to cross the converter's buffer, with a Latin-1 byte at
	// the boundary.
	long := bytes.Repeat([]byte("x"), 600)
	long[511] = 0xE9
	tests := []struct {
		enc     string
		display []byte
		want    string
	}{
		{"ISO-8859-1", []byte("Fran\xe7ois \xabBoss\xbb \xff"), "François «Boss» ÿ"},
		{"iso-8859-1", []byte("plain"), "plain"},
		{"latin1", []byte("Ren\xe9e"), "Renée"},
		{"US-ASCII", []byte("Alice &amp; Bob &#xE9;"), "Alice & Bob é"},
		{"us-ascii", []byte("bad \xe9"), "bad \uFFFD"},
		{"UTF-8", []byte("Ren\xc3\xa9e"), "Renée"},
		{"utf-8", []byte("Ren\xc3\xa9e"), "Renée"},
		{"ISO-8859-1", long, strings.Repeat("x", 511) + "é" + strings.Repeat("x", 88)},
	}
	for _, tt := range tests {
		got, err := dialoginfo.Unmarshal(body(tt.enc, tt.display))
		if err != nil {
			t.Errorf("%s %q: %v", tt.enc, tt.display, err)
			continue
		}
		if d := got.Dialogs[0].Remote.Display; d != tt.want {
			t.Errorf("%s %q: display %q, want %q", tt.enc, tt.display, d, tt.want)
		}
	}
}

func TestOccupied(t *testing.T) {
	caller := dialoginfo.Dialog{ID: "b", State: dialoginfo.DialogConfirmed, Remote: &dialoginfo.Participant{Identity: "sip:a@h"}}
	tests := []struct {
		name string
		doc  dialoginfo.Document
		want dialoginfo.Dialog
		ok   bool
	}{
		{"no dialog", dialoginfo.Document{}, dialoginfo.Dialog{}, false},
		{"terminated", dialoginfo.Document{Dialogs: []dialoginfo.Dialog{{ID: "a", State: dialoginfo.DialogTerminated}}}, dialoginfo.Dialog{}, false},
		{"all terminated", dialoginfo.Document{Dialogs: []dialoginfo.Dialog{
			{ID: "a", State: dialoginfo.DialogTerminated}, {ID: "b", State: dialoginfo.DialogTerminated, Event: "remote-bye"}}}, dialoginfo.Dialog{}, false},
		{"confirmed", dialoginfo.Document{Dialogs: []dialoginfo.Dialog{caller}}, caller, true},
		{"terminated then confirmed", dialoginfo.Document{Dialogs: []dialoginfo.Dialog{{ID: "a", State: dialoginfo.DialogTerminated}, caller}}, caller, true},
		{"first of two", dialoginfo.Document{Dialogs: []dialoginfo.Dialog{caller, {ID: "c", State: dialoginfo.DialogEarly}}}, caller, true},
		{"early", dialoginfo.Document{Dialogs: []dialoginfo.Dialog{{ID: "e", State: dialoginfo.DialogEarly}}}, dialoginfo.Dialog{ID: "e", State: dialoginfo.DialogEarly}, true},
		{"trying", dialoginfo.Document{Dialogs: []dialoginfo.Dialog{{ID: "t", State: dialoginfo.DialogTrying}}}, dialoginfo.Dialog{ID: "t", State: dialoginfo.DialogTrying}, true},
	}
	for _, tt := range tests {
		got, ok := tt.doc.Occupied()
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Occupied() = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	// Asterisk's lamps, end to end.
	for file, want := range map[string]bool{"asterisk-chansip-free.xml": false, "asterisk-chansip-parked.xml": true} {
		doc, err := dialoginfo.Unmarshal(readSample(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := doc.Occupied(); ok != want || ok && d.ID != "701" {
			t.Errorf("%s: Occupied() = %+v, %v; want %v", file, d, ok, want)
		}
	}
}

func TestConstants(t *testing.T) {
	if dialoginfo.ContentType != "application/dialog-info+xml" || dialoginfo.EventName != "dialog" {
		t.Errorf("ContentType %q, EventName %q", dialoginfo.ContentType, dialoginfo.EventName)
	}
}

func BenchmarkMarshal(b *testing.B) {
	for _, name := range []string{"free orbit, no dialog", "occupied orbit"} {
		doc := shapes[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dialoginfo.Marshal(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data, err := dialoginfo.Marshal(shapes["occupied orbit"])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dialoginfo.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}
