package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// upload is one request body as the upload upstream received it.
type upload struct {
	path     string
	length   int64 // Content-Length, -1 when chunked
	size     int
	sum      [32]byte
	complete bool // the body was read to its end without error
}

// uploads is an upstream that reads every body to its end and records what it got, byte
// for byte.
type uploads struct {
	*httptest.Server
	recorded[upload]
	busy atomic.Int32 // requests being read
}

func newUploads(t *testing.T) *uploads {
	t.Helper()
	u := &uploads{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		u.busy.Add(1)
		defer u.busy.Add(-1)
		b, err := io.ReadAll(r.Body)
		u.add(upload{r.URL.Path, r.ContentLength, len(b), sha256.Sum256(b), err == nil})
		w.Write([]byte("stored"))
	}))
	t.Cleanup(u.Close)
	return u
}

// since returns the uploads to path recorded after the first n.
func (u *uploads) since(n int, path string) []upload {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []upload
	for _, r := range u.reqs[n:] {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

func TestMaxBody(t *testing.T) {
	const limit = 1024 // max_body: 1KiB
	up := newUploads(t)
	e := newEnvWithUpstream(t, newEcho(t), "  - path: /upload/\n    upstream: \""+up.URL+
		"\"\n    max_body: 1KiB\n")
	alice := e.session("alice", alicePass)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, tt := range []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"empty", 0, false, http.StatusOK},
		{"under the limit", limit - 1, false, http.StatusOK},
		{"under the limit, chunked", limit - 1, true, http.StatusOK},
		{"exactly the limit", limit, false, http.StatusOK},
		{"exactly the limit, chunked", limit, true, http.StatusOK},
		{"one byte over", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"one byte over, chunked", limit + 1, true, http.StatusRequestEntityTooLarge},
		{"1 MiB", 1 << 20, false, http.StatusRequestEntityTooLarge},
		{"1 MiB, chunked", 1 << 20, true, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := make([]byte, tt.size)
			for i := range body {
				body[i] = byte(rng.UintN(256))
			}
			var r io.Reader = bytes.NewReader(body)
			if tt.chunked {
				r = struct{ io.Reader }{r} // no length known: sent chunked
			}
			// A path of its own: a cut upload of the case before may reach the upstream late.
			path := fmt.Sprintf("/upload/file%d", i)
			req, _ := http.NewRequest(http.MethodPost, e.gw.URL+path, r)
			req.Header.Set("Cookie", "gateway_session="+alice)
			before := up.count()
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.want)
			}
			if tt.want == http.StatusOK {
				length := int64(tt.size)
				if tt.chunked {
					length = -1
				}
				got := up.since(before, path)
				if len(got) != 1 || !got[0].complete ||
					got[0].length != length || got[0].size != tt.size ||
					got[0].sum != sha256.Sum256(body) {
					t.Errorf("upstream got %+v, want the %d bytes sent, intact, with "+
						"Content-Length %d", got, tt.size, length)
				}
				return
			}
			// A cut upload may still be ending at the upstream.
			if !waitFor(5*time.Second, func() bool { return up.busy.Load() == 0 }) {
				t.Fatal("the upstream is still reading a refused upload")
			}
			got := up.since(before, path)
			if !tt.chunked && len(got) != 0 {
				// The length was announced: refused before the upstream is asked.
				t.Errorf("upstream got %d requests, want none", len(got))
			}
			for _, u := range got {
				// Streamed until the limit is passed; never all of it, never a whole one.
				if u.complete || u.size > limit {
					t.Errorf("upstream got a body of %d bytes, complete %t; want the upload "+
						"cut at %d bytes", u.size, u.complete, limit)
				}
			}
		})
	}
}
