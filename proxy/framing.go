package proxy

import (
	"bytes"
	"strconv"
	"sync"
)

// framing follows the HTTP/1.1 exchanges on a plain connection to an upstream to find
// the end of each answer, so that bytes the upstream sends past it (a body longer than
// its Content-Length, a second answer after the first, a body after the answer to a
// HEAD) do not reach Go's transport, which would take them for the answer to the next
// request on the connection: another user's. Bytes that arrive only once the next
// request was written look like its answer when they look like an answer; those it
// finds only by the real answer that follows them (see app). It judges only what it
// can frame for certain, an answer with a Content-Length, or none by its status or
// method, after any interim ones, to a request with a Content-Length or no body; at the
// first exchange of another kind it stops judging the connection. (A request with a
// chunked body goes on a connection closed after it, so that no client can stop it.)
//
// TODO: a late second answer on a busy connection shifts the answers on it by one, each
// request getting the answer to the one before, until an answer comes while the
// connection waits for none; telling a late answer from the right one would need the
// app to echo something of the request, which HTTP/1.1 has no way to ask for.
type framing struct {
	mu    sync.Mutex
	state int
	off   bool // stopped judging
	stray bool // the upstream sent bytes past an answer
	long  bool // a request's header block passed maxFramedRequest: it goes no further
	// early: an answer came before the request's header block was all written, which
	// framing cannot follow; the rest of the request goes nowhere, so that the
	// connection carries this exchange alone
	early bool
	head  bool   // the request is a HEAD
	body  int64  // bytes of the request's body still to be written
	left  int64  // bytes of the answer's body still to come
	buf   []byte // a header block that comes in pieces
	// strayAnswer: the bytes past an answer start as an answer does, one the app sent
	// twice
	strayAnswer bool
}

// The states of a framing.
const (
	frameIdle    = iota // between exchanges
	frameRequest        // a request's header block is being written
	frameAnswer         // its answer's header block is awaited or coming
	frameBody           // its answer's body is coming
)

// maxFramedHead is the longest answer's header block framing reads; past it, it stops
// judging: the app chose to send it.
const maxFramedHead = 64 << 10

// maxFramedRequest is the longest request header block framing reads. No client may
// make it stop judging: the server takes 64 KiB of a client's header block, and what
// the gateway adds (a copy of its Host, forwarding and identity headers, an assertion)
// leaves any request it sends far below this. A longer block is not sent at all (see
// wrote).
const maxFramedRequest = 1 << 20

// wrote takes the bytes of a Write on the connection and reports whether they may be
// sent: not once the upstream sent bytes past an answer, as the connection is done,
// except for the rest of the body of the request in flight, whose answer may have come
// before it and be whole.
func (f *framing) wrote(p []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.long || f.early:
		return false
	case f.stray:
		if f.body <= 0 {
			return false
		}
		f.body -= int64(len(p))
		return true
	case f.off:
		return true
	case f.body > 0: // the request's body, which its answer may have come before
		if int64(len(p)) > f.body {
			f.stop() // a second request in the same write
		}
		f.body -= int64(len(p))
		return true
	case f.state == frameIdle:
		f.state, f.buf = frameRequest, emptied(f.buf)
	case f.state != frameRequest:
		f.stop() // a request sent before the last answer ended
		return true
	}
	block, rest, ok := f.block(p, maxFramedRequest)
	if !ok {
		if len(f.buf) > maxFramedRequest {
			f.long, f.buf = true, nil
			return false
		}
		return true
	}
	body, ok := f.request(block)
	if !ok || int64(len(rest)) > body {
		f.stop() // a body of unknown length, or a second request
	}
	f.body = body - int64(len(rest))
	f.state, f.buf = frameAnswer, emptied(f.buf)
	return true
}

// read takes the bytes a Read on the connection returned and returns how many of them
// belong to the answer; fewer than len(p) when the upstream sent bytes past its end.
func (f *framing) read(p []byte) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.stray:
		return 0 // the connection is done: nothing more of it is read
	case f.off:
		return len(p)
	}
	n := 0
	for n < len(p) {
		switch f.state {
		case frameIdle:
			// no request asked for these; when they start as an answer does, the app
			// sent one answer too many, which could as well have come once the next
			// request was on its way (see app)
			f.stray, f.strayAnswer = true, f.answerStart(p[n:])
			return n
		case frameRequest:
			// an answer before the whole request, which framing does not follow: it is
			// passed on, and the connection ends with it
			f.stop()
			f.early = true
			return len(p)
		case frameAnswer:
			if !f.answerStart(p[n:]) {
				// no answer starts so: bytes that were meant to follow an earlier one,
				// which Go's reader would fail this request on
				f.stray = true
				return n
			}
			block, rest, ok := f.block(p[n:], maxFramedHead)
			if !ok {
				return len(p)
			}
			n = len(p) - len(rest)
			interim, ok := f.answer(block)
			if !ok {
				f.stop()
				return len(p)
			}
			f.buf = emptied(f.buf)
			if interim {
				continue // the final answer follows
			}
			f.state = frameBody
		case frameBody:
			take := min(int64(len(p)-n), f.left)
			f.left -= take
			n += int(take)
		}
		if f.state == frameBody && f.left == 0 {
			f.state = frameIdle
		}
	}
	return n
}

