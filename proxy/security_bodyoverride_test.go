package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// wholeBodies is an upstream that records the bodies it received in full. A body cut
// short never reaches an app's code, so it is not recorded.
type wholeBodies struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newWholeBodies(t *testing.T) *wholeBodies {
	u := &wholeBodies{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		u.mu.Lock()
		u.bodies = append(u.bodies, string(b))
		u.mu.Unlock()
		fmt.Fprint(w, "app")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *wholeBodies) got() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.bodies...)
}

// multipartBody builds a form-data body of name and value pairs with boundary b.
func multipartBody(b string, pairs ...string) string {
	var s strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&s, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n",
			b, pairs[i], pairs[i+1])
	}
	return s.String() + "--" + b + "--\r\n"
}

// TestBodyMethodOverride: on a route with a methods rule, a "_method" field in a form,
// multipart or JSON body must name an allowed method, as Rails, Laravel and Symfony act
// on it; the app never receives in full a body the gateway refuses.
func TestBodyMethodOverride(t *testing.T) {
	up := newWholeBodies(t)
	e := newEnv(t, `  - path: /reports/
    upstream: "`+up.URL+`"
    allow:
      users: [alice]
      methods: [GET, POST]
  - path: /open/
    upstream: "`+up.URL+`"
`)
	alice := e.session("alice", alicePass)
	const form = "application/x-www-form-urlencoded"
	const mp = "multipart/form-data; boundary=xYzZY"
	big := strings.Repeat("field=some+text&", 1<<16) // 1 MiB
	tests := []struct {
		name, path, ct, body string
		want                 int
	}{
		{"form, allowed method", "/reports/a", form, "a=1&_method=post", 200},
		{"form, other fields", "/reports/a", form, "payment_method=card&methodology=x", 200},
		{"form", "/reports/a", form, "a=1&_method=DELETE", 403},
		{"form, lower case", "/reports/a", form, "_METHOD=delete", 403},
		{"form, escaped key", "/reports/a", form, "%5Fmethod=PUT", 403},
		{"form, PHP reads . as _", "/reports/a", form, ".method=PUT", 403},
		{"form, PHP drops leading spaces", "/reports/a", form, "+_method=PATCH", 403},
		{"form, array", "/reports/a", form, "_method[]=DELETE", 403},
		{"form, after a semicolon", "/reports/a", form, "a=1;_method=DELETE", 403},
		{"form, type with charset", "/reports/a", form + "; charset=UTF-8",
			"_method=DELETE", 403},
		{"no type, as Rack reads a form", "/reports/a", "", "_method=DELETE", 403},
		{"form, at the end of a large body", "/reports/a", form,
			big + "_method=DELETE", 403},
		{"form, large body", "/reports/a", form, big + "_method=GET", 200},
		{"form, value too long", "/reports/a", form,
			"_method=" + strings.Repeat("G", 100), 403},
		{"text is no form", "/reports/a", "text/plain", "_method=DELETE", 200},
		{"JSON", "/reports/a", "application/json", `{"a":1,"_method":"DELETE"}`, 403},
		{"JSON, escaped key", "/reports/a", "application/json",
			`{"\u005fmethod" : "put"}`, 403},
		{"JSON, not a string", "/reports/a", "application/json", `{"_method":["PUT"]}`, 403},
		{"JSON type of an API", "/reports/a", "application/vnd.api+json",
			`{"_method":"PATCH"}`, 403},
		{"JSON, allowed", "/reports/a", "application/json", `{"_method":"GET"}`, 200},
		{"JSON, nested", "/reports/a", "application/json",
			`{"a":{"_method":"DELETE"},"b":["_method","DELETE"]}`, 200},
		{"JSON, in an array", "/reports/a", "application/json", `[{"_method":"PUT"}]`, 200},
		{"JSON, key in a string", "/reports/a", "application/json",
			`{"a":"\",\"_method\":\"PUT","b":1}`, 200},
		{"multipart", "/reports/a", mp, multipartBody("xYzZY", "a", "1",
			"_method", "DELETE"), 403},
		{"multipart, allowed", "/reports/a", mp, multipartBody("xYzZY", "_method", "POST",
			"payment_method", "card"), 200},
		{"multipart, unquoted name", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name=_method\r\n\r\nPUT\r\n--xYzZY--\r\n", 403},
		{"multipart, part behind a delimiter Go reads as data", "/reports/a", mp,
			"--xYzZY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" +
				"--xYzZYx\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\n" +
				"DELETE\r\n--xYzZY--\r\n", 400},
		{"multipart, delimiter after the last", "/reports/a", mp,
			multipartBody("xYzZY", "a", "1") + "--xYzZY\r\n" +
				"Content-Disposition: form-data; name=\"_method\"\r\n\r\nDELETE\r\n", 400},
		{"multipart, no closing delimiter", "/reports/a", mp,
			"--xYzZY\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nPUT\r\n", 400},
		{"multipart, a name another reader finds", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name=\"a\\\"; name=_method\"\r\n\r\n" +
			"PUT\r\n--xYzZY--\r\n", 400},
		{"form, brackets Rack drops", "/reports/a", form, "a=1&[_method]=DELETE", 403},
		{"multipart, a backslash Rack drops", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name=\"\\_method\"\r\n\r\nPUT\r\n--xYzZY--\r\n", 403},
		// Tomcat's Commons FileUpload decodes these names; Go does not, or not all
		{"multipart, name as an RFC 2047 word", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name=\"=?UTF-8?B?X21ldGhvZA==?=\"\r\n\r\n" +
			"DELETE\r\n--xYzZY--\r\n", 400},
		{"multipart, name as a Q-encoded word", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name=\"=?ISO-8859-1?Q?=5Fmethod?=\"\r\n\r\n" +
			"DELETE\r\n--xYzZY--\r\n", 400},
		{"multipart, name in Latin-1 the RFC 2231 way", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name*=ISO-8859-1''%5Fmethod\r\n\r\n" +
			"DELETE\r\n--xYzZY--\r\n", 400},
		{"multipart, name in UTF-8 the RFC 2231 way", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name *= UTF-8''a\r\n\r\n1\r\n--xYzZY--\r\n",
			400},
		{"multipart, a file name the RFC 2231 way", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''r%C3%A9sum%C3%A9" +
			"\r\n\r\n1\r\n--xYzZY--\r\n", 200},
		{"multipart, named by Content-ID", "/reports/a", mp, "--xYzZY\r\n" +
			"Content-ID: _method\r\n\r\nPUT\r\n--xYzZY--\r\n", 403},
		{"multipart, a header line PHP splits", "/reports/a", mp, "--xYzZY\r\nX-Pad: " +
			strings.Repeat("a", 5113) + "Content-Disposition: name=_method\r\n\r\n" +
			"DELETE\r\n--xYzZY--\r\n", 400},
		{"multipart, headers ended by LF alone", "/reports/a", mp, "--xYzZY\r\nX-A: b\n\n" +
			"Content-Disposition: form-data; name=\"_method\"\r\n\r\nDELETE\r\n" +
			"--xYzZY--\r\n", 400},
		{"multipart, boundaries readers disagree on", "/reports/a",
			"multipart/form-data; xboundary=other; boundary=xYzZY",
			multipartBody("xYzZY", "a", "1"), 400},
		// Tomcat decodes a form, Express a JSON body, in the charset the type names
		{"form in EBCDIC", "/reports/a", form + "; charset=IBM037",
			"%6D%94%85%A3%88%96%84=%C4%C5%D3%C5%E3%C5", 415},
		{"form in UTF-16", "/reports/a", form + ";charset=\"UTF-16LE\"",
			"_\x00m\x00e\x00t\x00h\x00o\x00d\x00=\x00P\x00U\x00T\x00", 415},
		{"form, charset the RFC 2231 way", "/reports/a", form + "; charset*=utf-16''",
			"a=1", 415},
		{"form, a second charset", "/reports/a", form + "; charset=utf-8; charset=utf-7",
			"a=1", 415},
		{"form in Latin-1", "/reports/a", form + "; charset=ISO-8859-1", "a=%E9", 200},
		{"JSON in UTF-7", "/reports/a", "application/json; charset=utf-7",
			`{+ACI-_method+ACI-:+ACI-DELETE+ACI-}`, 415},
		{"JSON in UTF-16, no charset", "/reports/a", "application/json",
			"{\x00\"\x00_\x00m\x00e\x00t\x00h\x00o\x00d\x00\"\x00:\x00\"\x00P\x00U\x00" +
				"T\x00\"\x00}\x00", 400},
		{"JSON behind a UTF-16 byte-order mark", "/reports/a", "application/json",
			"\xff\xfe{}", 400},
		{"JSON behind a UTF-8 byte-order mark", "/reports/a", "application/json",
			"\xef\xbb\xbf{\"_method\":\"GET\"}", 200},
		{"JSON, quoted UTF-8", "/reports/a", `application/json; charset="utf-8"`,
			`{"_method":"GET"}`, 200},
		{"multipart in UTF-16", "/reports/a", mp + "; charset=utf-16",
			multipartBody("xYzZY", "a", "1"), 415},
		{"text in UTF-16 is no form", "/reports/a", "text/plain; charset=utf-16", "a", 200},
		{"no methods rule", "/open/a", form, "_method=DELETE", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.got())
			hdr := http.Header{}
			if tt.ct != "" {
				hdr.Set("Content-Type", tt.ct)
			}
			r := e.rawWith("POST", tt.path, alice, hdr, strings.NewReader(tt.body))
			if r.StatusCode != tt.want {
				t.Fatalf("status: got %d, want %d: %.200s", r.StatusCode, tt.want, r.body)
			}
			got := up.got()[before:]
			switch {
			case tt.want == 200 && (len(got) != 1 || got[0] != tt.body):
				t.Errorf("app got %d bodies, want this one", len(got))
			case tt.want != 200 && len(got) != 0:
				t.Errorf("app got a whole body the gateway refused")
			case tt.want == 403 && !strings.Contains(r.body, "who may not send "):
				t.Errorf("403 page does not name the method:\n%s", r.body)
			}
		})
	}

	t.Run("chunked", func(t *testing.T) {
		before := len(up.got())
		r := e.rawWith("POST", "/reports/a", alice, http.Header{"Content-Type": {form}},
			io.MultiReader(strings.NewReader(big), strings.NewReader("_method=PUT")))
		if r.StatusCode != 403 || len(up.got()) != before {
			t.Errorf("status %d, app got %d bodies", r.StatusCode, len(up.got())-before)
		}
	})

	for _, tt := range []struct {
		name string
		hdr  http.Header
		want int
	}{
		{"two content types", http.Header{"Content-Type": {"text/plain", form}}, 400},
		// Thin and Mongrel read "_" as "-", and the copy replaces the real header
		{"a type spelt with _", http.Header{"Content-Type": {"text/plain"},
			"Content_Type": {form}}, 400},
		{"a length spelt with .", http.Header{"Content-Type": {"text/plain"},
			"Content.length": {"3"}}, 400},
		// the proxy drops what Connection names: the app would see no type, and Rack
		// reads a body without one as a form
		{"the type named in Connection", http.Header{"Content-Type": {"text/plain"},
			"Connection": {"Content-Type"}}, 400},
		{"the type named in Connection among others", http.Header{
			"Content-Type": {"text/plain"}, "Connection": {"keep-alive, content_type"}}, 400},
		{"the length named in Connection", http.Header{"Content-Type": {"text/plain"},
			"Connection": {"keep-alive", "Content-Length"}}, 400},
		{"keep-alive in Connection", http.Header{"Content-Type": {"text/plain"},
			"Connection": {"keep-alive"}}, 200},
		// CGI servers read every other character as "_"
		{"a type spelt with ~", http.Header{"Content-Type": {"text/plain"},
			"Content~Type": {form}}, 400},
		{"an encoding spelt with |", http.Header{"Content-Type": {"text/plain"},
			"Content|Encoding": {"gzip"}}, 400},
		{"a framing header spelt with _", http.Header{"Content-Type": {"text/plain"},
			"Transfer_encoding": {"chunked"}}, 400},
		{"a form with a content encoding", http.Header{"Content-Type": {form},
			"Content-Encoding": {"gzip"}}, http.StatusUnsupportedMediaType},
		{"text with a content encoding", http.Header{"Content-Type": {"text/plain"},
			"Content-Encoding": {"gzip"}}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.rawWith("POST", "/reports/a", alice, tt.hdr,
				strings.NewReader("_method=PUT"))
			if r.StatusCode != tt.want {
				t.Errorf("status %d, want %d", r.StatusCode, tt.want)
			}
		})
	}
}

