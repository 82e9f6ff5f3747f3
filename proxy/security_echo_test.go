package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The upstream of the security cases, and what it records.

// rawField is one header line as the echo read it.
type rawField struct{ Name, Value string }

// rawSeen is one request as the raw echo received it: names as sent, in order, with
// repeats.
type rawSeen struct {
	Method, Target, Proto string
	Header                []rawField
	Body                  int64
}

// foldHeader lower-cases a header name and reads "_" and "." as "-", the way many
// application stacks turn header names into variables.
func foldHeader(name string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
}

// like returns every line whose folded name equals one of the folded names.
func (s rawSeen) like(names ...string) []rawField {
	var out []rawField
	for _, f := range s.Header {
		for _, n := range names {
			if foldHeader(f.Name) == foldHeader(n) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// get returns the value of the first line named name, ignoring case.
func (s rawSeen) get(name string) string {
	for _, f := range s.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// rawEcho is an upstream that parses requests itself, so header names reach the test
// exactly as the gateway sent them; the Go server would canonicalise them. It answers
// 200, keeps connections alive unless asked to close, and holds the answer to paths
// under /slow/ for Hold.
type rawEcho struct {
	URL string

	// Hold is how long answers to paths under /slow/ are held, in nanoseconds.
	Hold atomic.Int64
	// Busy counts requests whose body is being read or whose answer is held.
	Busy atomic.Int32
	// BodyBytes counts request body bytes received, over all requests.
	BodyBytes atomic.Int64

	recorded[rawSeen]

	ln    net.Listener
	done  chan struct{}
	mu    sync.Mutex // guards conns
	conns map[net.Conn]bool
}

func newRawEcho(t testing.TB) *rawEcho {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &rawEcho{URL: "http://" + ln.Addr().String(), ln: ln, done: make(chan struct{}),
		conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns[c] = true
			e.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.serve(c)
				c.Close()
				e.mu.Lock()
				delete(e.conns, c)
				e.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		close(e.done)
		ln.Close()
		e.mu.Lock()
		for c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		wg.Wait()
	})
	return e
}

func (e *rawEcho) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := readCRLFLine(br)
		if err != nil {
			return
		}
		if line == "" {
			continue
		}
		method, rest, _ := strings.Cut(line, " ")
		target, proto, _ := strings.Cut(rest, " ")
		s := rawSeen{Method: method, Target: target, Proto: proto}
		for {
			l, err := readCRLFLine(br)
			if err != nil {
				return
			}
			if l == "" {
				break
			}
			name, value, _ := strings.Cut(l, ":")
			s.Header = append(s.Header, rawField{name, strings.Trim(value, " \t")})
		}

		e.Busy.Add(1)
		s.Body, err = e.readBody(br, s)
		if err == nil && strings.HasPrefix(target, "/slow/") {
			select {
			case <-time.After(time.Duration(e.Hold.Load())):
			case <-e.done:
			}
		}
		e.Busy.Add(-1)
		e.add(s)
		if err != nil {
			return
		}

		body := fmt.Sprintf("echo %s %s\n", method, target)
		closing := strings.EqualFold(s.get("Connection"), "close")
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n")
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
		if closing {
			b.WriteString("Connection: close\r\n")
		}
		b.WriteString("\r\n")
		if method != http.MethodHead {
			b.WriteString(body)
		}
		if _, err := io.WriteString(c, b.String()); err != nil || closing {
			return
		}
	}
}

// readBody reads a chunked or Content-Length body and returns its length.
func (e *rawEcho) readBody(br *bufio.Reader, s rawSeen) (int64, error) {
	count := &countingWriter{n: &e.BodyBytes}
	if strings.Contains(strings.ToLower(s.get("Transfer-Encoding")), "chunked") {
		var n int64
		for {
			l, err := readCRLFLine(br)
			if err != nil {
				return n, err
			}
			size, _, _ := strings.Cut(l, ";")
			k, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
			if err != nil {
				return n, err
			}
			if k == 0 {
				for {
					l, err := readCRLFLine(br)
					if err != nil || l == "" {
						return n, err
					}
				}
			}
			m, err := io.CopyN(count, br, k)
			n += m
			if err != nil {
				return n, err
			}
			if _, err := readCRLFLine(br); err != nil {
				return n, err
			}
		}
	}
	if cl := s.get("Content-Length"); cl != "" {
		k, err := strconv.ParseInt(cl, 10, 64)
		if err != nil {
			return 0, err
		}
		return io.CopyN(count, br, k)
	}
	return 0, nil
}

type countingWriter struct{ n *atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

func readCRLFLine(br *bufio.Reader) (string, error) {
	l, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(l, "\r\n"), nil
}
