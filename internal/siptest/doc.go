// Package siptest is the loopback SIP test harness shared by the tests of
// telephony/park, telephony/sip, cmd/parkd and app: diago user agents on
// loopback ports that are ready when returned, tone media on their calls
// (a sine sender and a recorder checked with internal/tone's Goertzel
// detector), a tone-playing stand-in for a console's sound device, an
// in-process park service, Debian's baresip as a peer, and a log that tests
// wait on.
//
// It is imported only by tests (_test.go files); no program links it. Its
// waits end on an event (something arriving, something logged), except
// WaitListening (internal/sipready's poll), for which sipgo has no event;
// their deadline, WaitFor, only
// stops a hung test and is generous because the tests run under -race on
// loaded machines.
package siptest
