package main

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// the command name may hold spaces and parentheses
	line := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1200 0 0 0 150 25 7 3 20 0 " +
		"9 0 1234 1000000 500 18446744073709551615\n"
	own, children, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if own != 175 || children != 10 {
		t.Errorf("got %d and %d ticks, want 175 and 10", own, children)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2",
		"4242 (x) S 1 2 3 4 5 6 7 8 9 10 x 0 0 0 20"} {
		if n, _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q): got %d, want an error", bad, n)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	text := "cpu  100 5 50 800 20 1 4 10 0 0\ncpu0 50 2 25 400 10 0 2 5 0 0\n"
	busy, total, err := parseProcStat(text)
	if err != nil {
		t.Fatal(err)
	}
	if busy != 170 || total != 990 {
		t.Errorf("got busy %d of %d, want 170 of 990", busy, total)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3 x 5 6 7 8\n"} {
		if _, _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q): got no error", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tgateway\nVmPeak:\t 1300000 kB\nVmHWM:\t   30000 kB\n" +
		"VmRSS:\t   20000 kB\nThreads:\t7\n"
	got, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := (memInfo{rss: 20000 << 10, peak: 30000 << 10}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "VmRSS:\t 12 kB\n", "VmRSS:\t x kB\nVmHWM:\t 1 kB\n",
		"VmRSS:\t 12 MB\nVmHWM:\t 1 kB\n"} {
		if m, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q): got %+v, want an error", bad, m)
		}
	}
}

// TestProcSelf reads this test process's own /proc files.
func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	cpu0, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	// spin until the kernel has counted at least a tick more
	deadline := time.Now().Add(5 * time.Second)
	cpu1 := cpu0
	for cpu1 == cpu0 && time.Now().Before(deadline) {
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
		if cpu1, err = procCPU(pid); err != nil {
			t.Fatal(err)
		}
	}
	if cpu1 <= cpu0 {
		t.Errorf("cpu time did not grow: %v, then %v", cpu0, cpu1)
	}

	m, err := procMem(pid)
	if err != nil {
		t.Fatal(err)
	}
	if m.rss <= 0 || m.peak < m.rss {
		t.Errorf("got rss %d and peak %d, want 0 < rss <= peak", m.rss, m.peak)
	}
	if tree, err := treeCPU(pid); err != nil || tree < cpu1 {
		t.Errorf("treeCPU: got %v, %v; want at least %v", tree, err, cpu1)
	}
	busy, total, err := machineCPU()
	if err != nil || busy <= 0 || total < busy {
		t.Errorf("machineCPU: got busy %v of %v, %v", busy, total, err)
	}
}

// TestResetPeak maps and touches 64 MiB, unmaps it, and checks that the peak counts it
// until it is reset.
func TestResetPeak(t *testing.T) {
	const size = 64 << 20
	pid := os.Getpid()
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < size; i += 4096 {
		b[i] = 1
	}
	high, err := procMem(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Munmap(b); err != nil {
		t.Fatal(err)
	}
	if err := resetPeak(pid); err != nil {
		t.Skipf("cannot reset the peak here: %v", err)
	}
	low, err := procMem(pid)
	if err != nil {
		t.Fatal(err)
	}
	if high.peak-low.peak < size/2 {
		t.Errorf("peak with 64 MiB mapped %d, after unmapping and reset %d: want it "+
			"at least 32 MiB lower", high.peak, low.peak)
	}
}

func TestProcGone(t *testing.T) {
	// pid 0 has no /proc entry
	if _, err := procCPU(0); err == nil {
		t.Error("procCPU(0): got no error")
	}
	if _, err := procMem(0); err == nil {
		t.Error("procMem(0): got no error")
	}
}
