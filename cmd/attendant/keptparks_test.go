package main

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/sip"
	"github.com/switchboard/switchboard/telephony/sip/keptparks"
)

// TestConsoleKeepsItsParkTokens: the console parks Alice on 701 and Bob
// on 702 and closes; it keeps what it parked in -state-dir. Before it
// opens again, Bob's kept token is made wrong in the file (as a stand-in
// for a token that is not the one on the orbit). After the reopen the
// console's retrieves send the kept tokens: Alice's is right and the
// console gets her (tones both ways), Bob's is refused by the park
// service (token mismatch) and Bob stays parked: the retrieve was a safe
// one, with the token from the file. Before, a reopened console sent the
// plain retrieve and got Bob. Both with the built-in park service and
// with a separate one (a park.Service, as parkd runs it) (issue 15).
func TestConsoleKeepsItsParkTokens(t *testing.T) {
	for _, mode := range []string{"embedded", "separate"} {
		t.Run(mode, func(t *testing.T) {
			addrs := freeAddrs(t, 2)
			listen, parkAddr := addrs[0], addrs[1]
			dir := t.TempDir()
			args := []string{"-listen", listen, "-state-dir", dir, "-audio", "none"}
			var svc *park.Service
			if mode == "embedded" {
				args = append(args, "-park-listen", parkAddr)
			} else {
				music := make([]int16, 2*siptest.Rate)
				tone.Sine(musicFreq, siptest.Rate, 0.3).Fill(music)
				svc = siptest.StartPark(t, park.Options{Listen: parkAddr, Orbits: telephony.Lot{First: 701, Last: 720}, Music: music,
					Logger: siptest.Logger("ATTENDANT_TEST_LOG", "parkd")})
				args = append(args, "-park", parkAddr)
			}
			r := openPhone(t, args...)
			alice, bob := newCaller(t, "alice"), newCaller(t, "bob")
			_, aliceM := alice.callAndPark(t, r, 701, aliceFreq)
			_, bobM := bob.callAndPark(t, r, 702, bobFreq)
			// The lamp lights before the console has taken the park
			// for confirmed (and kept it): closing in between would
			// keep it not. Wait for both kept.
			if !poll(func() bool { return len(keptIn(t, dir, listen, parkAddr)) == 2 }) {
				t.Fatalf("kept %+v; want two parks", keptIn(t, dir, listen, parkAddr))
			}
			r.close()

			// Bob's kept token is made wrong.
			kp, err := keptparks.Open(dir, "sip:console@"+listen, "sip:{orbit}@"+parkAddr)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
			defer cancel()
			kept, err := kp.Parks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(kept) != 2 || kept[0].Orbit != 701 || kept[1].Orbit != 702 || kept[0].CallerName != "Alice" || kept[0].Token == "" {
				t.Fatalf("kept %+v; want Alice on 701 and Bob on 702 with their tokens", kept)
			}
			kept[1].Token = "wrong" + kept[1].Token
			if err := kp.Keep(ctx, kept); err != nil {
				t.Fatal(err)
			}
			if err := kp.Close(); err != nil {
				t.Fatal(err)
			}

			r = openPhone(t, args...)
			r.waitOrbit(t, 701, "lit with Alice again", func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == "Alice" })
			r.waitOrbit(t, 702, "lit with Bob again", func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == "Bob" })
			id, err := r.sys.phone.Retrieve(ctx, 702)
			if err != nil {
				t.Fatal(err)
			}
			// The phone forgets an ended call: refused is gone without
			// ever being live, Bob still on 702.
			var last *telephony.Call
			if !poll(func() bool {
				last = nil
				for _, c := range r.sys.phone.Calls() {
					if c.ID == id {
						last = &c
					}
				}
				return last == nil || last.State == telephony.StateActive
			}) {
				t.Fatalf("the retrieve of 702 never ended: %+v", last)
			}
			if last != nil {
				t.Fatalf("the retrieve of 702 with a wrong kept token got through: %+v", *last)
			}
			r.waitOrbit(t, 702, "still lit with Bob", func(o telephony.Orbit) bool { return o.Occupied && o.CallerName == "Bob" })
			bobM.WaitTone(t, "Bob still hears the music", musicFreq)
			if svc != nil {
				if st, _ := svc.Orbit(702); !st.Occupied || st.CallerName != "Bob" {
					t.Errorf("Bob is no longer parked: %+v", st)
				}
			}

			id, err = r.sys.phone.Retrieve(ctx, 701)
			if err != nil {
				t.Fatal(err)
			}
			r.waitCall(t, "Alice retrieved", func(c telephony.Call) bool { return c.ID == id && c.State == telephony.StateActive })
			aliceM.WaitTone(t, "Alice hears the console", consoleFreq)
			r.dev.WaitTone(t, "the console hears Alice", aliceFreq)
			if !poll(func() bool { return len(keptIn(t, dir, listen, parkAddr)) == 0 }) {
				t.Error("the parks that ended are still kept")
			}
		})
	}
}

// keptIn reads the parks the console on listen keeps in dir for the
// park service at parkAddr.
func keptIn(t *testing.T, dir, listen, parkAddr string) []sip.KeptPark {
	t.Helper()
	kp, err := keptparks.Open(dir, "sip:console@"+listen, "sip:{orbit}@"+parkAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	k, err := kp.Parks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
