//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// printReport writes the machine, the command and the tables in markdown.
func printReport(w io.Writer, cfg config, results []*result) {
	fmt.Fprintf(w, "Machine: %s\n\n", machine())
	fmt.Fprintf(w, "Command: `parkload %s`\n\n", joinArgs())
	callerMedia := "callers send 20 ms PCMU"
	if !cfg.send {
		callerMedia = "callers send no RTP"
	}
	fmt.Fprintf(w, "Parks at %.0f/s, settle %v, window %v, %d retrieved per level, %s.\n\n",
		cfg.rate, cfg.settle, cfg.window, cfg.retrieve, callerMedia)
	fmt.Fprintln(w, "| N parked | service CPU (% of one core) | service RSS / HWM (MB) | music spacing p50 / p99 (ms) | park INVITE→200 p50 / p99 (ms) | retrieve INVITE→200 p50 / p99 (ms) | retrieve→two-way audio p50 (ms) | 200→first music p50 / p99 (ms) | load generator CPU (% of one core) |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		fmt.Fprintln(w, r.row())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| N | service CPU per music packet received (µs) | service context switches per second | service's pinned CPUs busy, softirq included (% of one core) | machine softirq / steal / idle (% of one core) | other processes (% of one core) | parked / failed | INVITE retransmissions | duplicate 200s | re-INVITEs answered | music packets in window (of those due) | spacing p99.9 / max (ms) | intervals > 22 ms | music loss | callers without music | retrieved / failed | retrieved without audio (of them, the generator's caller socket backlogged) | BYE failures | ramp | parkd WARN/ERROR lines |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		fmt.Fprintln(w, r.detailRow())
	}
}

// machine describes the host: cores, CPU model, kernel and Go version.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d cores (nproc), %s, %s, %s %s/%s", runtime.NumCPU(), model, kernel, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// printFloodReport writes the machine, the command and the flood tables
// in markdown.
func printFloodReport(w io.Writer, cfg config, results []*floodResult) {
	fmt.Fprintf(w, "Machine: %s\n\n", machine())
	fmt.Fprintf(w, "Command: `parkload %s`\n\n", joinArgs())
	lot := cfg.orbits
	if lot == "" {
		lot = "parkd's default"
	}
	fmt.Fprintf(w, "Each flood: %.0f datagrams/s for %v from %d source address(es) on 127.0.0.2 and up, against a fresh parkd (lot %s); "+
		"a legitimate caller on 127.0.0.1 parks %.0f times a second and hangs up after %v, %v alone before the flood, "+
		"through it, and through a %v settle after it (the \"after\" readings end the settle).\n\n",
		cfg.floodRate, cfg.floodFor, cfg.floodSources, lot, cfg.legitRate, cfg.legitHold, cfg.floodBaseline, cfg.floodSettle)
	fmt.Fprintln(w, "| flood | sent | distinct INVITEs answered, by first final status | X-Park-Reason of those | unanswered | responses, retransmissions and 1xx included | requests from parkd | datagrams to the flood's SDP address | parkd CPU before / during / after (% of one core) | generator CPU during | other processes during | parkd VmRSS before / peak during / VmHWM / after (MB) | parkd fds before → after / threads before → after | parkd WARN+ERROR lines / log size | parkd answers OPTIONS after |")
	fmt.Fprintln(w, "| --- | ---: | --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range results {
		fmt.Fprintln(w, r.floodRow())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| flood | legit parks before: parked/tried · INVITE→200 p50 / p99 / max (ms) | during the flood | after it (the settle) | refused before | refused during | refused after | parked without music within the hold | distinct orbits it got during the flood |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | --- | --- | --- | ---: | --- |")
	for _, r := range results {
		fmt.Fprintln(w, r.legitRow())
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| flood | parkd VmRSS every %v of the settle, from the flood's end (MB) | at the end (MB) |\n", settleStep)
	fmt.Fprintln(w, "| --- | --- | ---: |")
	for _, r := range results {
		fmt.Fprintln(w, r.settleRow())
	}
}
