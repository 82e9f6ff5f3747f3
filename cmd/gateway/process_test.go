package main

import (
	"bufio"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// process is a gateway binary started by a test, its stderr followed line by line.
type process struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	done  chan error // cmd.Wait's result, once stderr has ended
	log   []string   // the lines read so far
}

// startProcess starts cmd, which is killed by its PID when the test ends if it still
// runs.
func startProcess(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // by PID; nothing once it has exited
	p := &process{t: t, cmd: cmd, lines: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- cmd.Wait()
	}()
	return p
}

// await reads stderr until a line holds what, and returns that line; the test fails if
// the process ends first, or none comes within 15 s.
func (p *process) await(what string) string {
	p.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		l, ok := p.next(timeout, strconv.Quote(what))
		if !ok {
			p.t.Fatalf("gateway exited before %q:\n%s", what, strings.Join(p.log, "\n"))
		}
		if strings.Contains(l, what) {
			return l
		}
	}
}

// next returns the next line of stderr, kept in p.log, or ok false once stderr ended;
// the test fails if none comes before timeout, waiting for what.
func (p *process) next(timeout <-chan time.Time, what string) (line string, ok bool) {
	p.t.Helper()
	select {
	case line, ok = <-p.lines:
		if ok {
			p.log = append(p.log, line)
		}
		return line, ok
	case <-timeout:
		p.t.Fatalf("no %s within 15s:\n%s", what, strings.Join(p.log, "\n"))
		return "", false
	}
}

// listening awaits the start record and returns the address it names.
func (p *process) listening() string {
	p.t.Helper()
	started := p.await(`msg="gateway started"`)
	m := regexp.MustCompile(`listen=(\S+)`).FindStringSubmatch(started)
	if m == nil {
		p.t.Fatalf("no address in %q", started)
	}
	return m[1]
}

// exit waits up to 15 s for the process to end, reading the rest of stderr, and returns
// what cmd.Wait returned; the test fails if it does not end.
func (p *process) exit() error {
	p.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		if _, ok := p.next(timeout, "exit"); !ok {
			break
		}
	}
	select {
	case err := <-p.done: // sent once stderr ended
		return err
	case <-timeout:
		p.t.Fatalf("gateway did not exit within 15s:\n%s", strings.Join(p.log, "\n"))
		return nil
	}
}
