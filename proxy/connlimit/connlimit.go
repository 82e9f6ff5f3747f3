// Package connlimit caps how many connections one client holds open at once, so that a
// single address cannot take the file descriptors and memory every other client needs.
// HTTP/2 carries many requests at once on one connection, each of which may hold a
// connection to an app, so the same cap bounds a client's HTTP/2 requests in flight,
// counted apart from its connections.
//
// A client is its address, IPv6 by its /64, which one host usually owns whole. Addresses
// of trusted proxies are exempt: their connections carry the requests of many clients.
package connlimit

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/frontgate/gateway/authn/clientnet"
)

// Policy says how many connections one client may hold, and whose are not counted.
type Policy struct {
	// Max is how many connections one client may hold open at once; past it, a new
	// connection is closed as soon as it is accepted. Zero or less means no limit.
	Max int
	// Exempt lists the networks whose connections are not counted.
	Exempt []netip.Prefix
}

// Refusal describes a connection closed because its client held too many, or an
// HTTP/2 request refused because its client had too many in flight.
type Refusal struct {
	Client  netip.Addr // the connection's address
	Open    int        // how many connections, or requests, the client held
	Max     int        // the limit
	Request bool       // a request refused, not a connection
}

// Limiter counts the connections each client holds over every listener it wraps, and
// closes, once accepted, each one past its Policy's limit. Safe for concurrent use.
type Limiter struct {
	policy  atomic.Pointer[Policy]
	refused func(Refusal)

	mu       sync.Mutex
	open     map[netip.Addr]int // connections, by client key
	requests map[netip.Addr]int // HTTP/2 requests in flight, by client key
}

// New returns a Limiter that enforces p, and calls refused, if not nil, for each
// connection it closes; refused must not block.
func New(p Policy, refused func(Refusal)) *Limiter {
	l := &Limiter{refused: refused, open: make(map[netip.Addr]int),
		requests: make(map[netip.Addr]int)}
	l.SetPolicy(p)
	return l
}

// SetPolicy makes p the policy for connections accepted from now on. Connections open
// already stay open, and count against the new limit.
func (l *Limiter) SetPolicy(p Policy) {
	p.Exempt = append([]netip.Prefix(nil), p.Exempt...)
	l.policy.Store(&p)
}

// Listener returns ln with its connections counted by l, together with those of every
// other listener l wrapped.
func (l *Limiter) Listener(ln net.Listener) net.Listener { return &listener{ln, l} }

type listener struct {
	net.Listener
	l *Limiter
}

// Accept returns the next connection whose client is within the limit.
func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc, ok := ln.l.admit(c); ok {
			return lc, nil
		}
	}
}

// admit counts c against its client and returns it wrapped, or closes it and returns
// false when its client holds the most it may.
func (l *Limiter) admit(c net.Conn) (net.Conn, bool) {
	key, ok := l.take(l.open, addrOf(c.RemoteAddr()), false)
	switch {
	case !ok:
		c.Close() // after the refusal was recorded
		return nil, false
	case !key.IsValid():
		return c, true
	}
	return &conn{Conn: c, l: l, key: key}, true
}

// take counts one more connection, or request, of the client at addr in m, by its
// client key, which it returns; an invalid key when addr is not counted (no limit, no
// address, or exempt). It reports false, and records the refusal, when the client
// holds the most it may already.
func (l *Limiter) take(m map[netip.Addr]int, addr netip.Addr, request bool) (netip.Addr,
	bool) {
	p := l.policy.Load()
	if p.Max <= 0 || !addr.IsValid() || exempt(addr, p.Exempt) {
		return netip.Addr{}, true
	}
	key := clientKey(addr)
	l.mu.Lock()
	n := m[key]
	if n >= p.Max {
		l.mu.Unlock()
		if l.refused != nil {
			l.refused(Refusal{Client: addr, Open: n, Max: p.Max, Request: request})
		}
		return netip.Addr{}, false
	}
	m[key] = n + 1
	l.mu.Unlock()
	return key, true
}

// release gives back a connection of the client with key.
func (l *Limiter) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	decrement(l.open, key)
}

// decrement takes one from m[key], dropping the key at zero so that the map holds only
// clients that hold something.
func decrement(m map[netip.Addr]int, key netip.Addr) {
	if n := m[key]; n > 1 {
		m[key] = n - 1
	} else {
		delete(m, key)
	}
}

// Handler returns h with each HTTP/2 request counted against its client's limit while h
// serves it. A request past the limit gets 429 and never reaches h. HTTP/1 requests
// pass uncounted: a connection carries one at a time, and its connection is counted.
func (l *Limiter) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor < 2 {
			h.ServeHTTP(w, r)
			return
		}
		key, ok := l.request(r.RemoteAddr)
		if !ok {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too many requests in flight from your address.",
				http.StatusTooManyRequests)
			return
		}
		if key.IsValid() {
			defer l.endRequest(key)
		}
		h.ServeHTTP(w, r)
	})
}

// request counts an HTTP/2 request from remote, a request's RemoteAddr. It returns the
// key to end the count with, invalid when the request is not counted, or false when the
// client has the most requests in flight it may.
func (l *Limiter) request(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, true
	}
	return l.take(l.requests, ap.Addr().Unmap(), true)
}

// endRequest ends the count of a request request counted under key.
func (l *Limiter) endRequest(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	decrement(l.requests, key)
}

// Open returns how many counted connections the client at addr holds.
func (l *Limiter) Open(addr netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[clientKey(addr.Unmap())]
}

// conn is a counted connection: closing it, once, gives its place back.
type conn struct {
	net.Conn
	l      *Limiter
	key    netip.Addr
	closed atomic.Bool
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.l.release(c.key)
	}
	return err
}

// CloseWrite shuts the sending side, as a TCP connection's does: the HTTP server uses it
// to end a connection gracefully.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// addrOf returns a connection's address, IPv4 in IPv6 unmapped, or the zero Addr for an
// address that is not an IP one.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// clientKey groups an address with the others its owner controls (see clientnet.Host).
func clientKey(a netip.Addr) netip.Addr { return clientnet.Host(a).Addr() }

func exempt(a netip.Addr, nets []netip.Prefix) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}
