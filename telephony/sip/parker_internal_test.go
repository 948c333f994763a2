package sip

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestAddParker(t *testing.T) {
	for _, tc := range []struct{ aor, want string }{
		{"sip:desk@127.0.0.1:5060", "parker-user=desk;parker-host=127.0.0.1:5060"},
		{"sip:reception@pbx.example", "parker-user=reception;parker-host=pbx.example"},
		{"sip:front%20desk@h", "parker=front%2520desk%40h"},
	} {
		var u sip.Uri
		if err := sip.ParseUri(tc.aor, &u); err != nil {
			t.Fatal(err)
		}
		params := sip.NewParams()
		addParker(&params, u)
		var b strings.Builder
		params.ToStringWrite(';', &b)
		if b.String() != tc.want {
			t.Errorf("addParker(%s) = %q, want %q", tc.aor, b.String(), tc.want)
		}
	}
}

func TestCandidateWords(t *testing.T) {
	for _, tc := range []struct {
		cands []int
		want  string
	}{
		{[]int{702}, "parked, probably on 702"},
		{[]int{701, 702}, "parked, on 701 or 702"},
		{[]int{701, 702, 705}, "parked, on 701, 702 or 705"},
	} {
		if got := candidateWords(tc.cands); got != tc.want {
			t.Errorf("candidateWords(%v) = %q, want %q", tc.cands, got, tc.want)
		}
	}
}
