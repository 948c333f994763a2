package dialoginfo_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

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
		// Marshal writes park times to the second.
		for i := range doc.Dialogs {
			p, q := doc.Dialogs[i].Park, again.Dialogs[i].Park
			if p == nil || q == nil {
				continue
			}
			if p.ParkedAt.Unix() != q.ParkedAt.Unix() || p.ParkedAt.IsZero() != q.ParkedAt.IsZero() {
				t.Fatalf("park time %v round trips to %v", p.ParkedAt, q.ParkedAt)
			}
			pc, qc := *p, *q
			pc.ParkedAt = qc.ParkedAt
			doc.Dialogs[i].Park, again.Dialogs[i].Park = &pc, &qc
		}
		if !reflect.DeepEqual(doc, again) {
			t.Fatalf("round trip changed the document\n got: %s\nwant: %s\n%s", dump(again), dump(doc), out)
		}
	})
}
