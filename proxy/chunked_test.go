package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestChunkedResponseFlushesAsItComes has an upstream send the first chunk of a response
// of unknown length, then wait until the client has read that chunk through the gateway
// before it sends the rest: a gateway that held the body back would never let it.
func TestChunkedResponseFlushesAsItComes(t *testing.T) {
	for _, ctype := range []string{"text/plain; charset=utf-8", "application/x-ndjson",
		"application/octet-stream"} {
		t.Run(ctype, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
				r *http.Request) {
				w.Header().Set("Content-Type", ctype)
				fmt.Fprint(w, "first chunk\n")
				w.(http.Flusher).Flush()
				<-release
				fmt.Fprint(w, "second chunk\nthird chunk\n")
			}))
			t.Cleanup(stream.Close)
			t.Cleanup(free) // before the upstream closes, which waits for its handler
			e := newEnvWithUpstream(t, newEcho(t), "  - path: /stream/\n    upstream: \""+
				stream.URL+"\"\n")
			alice := e.session("alice", alicePass)

			req, _ := http.NewRequest("GET", e.gw.URL+"/stream/feed", nil)
			req.Header.Set("Cookie", "gateway_session="+alice)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if res.ContentLength != -1 || len(res.TransferEncoding) != 1 ||
				res.TransferEncoding[0] != "chunked" {
				t.Errorf("Content-Length %d, Transfer-Encoding %q; want a chunked body of "+
					"unknown length", res.ContentLength, res.TransferEncoding)
			}
			if got := res.Header.Get("Content-Type"); got != ctype {
				t.Errorf("Content-Type: got %q, want %q", got, ctype)
			}

			br := bufio.NewReader(res.Body)
			first := make(chan string, 1)
			go func() {
				line, _ := br.ReadString('\n')
				first <- line
			}()
			select {
			case line := <-first:
				if line != "first chunk\n" {
					t.Fatalf("first chunk: got %q", line)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the first chunk was held back until the upstream sent the rest")
			}
			free()
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "second chunk\nthird chunk\n" {
				t.Errorf("rest of the body: got %q, %v", rest, err)
			}
		})
	}
}

// TestStreamedRequestBodyReachesUpstreamWhileSent sends a large request body of unknown
// length and writes its second part only once the upstream has read the first through
// the gateway: a gateway that read the whole body before forwarding it would wait
// forever for the rest.
func TestStreamedRequestBodyReachesUpstreamWhileSent(t *testing.T) {
	head := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)  // 256 KiB
	tail := bytes.Repeat([]byte("fedcba9876543210"), 256<<10) // 4 MiB
	whole := sha256.Sum256(append(append([]byte{}, head...), tail...))

	gotHead := make(chan []byte, 1)
	upload := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		buf := make([]byte, len(head))
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, "reading the head: "+err.Error(), http.StatusBadRequest)
			return
		}
		gotHead <- buf
		h := sha256.New()
		h.Write(buf)
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, "reading the tail: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %s %s", int64(len(buf))+n, hex.EncodeToString(h.Sum(nil)),
			r.Header.Get("X-Forwarded-User"))
	}))
	t.Cleanup(upload.Close)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /upload/\n    upstream: \""+
		upload.URL+"\"\n")
	alice := e.session("alice", alicePass)

	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	req, _ := http.NewRequest("POST", e.gw.URL+"/upload/file", pr)
	req.Header.Set("Cookie", "gateway_session="+alice)
	req.Header.Set("Content-Type", "application/octet-stream")
	type result struct {
		status int
		body   string
		err    error
	}
	answer := make(chan result, 1)
	go func() {
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			answer <- result{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		answer <- result{res.StatusCode, string(b), err}
	}()

	proceed := make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		if _, err := pw.Write(head); err != nil {
			wrote <- err
			return
		}
		<-proceed
		_, err := pw.Write(tail)
		pw.Close()
		wrote <- err
	}()

	select {
	case got := <-gotHead:
		if !bytes.Equal(got, head) {
			t.Fatal("the upstream read another first part than the client sent")
		}
	case r := <-answer:
		t.Fatalf("answered before the body was sent: %d %q %v", r.status, r.body, r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream got nothing of a body still being sent")
	}
	close(proceed)
	if err := <-wrote; err != nil {
		t.Fatalf("writing the rest of the body: %v", err)
	}
	var r result
	select {
	case r = <-answer:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer after the whole body was sent")
	}
	want := fmt.Sprintf("%d %s alice", len(head)+len(tail), hex.EncodeToString(whole[:]))
	if r.err != nil || r.status != http.StatusOK || r.body != want {
		t.Errorf("answer: %d %q %v; want 200 %q", r.status, r.body, r.err, want)
	}
}