// TestBodyGateEndsWithTheRequest sends multipart bodies on a methods route to an app that
// is down and to one that answers before reading them: the proxy stops reading such a
// body part-way and never closes it, and the scanner reading it must end all the same.
func TestBodyGateEndsWithTheRequest(t *testing.T) {
	early := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "no thanks")
	}))
	t.Cleanup(early.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	e := newEnv(t, `  - path: /down/
    upstream: "`+down.URL+`"
    allow:
      methods: [GET, POST]
  - path: /early/
    upstream: "`+early.URL+`"
    allow:
      methods: [GET, POST]
`)
	alice := e.session("alice", alicePass)
	body := multipartBody("xYzZY", "a", strings.Repeat("x", 40<<10), "b", "2")
	for _, path := range []string{"/down/x", "/early/x"} {
		for range 10 {
			r := e.rawWith("POST", path, alice, http.Header{
				"Content-Type": {"multipart/form-data; boundary=xYzZY"}},
				strings.NewReader(body))
			if r.StatusCode != http.StatusBadGateway && r.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", path, r.StatusCode)
			}
		}
	}
	// the scanners' goroutines end once their requests have; allow them a moment
	var stacks string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "multipartScanner).read") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("multipart scanners still running after their requests ended:\n%s", stacks)
}
