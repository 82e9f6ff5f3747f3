// Package redistest starts real redis-server processes for tests, on loopback ports of
// their own.
package redistest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server started by a test, on a loopback port of its own, with
// neither snapshots nor an append-only file.
type Server struct {
	tb       testing.TB
	bin      string
	dir      string
	port     int
	conf     string // lines added to the server's own redis.conf
	sentinel bool   // run as a sentinel
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd has exited
}

// Start starts a redis-server for tb and kills it when tb ends. Without the
// redis-server binary it skips tb, except in CI (CI=true), which must run these tests.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return StartWith(tb, "")
}

// StartWith is Start with conf, lines of redis.conf such as "requirepass pw", added to
// the server's own.
func StartWith(tb testing.TB, conf string) *Server {
	tb.Helper()
	return start(tb, conf, false)
}

// StartSentinel starts a sentinel for tb that watches master under masterName, with
// conf, lines of sentinel.conf such as "requirepass pw", added to its own. It kills the
// sentinel when tb ends. master must be running.
func StartSentinel(tb testing.TB, master *Server, masterName, conf string) *Server {
	tb.Helper()
	return start(tb, fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\n%s", masterName,
		master.port, conf), true)
}

// start starts a redis-server, or a sentinel, with conf added to its configuration.
func start(tb testing.TB, conf string, sentinel bool) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("redis-server is not installed, and CI must run the Redis store " +
				"tests: install it with .ci/redis.sh")
		}
		tb.Skip("redis-server is not installed (.ci/redis.sh installs it)")
	}
	srv := &Server{tb: tb, bin: bin, dir: tb.TempDir(), conf: conf, sentinel: sentinel}
	tb.Cleanup(srv.Stop)

	// another process may take the free port before redis-server binds it
	for attempt := 1; ; attempt++ {
		srv.port = freePort(tb)
		err := srv.start()
		if err == nil {
			return srv
		}
		if attempt == 5 {
			tb.Fatalf("starting redis-server: %v", err)
		}
	}
}

// Addr is the host:port the server listens on.
func (srv *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.port))
}

// Start runs redis-server again on the same port after Stop, and waits until it answers
// PING.
func (srv *Server) Restart() error { return srv.start() }

// start runs redis-server on srv.port and waits until it answers PING.
func (srv *Server) start() error {
	conf := filepath.Join(srv.dir, "redis.conf")
	text := fmt.Sprintf("bind 127.0.0.1\nport %d\nsave \"\"\nappendonly no\ndaemonize no\n"+
		"dir %q\nlogfile %q\n%s", srv.port, srv.dir, filepath.Join(srv.dir, "redis.log"),
		srv.conf)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return err
	}
	args := []string{conf}
	if srv.sentinel {
		args = append(args, "--sentinel")
	}
	srv.cmd = exec.Command(srv.bin, args...)
	if err := srv.cmd.Start(); err != nil {
		return err
	}
	srv.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(srv.cmd, srv.done)

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-srv.done:
			log, _ := os.ReadFile(filepath.Join(srv.dir, "redis.log"))
			return fmt.Errorf("redis-server exited: %s", log)
		default:
		}
		if ping(srv.Addr()) == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Stop()
	return fmt.Errorf("redis-server on port %d did not answer PING within 5s", srv.port)
}

// Stop kills the server by its PID, as a crash would end it, and waits for it to exit.
// Stopping a stopped server does nothing.
func (srv *Server) Stop() {
	if srv.cmd == nil {
		return
	}
	srv.cmd.Process.Kill()
	<-srv.done
	srv.cmd = nil
}

// ping sends PING to addr in the Redis protocol and wants PONG back, or the refusal
// of a server that asks for a password first: either way, it answers.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" && !strings.HasPrefix(line, "-NOAUTH ") {
		return fmt.Errorf("PING: got %q, want +PONG", line)
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	// below Linux's ephemeral range (32768 up), from which the outgoing connections of
	// tests running meanwhile take their ports, so that none takes this one first
	for range 50 {
		port := 20000 + rand.IntN(12000)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return port
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Client returns a client of srv, closed when tb ends, that fails at once rather than
// retry, with one-second timeouts: tests of a server that stops see its failure soon.
func (srv *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: time.Second})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}
