package main

import "github.com/switchboard/switchboard/telephony/sip"

// accountSRTP is the user agent's SRTP mode for Settings.SRTP, which
// Settings.Validate has checked (anything else is off).
func accountSRTP(s string) sip.SRTPMode {
	m, err := sip.ParseSRTPMode(s)
	if err != nil {
		return sip.SRTPOff
	}
	return m
}
