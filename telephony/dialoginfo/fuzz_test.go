package dialoginfo_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// FuzzUnmarshal checks that Unmarshal never panics, and that whatever it
// accepts and Marshal can encode decodes again to the same document.
func FuzzUnmarshal(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, doc := range shapes {
		b, err := dialoginfo.Marshal(doc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		asteriskBrief,
		`<dialog-info version="1" state="partial"><dialog><state event="x" code="200">early</state><duration>1</duration></dialog></dialog-info>`,
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="e"><dialog id="1"><state>confirmed</state><sb:park xmlns:sb="urn:switchboard:park" orbit="1" parked-at="2026-01-01T00:00:00.5-23:59"/></dialog></dialog-info>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><dialog-info version="1" state="full"><dialog id="` + "\xe9" + `"><state>trying</state><local><identity display="` + "\xff" + `">u</identity></local></dialog></dialog-info>`,
		`<dialog-info version="1" state="full"><dialog id="1"><state>confirmed</state><remote><identity>a<b/>c</identity><target uri="t"><param/></target></remote></dialog></dialog-info>`,
		`<dialog-info version="1" state="full"><dialog id="1"><state>confirmed</dialog></dialog-info>`,
		`<a:dialog-info xmlns:a="urn:ietf:params:xml:ns:dialog-info" version="0" state="full"/><x/>`,
		"<dialog-info version=\"1\" state=\"full\">\x00</dialog-info>",
		`<dialog-info version="1" state="full" entity="e"><dialog id="1"><state>confirmed</state><sb:park xmlns:sb="urn:switchboard:park" returned-at="2026-01-01T00:00:00.25+05:00"/><sb:ringback xmlns:sb="urn:switchboard:park" target="sip:c@h" since="2026-01-01T00:00:01.5Z" fallback="T"/></dialog></dialog-info>`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := dialoginfo.Unmarshal(data)
		if err != nil {
			if !reflect.DeepEqual(doc, dialoginfo.Document{}) {
				t.Fatalf("error %v with a non-empty document", err)
			}
			return
		}
		if doc.State != dialoginfo.StateFull && doc.State != dialoginfo.StatePartial {
			t.Fatalf("accepted document state %q", doc.State)
		}
		for _, dl := range doc.Dialogs {
			switch dl.State {
			case dialoginfo.DialogTrying, dialoginfo.DialogProceeding, dialoginfo.DialogEarly,
				dialoginfo.DialogConfirmed, dialoginfo.DialogTerminated:
			default:
				t.Fatalf("accepted dialog state %q", dl.State)
			}
		}
		doc.Occupied()

		out, err := dialoginfo.Marshal(doc)
		if err != nil {
			return // e.g. an empty entity or id, or an unknown direction
		}
		again, err := dialoginfo.Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(doc)): %v\n%s", err, out)
		}
		// Marshal writes times to the second.
		sameSecond := func(what string, p, q *time.Time) {
			if p.Unix() != q.Unix() || p.IsZero() != q.IsZero() {
				t.Fatalf("%s %v round trips to %v", what, *p, *q)
			}
			*p = *q
		}
		for i := range doc.Dialogs {
			if p, q := doc.Dialogs[i].Park, again.Dialogs[i].Park; p != nil && q != nil {
				pc := *p
				sameSecond("park time", &pc.ParkedAt, &q.ParkedAt)
				sameSecond("return time", &pc.ReturnedAt, &q.ReturnedAt)
				doc.Dialogs[i].Park = &pc
			}
			if p, q := doc.Dialogs[i].Ringback, again.Dialogs[i].Ringback; p != nil && q != nil {
				pc := *p
				sameSecond("ring-back time", &pc.Since, &q.Since)
				doc.Dialogs[i].Ringback = &pc
			}
		}
		if !reflect.DeepEqual(doc, again) {
			t.Fatalf("round trip changed the document\n got: %s\nwant: %s\n%s", dump(again), dump(doc), out)
		}
	})
}
