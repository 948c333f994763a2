package siptest

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/needpeer"
	"github.com/switchboard/switchboard/telephony/park"
)

// StartPark runs a park service in the process. Zero options get test
// defaults: a free loopback port, the bundled music on hold, a park time
// of an hour (nothing rings back unless a test asks) and no logs. It
// stops at the end of the test.
func StartPark(t testing.TB, opts park.Options) *park.Service {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Music == nil {
		opts.Music = assets.MusicOnHold()
	}
	if opts.ParkTime == 0 {
		opts.ParkTime = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := park.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// NeedPeer returns the path of the real peer program bin (baresip,
// kamailio). Without it the test is skipped, except in CI (CI=true), where
// the interop tests must run: .ci/run installs them.
// The skip message names the Debian package to install (needpeer).
func NeedPeer(t testing.TB, bin string) string {
	t.Helper()
	return needpeer.Program(t, bin)
}

// StartBaresip runs Debian's baresip as a peer (skipped without it, see
// NeedPeer) in a temporary directory unless opts.Dir is set. It is stopped
// and reaped at the end of the test; its events, SIP trace and log are
// printed if the test failed.
func StartBaresip(t testing.TB, opts baresip.Options) *baresip.Baresip {
	t.Helper()
	NeedPeer(t, "baresip")
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	opts.SIPTrace = true // only shown when the test fails
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	b, err := baresip.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			var evs []string
			for _, e := range b.Events() {
				evs = append(evs, e.Raw)
			}
			t.Logf("baresip events:\n%s\nbaresip log:\n%s", strings.Join(evs, "\n"), b.Log())
		}
	})
	return b
}
