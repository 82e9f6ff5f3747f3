package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// step is one Write (w) or Read (r) on a connection to an upstream, and what framing
// should make of it: for a read, how many of its bytes it keeps; for a write, whether
// it may go.
type step struct {
	op   byte
	data string
	keep int // for reads; -1 for all of them
	ok   bool
}

const (
	getReq  = "GET /a HTTP/1.1\r\nHost: app\r\nUser-Agent: gw\r\n\r\n"
	headReq = "HEAD /a HTTP/1.1\r\nHost: app\r\n\r\n"
	postReq = "POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\n\r\n"
	ok5     = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello"
	second  = "HTTP/1.1 200 OK\r\nSet-Cookie: sid=alice\r\nContent-Length: 4\r\n\r\nLEAK"
	lfOK5   = "HTTP/1.1 200 OK\nContent-Length: 5\nX: y\n\nhello"
	hints   = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
)

func w(s string) step            { return step{op: 'w', data: s, ok: true} }
func r(s string) step            { return step{op: 'r', data: s, keep: -1} }
func rKeep(s string, n int) step { return step{op: 'r', data: s, keep: n} }

// TestFramingFindsStrayBytes: bytes past an answer are cut off, and the connection is
// done with; well-framed exchanges, and those framing does not follow, pass whole.
func TestFramingFindsStrayBytes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		steps []step
		stray bool
	}{
		{"two exchanges", []step{w(getReq), r(ok5), w(getReq), r(ok5)}, false},
		{"answer in pieces", []step{w(getReq), r(ok5[:5]), r(ok5[5:30]), r(ok5[30:40]),
			r(ok5[40:])}, false},
		{"header block split at its end", []step{w(getReq), r(ok5[:len(ok5)-6]),
			r(ok5[len(ok5)-6 : len(ok5)-5]), r(ok5[len(ok5)-5:]), w(getReq), r(ok5)}, false},
		{"a long header block in pieces", []step{w(getReq),
			r("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 10<<10)),
			r("\r\nContent-Length: 5\r\n\r\nhello"), w(getReq), r(ok5)}, false},
		{"request in pieces", []step{w(getReq[:10]), w(getReq[10:]), r(ok5)}, false},
		{"a second answer in the same read", []step{w(getReq), rKeep(ok5+second, len(ok5)),
			{op: 'w', data: getReq, ok: false}}, true},
		{"a body longer than its length", []step{w(getReq), rKeep(ok5+"world", len(ok5))},
			true},
		{"bytes while idle", []step{w(getReq), r(ok5), rKeep(second, 0),
			{op: 'w', data: getReq, ok: false}}, true},
		{"a body after the answer to a HEAD", []step{w(headReq),
			rKeep("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 38)}, true},
		{"lines ending in LF alone", []step{w(getReq), r(lfOK5), w(getReq), r(lfOK5)},
			false},
		{"lines ending in LF alone, then a second answer", []step{w(getReq),
			rKeep(lfOK5+second, len(lfOK5))}, true},
		{"a block ending in CR LF LF", []step{w(getReq),
			rKeep("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\nhello"+second, 42)}, true},
		{"no body for 204 and 304", []step{w(getReq), r("HTTP/1.1 204 No Content\r\n\r\n"),
			w(getReq), r("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
			w(getReq), r(ok5)}, false},
		{"chunked: not followed", []step{w(getReq), r("HTTP/1.1 200 OK\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + second)}, false},
		{"no length: not followed", []step{w(getReq), r("HTTP/1.0 200 OK\r\n\r\n" + second)},
			false},
		{"interim answers, then a second answer", []step{w(getReq),
			rKeep(hints+hints+ok5+second, 2*len(hints)+len(ok5))}, true},
		{"a request with a body, then a second answer", []step{w(postReq), w("abc"),
			rKeep(ok5+second, len(ok5))}, true},
		{"an answer before the whole body", []step{w(postReq), w("a"), r(ok5), w("bc"),
			w(getReq), r(ok5), w(postReq + "abc"), r(ok5)}, false},
		{"more written than the body: not followed", []step{w(postReq), w("abcd"),
			r(ok5 + second)}, false},
		{"a chunked request: not followed", []step{w("POST /a HTTP/1.1\r\nHost: app\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n"), w("3\r\nabc\r\n0\r\n\r\n"),
			r(ok5 + second)}, false},
		{"a switch of protocols: not followed", []step{w(getReq),
			r("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n" + second)},
			false},
		{"a length given twice, the same", []step{w(getReq), rKeep("HTTP/1.1 200 OK\r\n"+
			"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"+second, 62)}, true},
		{"two lengths: not followed", []step{w(getReq), r("HTTP/1.1 200 OK\r\n" +
			"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" + second)}, false},
		{"an answer before the whole request: passed on, and the request goes no further",
			[]step{w(getReq[:10]), r("HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n"),
				{op: 'w', data: getReq[10:], ok: false}}, false},
		{"a request's header block longer than an answer's may be", []step{
			w("GET /a HTTP/1.1\r\nX: " + strings.Repeat("a", 4<<10)),
			w(strings.Repeat("a", maxFramedHead)), w("\r\n\r\n"),
			rKeep(ok5+second, len(ok5))}, true},
		{"a request's header block past its bound goes no further", []step{
			w("GET /a HTTP/1.1\r\nX: " + strings.Repeat("a", 4<<10)),
			w(strings.Repeat("a", maxFramedRequest-8<<10)),
			{op: 'w', data: strings.Repeat("a", 8<<10), ok: false},
			{op: 'w', data: "\r\n\r\n", ok: false}}, false},
		{"a header block past the bound, in pieces: not followed", []step{w(getReq),
			r("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxFramedHead)),
			r("\r\nContent-Length: 5\r\n\r\nhello" + second)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &framing{}
			for i, s := range tt.steps {
				switch s.op {
				case 'w':
					if got := f.wrote([]byte(s.data)); got != s.ok {
						t.Fatalf("step %d: write may go: %v, want %v", i, got, s.ok)
					}
				case 'r':
					want := s.keep
					if want < 0 {
						want = len(s.data)
					}
					if got := f.read([]byte(s.data)); got != want {
						t.Fatalf("step %d: read kept %d bytes of %d, want %d", i, got,
							len(s.data), want)
					}
				}
			}
			if f.stray != tt.stray {
				t.Errorf("stray %v, want %v", f.stray, tt.stray)
			}
			if c := cap(f.buf); c > 4<<10 {
				t.Errorf("%d bytes of room kept for header blocks, want at most 4 KiB", c)
			}
		})
	}
}

// FuzzFramingWholeExchanges: exchanges that are framed right, cut into reads anywhere,
// are never taken for stray bytes, nor cut.
func FuzzFramingWholeExchanges(f *testing.F) {
	f.Add([]byte{5, 0, 3, 200, 7}, true)
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1, 1}, false)
	f.Add([]byte{250, 30, 0, 0, 4}, true)
	f.Fuzz(func(t *testing.T, shape []byte, head bool) {
		eol := "\r\n"
		if len(shape) > 0 && shape[0]%2 == 1 {
			eol = "\n"
		}
		fr := &framing{}
		for len(shape) >= 2 {
			size, cut := int(shape[0]), int(shape[1])
			shape = shape[2:]
			req, status := getReq, "200 OK"
			if head {
				req = headReq
			}
			if size%7 == 0 {
				status = "204 No Content"
			}
			body := strings.Repeat("b", size)
			ans := "HTTP/1.1 " + status + eol + "Content-Length: " + strconv.Itoa(size) +
				eol + eol
			if !head && status == "200 OK" {
				ans += body
			}
			if !fr.wrote([]byte(req)) {
				t.Fatal("a request refused on a well-framed connection")
			}
			for len(ans) > 0 {
				n := min(len(ans), cut%len(ans)+1)
				if got := fr.read([]byte(ans[:n])); got != n {
					t.Fatalf("read kept %d of %d bytes of a well-framed answer", got, n)
				}
				ans = ans[n:]
			}
		}
		if fr.stray {
			t.Error("well-framed exchanges taken for stray bytes")
		}
	})
}

// BenchmarkFraming follows one exchange: a GET's header block written, its answer read.
func BenchmarkFraming(b *testing.B) {
	f := &framing{}
	req, ans := []byte(getReq), []byte(ok5)
	for b.Loop() {
		f.wrote(req)
		f.read(ans)
	}
}

// FuzzFramingAgreesWithGo: where framing judges an answer whole, it ends where Go's own
// reader of answers ends it. Ending later would let bytes Go leaves for the next answer
// through; ending sooner would cut a sound answer.
func FuzzFramingAgreesWithGo(f *testing.F) {
	f.Add([]byte(ok5 + second))
	f.Add([]byte(lfOK5 + second))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\nhello" + second))
	f.Add([]byte("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte(hints + hints + ok5 + second))
	f.Fuzz(func(t *testing.T, stream []byte) {
		fr := &framing{}
		fr.wrote([]byte(getReq))
		keep := fr.read(stream)
		if fr.off || !fr.stray && fr.state != frameIdle {
			return // not judged, or not whole yet
		}
		src := bytes.NewReader(stream)
		br := bufio.NewReader(src)
		// as Go's transport does, interim answers are read past
		res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		for err == nil && res.StatusCode >= 100 && res.StatusCode < 200 &&
			res.StatusCode != http.StatusSwitchingProtocols {
			res, err = http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		}
		if err != nil {
			return // Go takes no answer from it: the connection is done
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return
		}
		if end := len(stream) - br.Buffered() - src.Len(); end != keep {
			t.Fatalf("framing ends the answer at %d, Go at %d: %q", keep, end, stream)
		}
	})
}

// TestFramingEndsAtStrayBytes: once bytes past an answer were found, no later read of
// the connection passes anything on, whatever a reader of the transport asks again.
func TestFramingEndsAtStrayBytes(t *testing.T) {
	f := &framing{}
	f.wrote([]byte(getReq))
	if keep := f.read([]byte(ok5 + second)); keep != len(ok5) {
		t.Fatalf("kept %d bytes of the answer and the stray one, want %d", keep, len(ok5))
	}
	if keep := f.read([]byte(ok5)); keep != 0 {
		t.Errorf("a read after stray bytes passed %d bytes on, want none", keep)
	}
	if f.wrote([]byte(getReq)) {
		t.Error("a new request may be written after stray bytes")
	}
}

// TestFramingFreesWhenItStops: a connection whose framing stopped judging it, after a
// long header block that came in pieces, keeps no room for it: an idle pool of such
// connections would otherwise hold tens of KiB each.
func TestFramingFreesWhenItStops(t *testing.T) {
	chunked := &framing{}
	chunked.wrote([]byte(getReq))
	chunked.read([]byte("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 30<<10)))
	chunked.read([]byte("\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	early := &framing{}
	early.wrote([]byte("GET / HTTP/1.1\r\nCookie: " + strings.Repeat("c", 40<<10)))
	early.read([]byte("HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n"))
	for name, f := range map[string]*framing{"chunked answer": chunked,
		"answer before the request's end": early} {
		if !f.off || cap(f.buf) != 0 {
			t.Errorf("%s: off %v, %d bytes of room kept; want off and none", name, f.off,
				cap(f.buf))
		}
	}
}

// exchange is what a client of Go's transport saw of one exchange.
type exchange struct {
	failed bool
	status int
	header string
	body   string
}

// exchangeOver sends method, with body when it is not empty, through a transport of
// its own to an app that answers with stream, written in pieces whose lengths cuts
// gives in turn (all at once without cuts), over a pipe whose client end is an
// upstreamConn, framed when framed is set, and returns what the client saw.
func exchangeOver(framed bool, method, body string, stream, cuts []byte) exchange {
	tr := &http.Transport{
		DisableCompression: true,
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			client, app := net.Pipe()
			app.SetDeadline(time.Now().Add(2 * time.Second))
			go func() {
				defer app.Close()
				br := bufio.NewReader(app)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				for i, s := 0, stream; len(s) > 0; i++ {
					n := len(s)
					if len(cuts) > 0 {
						n = min(n, int(cuts[i%len(cuts)])%n+1)
					}
					if _, err := app.Write(s[:n]); err != nil {
						return
					}
					s = s[n:]
				}
			}()
			uc := &upstreamConn{Conn: client}
			if framed {
				uc.framing = &framing{}
			}
			return uc, nil
		},
	}
	defer tr.CloseIdleConnections()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, "http://app/a", rd)
	res, err := tr.RoundTrip(req)
	if err != nil {
		return exchange{failed: true}
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return exchange{failed: true}
	}
	return exchange{status: res.StatusCode, header: fmt.Sprint(res.Header), body: string(b)}
}

// FuzzFramedTransportAgrees holds what a client of Go's transport sees of one exchange
// over a framed connection to what it sees over a plain one, for GET, HEAD and a POST
// with a body, whatever the app answers and however its answer is cut into writes:
// framing drops only what follows an answer, which no client of that exchange sees.
func FuzzFramedTransportAgrees(f *testing.F) {
	for _, s := range []string{ok5 + second, lfOK5, hints + ok5,
		"HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 005\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\ncontent-length:5\r\nX: a\r\n b\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\nzzz",
		"HTTP/1.1  200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"hello" + ok5,
	} {
		f.Add([]byte(s), []byte{3, 7}, byte(0))
		f.Add([]byte(s), []byte{}, byte(1))
		f.Add([]byte(s), []byte{1}, byte(2))
	}
	f.Fuzz(func(t *testing.T, stream, cuts []byte, kind byte) {
		if len(stream) > 4096 {
			return
		}
		method, body := http.MethodGet, ""
		switch kind % 3 {
		case 1:
			method = http.MethodHead
		case 2:
			method, body = http.MethodPost, "abc"
		}
		plain := exchangeOver(false, method, body, stream, cuts)
		framed := exchangeOver(true, method, body, stream, cuts)
		if plain != framed {
			t.Fatalf("%s %q: plain %+v, framed %+v", method, stream, plain, framed)
		}
	})
}

// TestFramingTellsStrayAnswers: of the bytes an app sends past an answer, only those
// that start as an answer does count as an answer sent twice; an error page after the
// answer to a HEAD, as some servers send for a request they cannot read, does not.
func TestFramingTellsStrayAnswers(t *testing.T) {
	const head = "HEAD /a HTTP/1.1\r\nHost: app\r\n\r\n"
	for _, tt := range []struct {
		name, req, stream string
		answer            bool
	}{
		{"a second answer", getReq, ok5 + second, true},
		{"the start of one", getReq, ok5 + "HTT", true},
		{"a page after a HEAD's answer", head,
			"HTTP/1.0 400 Bad request\r\nContent-Length: 9\r\n\r\n<html>400", false},
		{"a line end past a body", getReq, ok5 + "\r\n", false},
	} {
		f := &framing{}
		f.wrote([]byte(tt.req))
		f.read([]byte(tt.stream))
		if !f.stray || f.sentAnswer() != tt.answer {
			t.Errorf("%s: stray %v, answer %v; want stray, answer %v", tt.name, f.stray,
				f.sentAnswer(), tt.answer)
		}
	}
}
