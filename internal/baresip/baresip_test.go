package baresip_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/needpeer"
)

func need(t *testing.T) {
	t.Helper()
	needpeer.Program(t, "baresip")
}

func TestStartCommandStop(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := baresip.Start(ctx, baresip.Options{Dir: t.TempDir(), Display: "Bare Sip"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	if !strings.HasPrefix(b.AOR, "sip:baresip@127.0.0.1:") {
		t.Fatalf("AOR = %q", b.AOR)
	}
	help, err := b.Command(ctx, "help", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(help, "/dial") {
		t.Fatalf("help does not list /dial: %q", help)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if !b.Exited() {
		t.Fatal("baresip still runs after Stop")
	}
	if _, err := b.Command(ctx, "help", ""); err == nil {
		t.Fatal("command after Stop succeeded")
	}
}

// TestExtraConfigLoadsModule: lines in Options.ExtraConfig reach the
// config file after Start's own, and baresip loads the module they name.
func TestExtraConfigLoadsModule(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b, err := baresip.Start(ctx, baresip.Options{Dir: dir, ExtraConfig: []string{"module\tsrtp.so"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	config, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(config), "\nmodule\tsrtp.so\n") {
		t.Fatalf("config does not end with the extra line:\n%s", config)
	}
	// srtp registers its media encryptions as it loads, before the
	// control socket that Start waits for.
	if log := b.Log(); !strings.Contains(log, "mediaenc: srtp-mand") {
		t.Fatalf("baresip did not load srtp; its log:\n%s", log)
	}
}
