package connlimit

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"
)

// pipeListener hands out the server ends of pipes whose client address is set by the
// test, so that counting by client can be tested for any address.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (p *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeListener) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// addrConn is a pipe end that reports remote as its peer.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// dial makes a connection from addr and returns the client's end, and whether it was
// closed by the listener without ever being handed out.
func (p *pipeListener) dial(t *testing.T, addr string) (client net.Conn) {
	t.Helper()
	server, client := net.Pipe()
	ap := netip.MustParseAddrPort(addr)
	select {
	case p.conns <- addrConn{Conn: server, remote: net.TCPAddrFromAddrPort(ap)}:
	case <-time.After(5 * time.Second):
		t.Fatalf("the listener took no connection from %s", addr)
	}
	return client
}

// closedByServer reports whether the server closed c's other end.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func TestLimitPerClient(t *testing.T) {
	pl := newPipeListener()
	var mu sync.Mutex
	var refusals []Refusal
	l := New(Policy{Max: 2, Exempt: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		func(r Refusal) {
			mu.Lock()
			refusals = append(refusals, r)
			mu.Unlock()
		})
	ln := l.Listener(pl)
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	defer ln.Close()
	take := func(t *testing.T, from string) net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(5 * time.Second):
			t.Fatalf("the connection from %s was not accepted", from)
		}
		return nil
	}

	// two from one address are let through; the third is closed
	pl.dial(t, "192.0.2.1:1000")
	a1 := take(t, "192.0.2.1")
	pl.dial(t, "192.0.2.1:1001")
	a2 := take(t, "192.0.2.1")
	third := pl.dial(t, "192.0.2.1:1002")
	if !closedByServer(third) {
		t.Fatal("a third connection from 192.0.2.1 was not closed")
	}
	if got := l.Open(netip.MustParseAddr("192.0.2.1")); got != 2 {
		t.Errorf("open from 192.0.2.1: %d, want 2", got)
	}
	mu.Lock()
	if len(refusals) != 1 || refusals[0] != (Refusal{Client: netip.MustParseAddr("192.0.2.1"),
		Open: 2, Max: 2}) {
		t.Errorf("refusals: %+v, want one of 192.0.2.1 holding 2 of 2", refusals)
	}
	mu.Unlock()

	// another address has room of its own; an IPv6 /64 counts as one client
	pl.dial(t, "192.0.2.2:1000")
	take(t, "192.0.2.2")
	pl.dial(t, "[2001:db8::1]:1000")
	take(t, "2001:db8::1")
	pl.dial(t, "[2001:db8::2]:1000")
	take(t, "2001:db8::2")
	if c := pl.dial(t, "[2001:db8::3]:1000"); !closedByServer(c) {
		t.Error("a third connection from 2001:db8::/64 was not closed")
	}
	pl.dial(t, "[2001:db8:0:1::1]:1000")
	take(t, "2001:db8:0:1::1")

	// a trusted proxy's connections are not counted
	for i := range 5 {
		pl.dial(t, netip.AddrPortFrom(netip.MustParseAddr("10.1.2.3"), uint16(2000+i)).String())
		take(t, "10.1.2.3")
	}

	// closing one, twice even, makes room for exactly one more
	a1.Close()
	a1.Close()
	pl.dial(t, "192.0.2.1:1003")
	take(t, "192.0.2.1")
	if c := pl.dial(t, "192.0.2.1:1004"); !closedByServer(c) {
		t.Error("a connection past the limit after a close was not closed")
	}
	a2.Close()

	// a raised limit applies to the next connection
	l.SetPolicy(Policy{Max: 3})
	pl.dial(t, "192.0.2.1:1005")
	take(t, "192.0.2.1")
	l.SetPolicy(Policy{})
	for i := range 5 {
		pl.dial(t, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(3000+i)).String())
		take(t, "192.0.2.1")
	}
}

// TestRealConnections counts TCP connections on loopback, the way the gateway's
// listeners are wrapped, and checks that the wrapped connection can still half-close,
// which the HTTP server does to end a connection gracefully.
func TestRealConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(Policy{Max: 1}, nil).Listener(ln)
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	first, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	server := <-accepted
	second, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if !closedByServer(second) {
		t.Fatal("a second connection from 127.0.0.1 was not closed")
	}
	cw, ok := server.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("a counted connection has no CloseWrite")
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if !closedByServer(first) {
		t.Error("CloseWrite did not end what the client reads")
	}
	server.Close()
	third, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("a connection after the first was closed was not accepted")
	}
}

