//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
)

// pinThread pins the calling OS thread to cpus.
func pinThread(cpus []int) error {
	var set [16]uint64
	for _, c := range cpus {
		set[c/64] |= 1 << (c % 64)
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(set), uintptr(unsafe.Pointer(&set)))
	if errno != 0 {
		return errno
	}
	return nil
}

// calibrate measures this machine's floor for the service's music path:
// one UDP socket sending a 172-byte RTP packet to each of N loopback
// sockets every 20 ms with sendmmsg batches of 64 (golang.org/x/net/ipv4,
// as telephony/park does), from one OS thread, while the receiving
// sockets are drained as the callers' are. The sending thread's CPU
// (RUSAGE_THREAD) over the window is the least any service sending that
// music through the kernel can spend here; on loopback it includes the
// kernel's delivery of every packet to its receiving socket, part of
// which the kernel books as softirq time rather than the thread's. With
// -service-cpus the sending thread is pinned there and those CPUs' busy
// time (softirq included) is the all-in cost; pin the rest with -cpus.
func calibrate(cfg config) error {
	fmt.Printf("Machine: %s\n\n", machine())
	fmt.Printf("Command: `parkload %s`\n\n", joinArgs())
	fmt.Println("| N sockets | packets/s | sending thread CPU (% of one core) | µs per packet | machine softirq (% of one core) | sending thread's pinned CPUs busy (% of one core) | µs per packet, all in |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, n := range cfg.levels {
		pps, cpu, sys, err := calibrateLevel(cfg, n)
		if err != nil {
			return fmt.Errorf("calibrate N=%d: %w", n, err)
		}
		busy, allIn := "n/a", "n/a"
		if len(sys.pinned) > 0 {
			b := 0.0
			for _, c := range sys.pinned {
				b += sys.busyOf[c]
			}
			busy, allIn = pct(b), fmt.Sprintf("%.2f", b/100/pps*1e6)
		}
		fmt.Printf("| %d | %.0f | %.1f %% | %.2f | %.1f %% | %s | %s |\n", n, pps, cpu, cpu/100/pps*1e6, sys.softirq, busy, allIn)
	}
	return nil
}

func calibrateLevel(cfg config, n int) (pps, cpu float64, sys sysUsage, err error) {
	med, err := newMedia(cfg.readers, cfg.poll)
	if err != nil {
		return 0, 0, sys, err
	}
	defer med.close()
	addrs := make([]*net.UDPAddr, n)
	for i := range addrs {
		s, err := med.open(roleCaller)
		if err != nil {
			return 0, 0, sys, err
		}
		addrs[i] = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.port}
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, 0, sys, err
	}
	defer conn.Close()
	_ = conn.SetWriteBuffer(8 << 20)
	pc := ipv4.NewPacketConn(conn)
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	pkt := make([]byte, rtpHeaderLen+frameSamples)
	pkt[0] = 0x80
	for i := range msgs {
		msgs[i].Buffers = [][]byte{pkt}
	}

	type out struct {
		pps, cpu float64
		sys      sysUsage
	}
	done := make(chan out)
	progress("calibrating N=%d for %v", n, cfg.settle+cfg.window)
	senderCPUs, _ := cpuList(cfg.svcCPUs)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if len(senderCPUs) > 0 {
			if err := pinThread(senderCPUs); err != nil {
				progress("pinning the sending thread: %v", err)
			}
		}
		var r0, r1 syscall.Rusage
		var sysM sysMeter
		sent := 0
		var t0 time.Time
		start := time.Now()
		next := start
		for tick := 0; time.Since(start) < cfg.settle+cfg.window; tick++ {
			if t0.IsZero() && time.Since(start) >= cfg.settle {
				t0 = time.Now()
				_ = syscall.Getrusage(1, &r0) // RUSAGE_THREAD
				sysM = startSys()
				sent = 0
			}
			binaryPutSeq(pkt, tick)
			for i := 0; i < len(addrs); i += batch {
				m := msgs[:min(batch, len(addrs)-i)]
				for k := range m {
					m[k].Addr = addrs[i+k]
				}
				for len(m) > 0 {
					w, err := pc.WriteBatch(m, 0)
					if err != nil && w <= 0 {
						w = 1
					}
					m = m[w:]
				}
			}
			sent += len(addrs)
			next = next.Add(framePeriod)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		}
		_ = syscall.Getrusage(1, &r1)
		su := sysM.usage()
		su.pinned = senderCPUs
		el := time.Since(t0).Seconds()
		used := float64(r1.Utime.Nano()+r1.Stime.Nano()-r0.Utime.Nano()-r0.Stime.Nano()) / 1e9
		done <- out{float64(sent) / el, 100 * used / el, su}
	}()
	o := <-done
	return o.pps, o.cpu, o.sys, nil
}

// binaryPutSeq stamps a sequence number so the packets look like a stream.
func binaryPutSeq(pkt []byte, seq int) {
	pkt[2], pkt[3] = byte(seq>>8), byte(seq)
}

// joinArgs is the command line as given, for the report.
func joinArgs() string {
	s := ""
	for i, a := range os.Args[1:] {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
