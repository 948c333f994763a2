package dialoginfo_test

import (
	"fmt"
	"time"

	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

func ExampleMarshal() {
	b, err := dialoginfo.Marshal(dialoginfo.Document{
		Version: 1,
		State:   dialoginfo.StateFull,
		Entity:  "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID:        "705",
			Direction: dialoginfo.DirectionRecipient,
			State:     dialoginfo.DialogConfirmed,
			Remote:    &dialoginfo.Participant{Identity: "sip:alice@example.com", Display: "Zoë"},
			Park: &dialoginfo.ParkInfo{
				Orbit:    705,
				Parker:   "sip:console@example.com",
				ParkedAt: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
			},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// <?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:705@park.example"><dialog id="705" direction="recipient"><state>confirmed</state><remote><identity display="Zo&#xEB;">sip:alice@example.com</identity></remote><sb:park xmlns:sb="urn:switchboard:park" orbit="705" parker="sip:console@example.com" parked-at="2026-03-01T09:30:00Z"/></dialog></dialog-info>
}

func ExampleUnmarshal() {
	// An Asterisk park-slot lamp: no caller identity, ever.
	body := []byte(`<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@pbx">
<dialog id="701">
<state>confirmed</state>
</dialog>
</dialog-info>
`)
	doc, err := dialoginfo.Unmarshal(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	dl, occupied := doc.Occupied()
	fmt.Println(doc.Version, doc.State, doc.Entity, occupied, dl.ID, dl.Remote == nil)
	// Output:
	// 3 full sip:701@pbx true 701 true
}
