package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/frontgate/gateway/proxy/server"
)

// roleEnv names the environment variable that makes this binary serve one role in a
// child process instead of running the harness. Each server under test runs in its own
// process, so that /proc shows its CPU time and memory apart from the load generator's.
const roleEnv = "GATEWAY_BENCH_ROLE"

// Roles a child process can serve.
const (
	roleUpstream = "upstream" // the app: one counted listener per target
	roleBare     = "bare"     // httputil.ReverseProxy: the floor
	roleGateway  = "gateway"  // server.Run, what `gateway run` runs
)

// upstreamBody is what the upstream answers: about 100 bytes.
var upstreamBody = []byte(strings.Repeat("0123456789", 10))

// roleReady is the one JSON line a role prints on stdout once it serves.
type roleReady struct {
	// Addr is where the bare proxy listens.
	Addr string `json:"addr,omitempty"`
	// Control is where the upstream answers GET /accepts with its accept counts.
	Control string `json:"control,omitempty"`
	// Listeners are the upstream's listening addresses, by target name.
	Listeners map[string]string `json:"listeners,omitempty"`
}

// runRole serves role until SIGTERM or SIGINT and returns the exit code.
func runRole(role string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch role {
	case roleUpstream:
		err = serveUpstream(ctx, args)
	case roleBare:
		err = serveBare(ctx, args)
	case roleGateway:
		err = serveGateway(ctx, args)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway-bench %s: %v\n", role, err)
		return 1
	}
	return 0
}

// serveUpstream serves the app on one listener per name in names, counting the
// connections each accepts, and the counts on a control listener of its own, so that
// asking for them opens no connection that is counted.
func serveUpstream(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return errors.New("no listener names")
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(upstreamBody)
	})
	counts := make(map[string]*atomic.Int64)
	ready := roleReady{Listeners: make(map[string]string)}
	for _, name := range names {
		counts[name] = new(atomic.Int64)
		addr, err := serveOn(ctx, app, counts[name])
		if err != nil {
			return err
		}
		ready.Listeners[name] = addr
	}
	control := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := make(map[string]int64, len(counts))
		for name, n := range counts {
			out[name] = n.Load()
		}
		json.NewEncoder(w).Encode(out)
	})
	addr, err := serveOn(ctx, control, nil)
	if err != nil {
		return err
	}
	ready.Control = addr
	return announce(ctx, ready)
}

// serveBare serves an httputil.ReverseProxy in front of the upstream URL in args[0],
// with a transport that keeps as many idle upstream connections as the load has
// clients: the floor every Go proxy stands on. With "pooled" as args[1] it also lends
// its copy buffers from a pool, as the gateway's routes do.
func serveBare(ctx context.Context, args []string) error {
	if len(args) < 1 || len(args) > 2 || len(args) == 2 && args[1] != "pooled" {
		return errors.New(`want the upstream url, and optionally "pooled"`)
	}
	u, err := url.Parse(args[0])
	if err != nil {
		return fmt.Errorf("parsing upstream url: %w", err)
	}
	tr := &http.Transport{
		Proxy:               nil, // never an environment proxy: loopback only
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: tr,
	}
	if len(args) == 2 {
		rp.BufferPool = &bufferPool{}
	}
	addr, err := serveOn(ctx, rp, nil)
	if err != nil {
		return err
	}
	return announce(ctx, roleReady{Addr: addr})
}

// bufferPool lends the pooled bare proxy 32 KiB copy buffers, httputil's own size, so that a
// request does not allocate one only to carry a small body.
type bufferPool struct{ p sync.Pool }

// Get implements httputil.BufferPool.
func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[32 << 10]byte); ok {
		return buf[:]
	}
	return make([]byte, 32<<10)
}

// Put implements httputil.BufferPool.
func (b *bufferPool) Put(buf []byte) {
	if len(buf) == 32<<10 {
		b.p.Put((*[32 << 10]byte)(buf))
	}
}

// serveGateway runs the gateway as `gateway run -config FILE` does: args are
// "-config FILE".
func serveGateway(ctx context.Context, args []string) error {
	if len(args) != 2 || args[0] != "-config" {
		return errors.New("want arguments -config FILE")
	}
	return server.Run(ctx, server.Options{ConfigPath: args[1], Stderr: os.Stderr})
}

// serveOn serves h on a new loopback listener until ctx ends, counting accepted
// connections in accepts when it is not nil, and returns the address.
func serveOn(ctx context.Context, h http.Handler, accepts *atomic.Int64) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening: %w", err)
	}
	if accepts != nil {
		ln = countingListener{ln, accepts}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	context.AfterFunc(ctx, func() { srv.Close() })
	return ln.Addr().String(), nil
}

// announce prints r as the ready line and waits for ctx to end.
func announce(ctx context.Context, r roleReady) error {
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return fmt.Errorf("announcing: %w", err)
	}
	<-ctx.Done()
	return nil
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

// Accept implements net.Listener.
func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startRole starts this binary in role as a child named name, and returns it with the
// ready line it printed.
func startRole(name, role string, args []string, dir string) (*proc, roleReady, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, roleReady{}, fmt.Errorf("finding this binary: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), roleEnv+"="+role)

	// a pipe of our own rather than StdoutPipe, which Wait would close under the reader
	out, w, err := os.Pipe()
	if err != nil {
		return nil, roleReady{}, fmt.Errorf("starting %s: %w", name, err)
	}
	cmd.Stdout = w
	p, err := startProc(name, cmd, dir)
	w.Close()
	if err != nil {
		out.Close()
		return nil, roleReady{}, err
	}
	r, err := readReady(out, 30*time.Second)
	if err != nil {
		p.stop()
		out.Close()
		return nil, roleReady{}, p.failure(err)
	}
	go func() {
		io.Copy(io.Discard, out)
		out.Close()
	}()
	return p, r, nil
}

// readReady reads the ready line from out, waiting at most timeout.
func readReady(out io.Reader, timeout time.Duration) (roleReady, error) {
	type result struct {
		r   roleReady
		err error
	}
	c := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadBytes('\n')
		if err != nil {
			c <- result{err: fmt.Errorf("reading ready line: %w", err)}
			return
		}
		var r roleReady
		if err := json.Unmarshal(line, &r); err != nil {
			c <- result{err: fmt.Errorf("parsing ready line %q: %w", line, err)}
			return
		}
		c <- result{r: r}
	}()
	select {
	case res := <-c:
		return res.r, res.err
	case <-time.After(timeout):
		return roleReady{}, fmt.Errorf("not ready after %v", timeout)
	}
}
