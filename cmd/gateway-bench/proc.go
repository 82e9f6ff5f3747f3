package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat. Linux reports them in
// USER_HZ, which is 100 on every architecture Go supports there.
const clockTick = 10 * time.Millisecond

// procCPU returns the user and system CPU time process pid has used, from
// /proc/PID/stat, in clockTick steps.
func procCPU(pid int) (time.Duration, error) {
	own, _, err := readStat(pid)
	return own, err
}

// treeCPU returns the CPU time process pid has used together with that of its children
// it has waited for.
func treeCPU(pid int) (time.Duration, error) {
	own, children, err := readStat(pid)
	return own + children, err
}

// readStat returns the CPU time of process pid and of its waited-for children.
func readStat(pid int) (own, children time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading cpu time: %w", err)
	}
	o, c, err := parseStat(string(b))
	if err != nil {
		return 0, 0, fmt.Errorf("reading cpu time of %d: %w", pid, err)
	}
	return time.Duration(o) * clockTick, time.Duration(c) * clockTick, nil
}

// parseStat returns utime+stime and cutime+cstime, fields 14 to 17 of a /proc/PID/stat
// line, in ticks. The command name in field 2 may hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseStat(line string) (own, children uint64, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, errors.New("no command name in stat line")
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3]
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("stat line has %d fields after the name, want 15 or more",
			len(f))
	}
	var n [4]uint64
	for j, s := range f[11:15] {
		if n[j], err = strconv.ParseUint(s, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("parsing cpu ticks: %w", err)
		}
	}
	return n[0] + n[1], n[2] + n[3], nil
}

// machineCPU returns how much CPU time all of the machine's CPUs have been busy, and
// how much they have counted in all, from /proc/stat.
func machineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("reading machine cpu time: %w", err)
	}
	bt, tt, err := parseProcStat(string(b))
	if err != nil {
		return 0, 0, fmt.Errorf("reading machine cpu time: %w", err)
	}
	return time.Duration(bt) * clockTick, time.Duration(tt) * clockTick, nil
}

// parseProcStat reads the "cpu" line of /proc/stat: user, nice, system, idle, iowait,
// irq, softirq and steal ticks, of which idle and iowait are not busy. Guest time is
// already counted in user.
func parseProcStat(text string) (busy, total uint64, err error) {
	line, _, _ := strings.Cut(text, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("no cpu line")
	}
	for j, s := range f[1:9] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parsing cpu ticks: %w", err)
		}
		total += n
		if j != 3 && j != 4 {
			busy += n
		}
	}
	return busy, total, nil
}

// family returns pid followed by the processes descended from it, as
// /proc/PID/task/TID/children lists them: nginx's workers under its master, say.
func family(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", out[i]))
		for _, path := range lists {
			b, _ := os.ReadFile(path)
			for _, f := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(f); err == nil && !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// familyCPU returns the CPU time process pid and its descendants have used. A
// descendant that ends while it is read counts no more.
func familyCPU(pid int) (time.Duration, error) {
	var sum time.Duration
	for i, p := range family(pid) {
		cpu, err := procCPU(p)
		if err != nil && i == 0 {
			return 0, err
		}
		sum += cpu
	}
	return sum, nil
}

// familyMem returns the resident memory of process pid and its descendants, summed:
// pages they share count once for each.
func familyMem(pid int) (memInfo, error) {
	var sum memInfo
	for i, p := range family(pid) {
		m, err := procMem(p)
		if err != nil && i == 0 {
			return memInfo{}, err
		}
		sum.rss += m.rss
		sum.peak += m.peak
	}
	return sum, nil
}

// resetFamilyPeak resets the peak resident memory of process pid and its descendants.
func resetFamilyPeak(pid int) error {
	for i, p := range family(pid) {
		if err := resetPeak(p); err != nil && i == 0 {
			return err
		}
	}
	return nil
}

// memInfo is a process's resident memory, in bytes.
type memInfo struct {
	rss  int64 // VmRSS: resident now
	peak int64 // VmHWM: the most resident since start or since resetPeak
}

// procMem returns the resident memory of process pid, from /proc/PID/status.
func procMem(pid int) (memInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}, fmt.Errorf("reading memory use: %w", err)
	}
	m, err := parseStatus(b)
	if err != nil {
		return memInfo{}, fmt.Errorf("reading memory use of %d: %w", pid, err)
	}
	return m, nil
}

// parseStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
func parseStatus(b []byte) (memInfo, error) {
	var m memInfo
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(value), " ")
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || unit != "kB" {
			return memInfo{}, fmt.Errorf("parsing %s %q", name, value)
		}
		if name == "VmRSS" {
			m.rss = n << 10
		} else {
			m.peak = n << 10
		}
		seen++
	}
	if seen != 2 {
		return memInfo{}, errors.New("no VmRSS and VmHWM in status")
	}
	return m, nil
}

// resetPeak sets process pid's VmHWM back to its VmRSS, so that the next read of VmHWM
// is the peak since now.
func resetPeak(pid int) error {
	path := fmt.Sprintf("/proc/%d/clear_refs", pid)
	if err := os.WriteFile(path, []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting peak rss: %w", err)
	}
	return nil
}

// proc is a child process the harness started: a server under test, the upstream or
// redis-server. Its stdout is read by whoever started it; its stderr goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string        // path of the file stderr goes to
	done chan struct{} // closed once the process has exited
	err  error         // what Wait returned, set before done closes
}

// startProc starts cmd as name, with stderr in dir/name.log. The child gets SIGTERM if
// the harness dies first, so that no server outlives it.
func startProc(name string, cmd *exec.Cmd, dir string) (*proc, error) {
	p := &proc{name: name, cmd: cmd, log: filepath.Join(dir, name+".log"),
		done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("creating log of %s: %w", name, err)
	}
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process by its pid: SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// failure describes why the process could not be used: how it exited, if it did, and
// the end of its log.
func (p *proc) failure(err error) error {
	msg := ""
	if p.exited() {
		msg = fmt.Sprintf(" (exited: %v)", p.err)
	}
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		msg += "; its log ends:\n" + s
	}
	return fmt.Errorf("%s: %w%s", p.name, err, msg)
}
