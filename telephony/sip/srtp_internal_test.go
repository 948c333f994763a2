package sip

import (
	"strings"
	"testing"
)

// TestSDESKeyed: only an audio stream's a=crypto of the suite diago keys,
// with a 30-byte key, counts as SRTP offered.
func TestSDESKeyed(t *testing.T) {
	const key = "inline:oqupyikVuowQvo3mTwLx6MVoLfl03/o8wLs3FNLi"
	sdp := func(m string, attrs ...string) []byte {
		return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + m + "\r\n" + strings.Join(attrs, "\r\n") + "\r\n")
	}
	for _, tc := range []struct {
		name string
		body []byte
		want bool
	}{
		{"SAVP with a key", sdp("m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+key), true},
		{"AVP with a key (best effort)", sdp("m=audio 4000 RTP/AVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+key), true},
		{"key with a lifetime", sdp("m=audio 4000 RTP/SAVP 0", "a=crypto:2 AES_CM_128_HMAC_SHA1_80 "+key+"|2^20"), true},
		{"plain", sdp("m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"), false},
		{"another suite", sdp("m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_32 "+key), false},
		{"short key", sdp("m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA"), false},
		{"disabled stream", sdp("m=audio 0 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+key), false},
		{"video's key", sdp("m=video 4002 RTP/SAVP 96", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+key), false},
		{"no SDP", nil, false},
	} {
		if got := sdesKeyed(tc.body); got != tc.want {
			t.Errorf("%s: sdesKeyed = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSRTPModeValidation: the modes parse by name, and SRTP needs a TLS
// account.
func TestSRTPModeValidation(t *testing.T) {
	for in, want := range map[string]SRTPMode{"": SRTPOff, "off": SRTPOff, "Offered": SRTPOffered, "required": SRTPRequired} {
		if got, err := ParseSRTPMode(in); err != nil || got != want {
			t.Errorf("ParseSRTPMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSRTPMode("sdes"); err == nil {
		t.Error("ParseSRTPMode(sdes) took it")
	}
	plain := Account{AOR: "sip:r@pbx.example", SRTP: SRTPOffered}
	if err := plain.validate(); err != nil {
		t.Fatal(err)
	}
	if err := plain.validateSRTP(); err == nil || !strings.Contains(err.Error(), "needs a TLS account") {
		t.Fatalf("SRTP on a UDP account: %v", err)
	}
	tlsAcc := Account{AOR: "sips:r@pbx.example", SRTP: SRTPRequired}
	if err := tlsAcc.validate(); err != nil {
		t.Fatal(err)
	}
	if err := tlsAcc.validateSRTP(); err != nil {
		t.Fatalf("SRTP on a TLS account: %v", err)
	}
	if tlsAcc.mediaSRTP("tls") != 1 || tlsAcc.mediaSRTP("udp") != 0 {
		t.Fatal("SRTP must be on the TLS transport only")
	}
	bad := Account{AOR: "sips:r@pbx.example", SRTP: 7}
	_ = bad.validate()
	if err := bad.validateSRTP(); err == nil {
		t.Fatal("SRTP mode 7 taken")
	}
}
