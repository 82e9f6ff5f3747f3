package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAcceptEncodingPassedAsSent: the upstream sees the client's Accept-Encoding as the
// client sent it, and none when the client sent none, and its answer reaches the client
// as the upstream encoded it. Go's transport would otherwise ask for gzip on the
// client's behalf and unpack the answer in the gateway.
func TestAcceptEncodingPassedAsSent(t *testing.T) {
	const text = "the upstream's page, long enough to be worth packing"
	var packed bytes.Buffer
	zw := gzip.NewWriter(&packed)
	zw.Write([]byte(text))
	zw.Close()
	got := make(chan []string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Values("Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(packed.Bytes())
			return
		}
		io.WriteString(w, text)
	}))
	e, alice := signedInBefore(t, up, "")

	for _, tt := range []struct {
		name     string
		sent     []string // Accept-Encoding lines the client sends
		encoding string   // Content-Encoding the client gets
		body     []byte
	}{
		{"none", nil, "", []byte(text)},
		{"gzip", []string{"gzip"}, "gzip", packed.Bytes()},
		{"several", []string{"br, gzip;q=0.5", "zstd"}, "gzip", packed.Bytes()},
		{"identity", []string{"identity"}, "", []byte(text)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(e.gw.URL)
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			req := "GET /page HTTP/1.1\r\nHost: " + u.Host + "\r\nCookie: gateway_session=" +
				alice + "\r\n"
			for _, v := range tt.sent {
				req += "Accept-Encoding: " + v + "\r\n"
			}
			io.WriteString(c, req+"\r\n")
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if seen := <-got; strings.Join(seen, "|") != strings.Join(tt.sent, "|") {
				t.Errorf("upstream saw Accept-Encoding %q, want %q", seen, tt.sent)
			}
			if ce := res.Header.Get("Content-Encoding"); ce != tt.encoding {
				t.Errorf("client got Content-Encoding %q, want %q", ce, tt.encoding)
			}
			if !bytes.Equal(body, tt.body) {
				t.Errorf("client got body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestContentTypePassedAsSent: an answer reaches the client with the Content-Type the
// upstream gave it, and with none when it gave none, signed in or not. Go's server
// would otherwise guess a type from the first bytes, and could call text/html what the
// app sent untyped.
func TestContentTypePassedAsSent(t *testing.T) {
	const page = "<html><script>alert(1)</script></html>"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.URL.Query()["type"]; len(ct) > 0 {
			w.Header()["Content-Type"] = ct
		} else {
			w.Header()["Content-Type"] = nil // the upstream's own server guesses none
		}
		io.WriteString(w, page)
	}))
	e, alice := signedInBefore(t, up, "    public: [/open/]\n")

	for _, tt := range []struct {
		name, path, cookie string
		want               []string
	}{
		{"untyped", "/page", alice, nil},
		{"untyped public", "/open/page", "", nil},
		{"untyped public signed in", "/open/page", alice, nil},
		{"typed", "/page?type=application/octet-stream", alice,
			[]string{"application/octet-stream"}},
		{"typed public", "/open/page?type=text/plain", "", []string{"text/plain"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.gw.URL+tt.path, nil)
			if tt.cookie != "" {
				req.Header.Set("Cookie", "gateway_session="+tt.cookie)
			}
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || string(body) != page {
				t.Fatalf("status %d, body %q; want 200 and the upstream's page",
					res.StatusCode, body)
			}
			if got := res.Header.Values("Content-Type"); strings.Join(got, "|") !=
				strings.Join(tt.want, "|") {
				t.Errorf("client got Content-Type %q, want %q", got, tt.want)
			}
		})
	}
}

// signedInBefore returns a gateway with one route, to up (closed when the test ends),
// with route's lines added to it, and alice's session on it.
func signedInBefore(t *testing.T, up *httptest.Server, route string) (*env, string) {
	t.Helper()
	t.Cleanup(up.Close)
	e := newEnvFromYAML(t, nil, t.TempDir(), fmt.Sprintf("session:\n  secrets: [%q]\n",
		secret)+"routes:\n  - upstream: \""+up.URL+"\"\n"+route)
	return e, e.session("alice", alicePass)
}