// TestListenersShareTheCount: a client's connections to every listener a Limiter wraps
// count together, so two listeners do not give it twice the limit.
func TestListenersShareTheCount(t *testing.T) {
	l := New(Policy{Max: 2}, nil)
	var pls []*pipeListener
	var accepted []chan net.Conn
	for range 2 {
		pl := newPipeListener()
		ln := l.Listener(pl)
		ch := make(chan net.Conn, 8)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				ch <- c
			}
		}()
		t.Cleanup(func() { ln.Close() })
		pls, accepted = append(pls, pl), append(accepted, ch)
	}
	for i := range 2 {
		pls[i].dial(t, "192.0.2.9:"+strconv.Itoa(1000+i))
		select {
		case <-accepted[i]:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection %d was not accepted", i+1)
		}
	}
	for i := range 2 {
		if c := pls[i].dial(t, "192.0.2.9:"+strconv.Itoa(2000+i)); !closedByServer(c) {
			t.Errorf("a third connection, on listener %d, was not closed", i+1)
		}
	}
	if got := l.Open(netip.MustParseAddr("192.0.2.9")); got != 2 {
		t.Errorf("open from 192.0.2.9: %d, want 2", got)
	}
}

// TestRequestsPerClient: HTTP/2 requests in flight count per client, apart from its
// connections, with trusted proxies exempt; HTTP/1 requests, whose connections count,
// are not counted again.
func TestRequestsPerClient(t *testing.T) {
	var refusals []Refusal
	l := New(Policy{Max: 2, Exempt: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		func(r Refusal) { refusals = append(refusals, r) })
	hold := make(chan struct{})
	entered := make(chan struct{})
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-hold
		}
	}))
	serve := func(proto int, remote, path string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.ProtoMajor, r.RemoteAddr = proto, remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	var wg sync.WaitGroup
	held := func(proto int, remote string) {
		wg.Add(1)
		go func() { defer wg.Done(); serve(proto, remote, "/hold") }()
		<-entered
	}
	held(2, "192.0.2.1:1000")
	held(2, "192.0.2.1:1001")
	held(2, "[2001:db8::1]:1000")
	held(2, "[2001:db8::2]:1000") // the same /64
	held(1, "192.0.2.1:1002")     // HTTP/1: not counted
	held(2, "[fe80::1]:1000")     // link-local: the link's /64 counts as one
	held(2, "[fe80::2]:1001")
	held(2, "10.1.2.3:1000") // exempt
	held(2, "10.1.2.3:1001")
	held(2, "10.1.2.3:1002")
	for _, tt := range []struct {
		proto  int
		remote string
		want   int
	}{
		{2, "192.0.2.1:2000", http.StatusTooManyRequests},
		{2, "[2001:db8::3]:2000", http.StatusTooManyRequests},
		{2, "192.0.2.2:2000", http.StatusOK},         // another client
		{2, "[2001:db8:0:1::1]:2000", http.StatusOK}, // another /64
		{1, "192.0.2.1:2000", http.StatusOK},
		{2, "10.1.2.3:2000", http.StatusOK},
		{2, "not an address", http.StatusOK}, // nothing to count it by
		// 192.0.2.1, handed over by a NAT64 translator
		{2, "[64:ff9b::c000:201]:2000", http.StatusTooManyRequests},
		{2, "[fe80::1]:2000", http.StatusTooManyRequests},
		{2, "[fe80::3]:2000", http.StatusTooManyRequests},
	} {
		if got := serve(tt.proto, tt.remote, "/"); got != tt.want {
			t.Errorf("HTTP/%d from %s: %d, want %d", tt.proto, tt.remote, got, tt.want)
		}
	}
	if len(refusals) != 5 || refusals[0] != (Refusal{Client: netip.MustParseAddr(
		"192.0.2.1"), Open: 2, Max: 2, Request: true}) {
		t.Errorf("refusals %+v, want five, the first 192.0.2.1's with 2 of 2 open",
			refusals)
	}
	close(hold)
	wg.Wait()
	if got := serve(2, "192.0.2.1:3000", "/"); got != http.StatusOK {
		t.Errorf("after the held requests ended: %d, want 200", got)
	}
	l.mu.Lock()
	left := len(l.requests)
	l.mu.Unlock()
	if left != 0 {
		t.Errorf("%d clients still counted after every request ended", left)
	}
}
