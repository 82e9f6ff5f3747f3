package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// upstreamDialer dials upstreams as Go's default transport does.
var upstreamDialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

// dialUpstream opens a connection to an upstream, one that can tell the request it
// carries that it closed, and, to a plain HTTP upstream, one whose exchanges are framed
// (see framing), with what it finds told to the route's app.
func dialUpstream(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := upstreamDialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	uc := &upstreamConn{Conn: c}
	// the dial carries the values of the request that asked for it
	if st, _ := ctx.Value(stateKey{}).(*state); st != nil && st.route != nil &&
		st.route.upstream.Scheme == "http" {
		uc.framing, uc.app = &framing{}, st.route.app
	}
	return uc, nil
}

// upstreamConn is a connection to an upstream. When it closes, with an HTTP/1 request
// still sending its body on it, it calls that request's onClose. On a plain HTTP
// connection, its framing keeps bytes sent past an answer from the transport.
//
// Go's transport answers a request whose connection the upstream closed (an app that
// crashed, or restarted) only once the request's body has all been read: a client that
// sends its body slowly, or holds it back, would wait for the 502 until it stopped.
type upstreamConn struct {
	net.Conn
	onClose atomic.Pointer[func()]
	closed  atomic.Bool
	// framing finds bytes sent past an answer, on a plain HTTP/1 connection, and app
	// is told of them
	framing *framing
	app     *app
}

// errStrayBytes ends a connection whose upstream sent bytes past the end of an answer.
var errStrayBytes = errors.New("the upstream sent bytes past the end of its answer")

// Read reads from the upstream, but never past the end of an answer: bytes beyond it
// go nowhere, and the read ends the connection's stream there, so that the transport,
// which has seen its end, gives the connection to no other request and closes it. It
// does not close it itself: an answer that came early, before the whole request body
// was sent, and that the stray bytes followed, is still whole, and the request it
// answers must not be cut short before the transport has read it.
func (c *upstreamConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.framing == nil || n == 0 {
		return n, err
	}
	if keep := c.framing.read(p[:n]); keep < n {
		c.strayBytes()
		return keep, io.EOF
	}
	return n, err
}

var (
	// errHeadTooLong fails a request whose header block is too long for framing to
	// follow.
	errHeadTooLong = errors.New("the request's header block is too long to send")
	// errAnsweredEarly ends a request whose answer came before its header block was
	// all written: the answer is passed on, and the connection ends with it.
	errAnsweredEarly = errors.New("the upstream answered before the request's header " +
		"block was written")
)

// Write writes to the upstream, unless it sent bytes past an answer, or framing cannot
// follow the request (see framing.ended).
func (c *upstreamConn) Write(p []byte) (int, error) {
	if c.framing != nil && !c.framing.wrote(p) {
		if err := c.framing.ended(); err != nil {
			return 0, err
		}
		c.strayBytes()
		return 0, errStrayBytes
	}
	return c.Conn.Write(p)
}

// strayBytes tells the connection's app, if known, that it sent an answer past an
// answer. Other bytes past an answer (a body after the answer to a HEAD, an error page
// after a 400 to one) are found wherever they arrive, since no answer starts so, and
// end the connection alone: an app that a client's request can make send them is not
// made to lose its reused connections for everyone.
func (c *upstreamConn) strayBytes() {
	if c.app != nil && c.framing.sentAnswer() {
		c.app.sentStrayBytes()
	}
}

// Close closes the connection and tells the request that uses it.
func (c *upstreamConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		if f := c.onClose.Load(); f != nil {
			(*f)()
		}
	}
	return c.Conn.Close()
}

// errUpstreamClosed is what a request body read returns once the upstream it was sent to
// closed its connection: no more of it can go anywhere.
var errUpstreamClosed = errors.New("the upstream closed the connection")

// watchUpstream returns ctx with a trace that, once the transport has a connection for
// body's request, answered through w, has body stop being read when the connection
// closes before body has ended; and a function that ends the watch, to be called when the
// request is done. Only plain connections are watched, which carry one request at a
// time: an HTTP/2 connection to an https upstream carries many, and its transport answers
// each when it fails.
func watchUpstream(ctx context.Context, w http.ResponseWriter, body *clientBody) (
	context.Context, func()) {
	var conn *upstreamConn
	var answered atomic.Bool
	gone := func() {
		// An answer that came is relayed whole, however the body fares: the upstream
		// may close the connection after an answer that did not wait for the body. A
		// body that failed first is the cause of the close, not its victim, and so is a
		// request canceled first: the server ends the request's context as soon as a
		// read of the client's connection fails, before the read returns its error.
		if !answered.Load() && !body.ended.Load() && body.st.bodyErr.Load() == nil &&
			ctx.Err() == nil && body.gone.CompareAndSwap(false, true) {
			// unblocks a read of the body waiting for the client
			http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	}
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if c, ok := info.Conn.(*upstreamConn); ok {
				conn = c
				c.onClose.Store(&gone)
				if c.closed.Load() {
					gone()
				}
			}
		},
		GotFirstResponseByte: func() { answered.Store(true) },
	}
	return httptrace.WithClientTrace(ctx, trace), func() {
		if conn != nil {
			conn.onClose.CompareAndSwap(&gone, nil)
		}
	}
}