// sentAnswer reports whether the upstream sent, past an answer, bytes that start as an
// answer does.
func (f *framing) sentAnswer() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.strayAnswer
}

// answerStart reports whether the answer whose header block is being read may start
// as f.buf followed by p do: with "HTTP/", as every answer Go's reader takes does.
func (f *framing) answerStart(p []byte) bool {
	const start = "HTTP/"
	for i := len(f.buf); i < len(start); i++ {
		j := i - len(f.buf)
		if j >= len(p) {
			break
		}
		if p[j] != start[i] {
			return false
		}
	}
	return true
}

// stop has f stop judging the connection, and frees what it held for it.
func (f *framing) stop() { f.off, f.buf = true, nil }

// ended returns why no more of the request may be written, when it is not stray bytes:
// its header block passed maxFramedRequest, or an answer came before its end.
func (f *framing) ended() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.long:
		return errHeadTooLong
	case f.early:
		return errAnsweredEarly
	}
	return nil
}

// emptied returns buf emptied for the next header block, or nil when a long one grew
// it: between exchanges a connection keeps no more than a short block's room.
func emptied(buf []byte) []byte {
	if cap(buf) > 4<<10 {
		return nil
	}
	return buf[:0]
}

// block adds p to the header block being read and returns the block once it is whole,
// with what of p follows it; ok is false while it is not whole. An answer's block that
// passes limit stops the judging; a request's is left to the caller, past limit.
func (f *framing) block(p []byte, limit int) (block, rest []byte, ok bool) {
	if len(f.buf) == 0 {
		if end := endOfHead(p, 0); end >= 0 {
			return p[:end], p[end:], true
		}
	}
	from := max(0, len(f.buf)-2)
	f.buf = append(f.buf, p...)
	if end := endOfHead(f.buf, from); end >= 0 {
		return f.buf[:end], f.buf[end:], true
	}
	if len(f.buf) > limit && f.state != frameRequest {
		f.stop()
	}
	return nil, nil, false
}

// endOfHead returns where the header block at the start of b ends, just past its empty
// line, looking from b[from:] on; -1 when it has not ended. A line ends with "\n",
// with or without "\r" before it, as Go's reader takes it: an answer whose lines end
// otherwise than framing reads them would end elsewhere for the transport.
func endOfHead(b []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// lines calls fn with each line of a header block, without its line end.
func lines(block []byte, fn func(line []byte)) {
	for len(block) > 0 {
		var line []byte
		line, block, _ = bytes.Cut(block, []byte("\n"))
		fn(bytes.TrimSuffix(line, []byte("\r")))
	}
}

// request reads a request's header block and returns the length of its body; ok is
// false for a request framing does not follow, whose body's length is not given.
func (f *framing) request(block []byte) (body int64, ok bool) {
	line, fields, _ := bytes.Cut(block, []byte("\n"))
	method, _, _ := bytes.Cut(line, []byte(" "))
	f.head = string(method) == "HEAD"
	cl, te, ok := lengthFields(fields)
	return max(cl, 0), ok && !te
}

// answer reads an answer's header block and reports whether framing follows it, its
// status and length saying where its body ends, and whether it is an interim answer,
// which the final one follows. It sets left to the body's length.
func (f *framing) answer(block []byte) (interim, ok bool) {
	line, fields, _ := bytes.Cut(block, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return false, false
	}
	status, err := strconv.Atoi(string(line[9:12]))
	switch {
	case err != nil || status < 100 || status == 101:
		return false, false // a switch of protocols ends the framing
	case status < 200:
		return true, true
	}
	cl, te, ok := lengthFields(fields)
	switch {
	case !ok || te:
		return false, false
	case f.head || status == 204 || status == 304:
		f.left = 0
	case cl < 0:
		return false, false // its end is the connection's
	default:
		f.left = cl
	}
	return false, true
}

// lengthFields reads the Content-Length (-1 without one) and whether there is a
// Transfer-Encoding from the header fields of a block; ok is false when a length is no
// number, or is given twice with two numbers. (Go's reader takes a length given twice
// only as the same text; where the numbers agree and the texts do not, it refuses the
// answer and the connection ends anyway.)
func lengthFields(fields []byte) (cl int64, te, ok bool) {
	cl, ok = -1, true
	lines(fields, func(line []byte) {
		name, value, found := bytes.Cut(line, []byte(":"))
		switch {
		case !found || !ok:
		case equalFoldASCII(name, "Transfer-Encoding"):
			te = true
		case equalFoldASCII(name, "Content-Length"):
			n, err := strconv.ParseInt(string(bytes.Trim(value, " \t")), 10, 64)
			if cl >= 0 && n != cl || err != nil || n < 0 {
				ok = false
			}
			cl = n
		}
	})
	return cl, te, ok
}

// equalFoldASCII reports whether b is name in any letter case, ASCII letters only, as
// header names are: no other letter folds to one of them.
func equalFoldASCII(b []byte, name string) bool {
	if len(b) != len(name) {
		return false
	}
	for i := range len(b) {
		c, n := b[i], name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= n && n <= 'Z' {
			n += 'a' - 'A'
		}
		if c != n {
			return false
		}
	}
	return true
}
