package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAnswersKeptPrivate: an answer made for a signed-in user, or carrying a cookie the
// gateway set, is one no shared cache in front of the gateway may store, whatever the
// app says (an app without a login of its own may call its pages public); what the app
// tells the browser's own cache stays. An anonymous answer on a public path is the
// app's to describe.
func TestAnswersKeptPrivate(t *testing.T) {
	up := &echo{}
	up.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		if cc := r.URL.Query()["cc"]; len(cc) > 0 {
			w.Header()["Cache-Control"] = cc
		}
		w.Header().Set("CDN-Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Control", "max-age=600")
		w.Header().Set("X-Accel-Expires", "600")
		w.Header().Set("Netlify-CDN-Cache-Control", "public, max-age=600")
		w.Header()["my-cdn-cache-control"] = []string{"max-age=600"}
		w.Header().Set("Akamai-Cache-Control", "max-age=600")
		w.Write([]byte("page"))
	}))
	t.Cleanup(up.Close)
	e := newEnvWithUpstream(t, up, "")
	cdnHeaders := []string{"CDN-Cache-Control", "Surrogate-Control", "X-Accel-Expires",
		"Netlify-Cdn-Cache-Control", "My-Cdn-Cache-Control", "Akamai-Cache-Control"}
	alice := e.session("alice", alicePass)
	for _, tt := range []struct {
		name, path, cookie string
		want               []string // Cache-Control lines; nil for none
		cdn                bool     // CDN-Cache-Control, Surrogate-Control and the like stay
	}{
		{"anonymous, public path", "/public/a.js?cc=public,max-age=600", "",
			[]string{"public,max-age=600"}, true},
		{"anonymous, public path, nothing said", "/public/a.js", "", nil, true},
		{"signed in", "/app?cc=public,max-age=600", alice, []string{"private, max-age=600"},
			false},
		{"signed in, public path", "/public/a.js?cc=public", alice, []string{"private"}, false},
		{"signed in, nothing said", "/app", alice, []string{"private"}, false},
		{"signed in, shared-cache directives", "/app?cc=s-maxage=600,+must-revalidate" +
			"&cc=Proxy-Revalidate,+PUBLIC", alice, []string{"private, must-revalidate"}, false},
		{"signed in, private already", "/app?cc=private,+max-age=60", alice,
			[]string{"private, max-age=60"}, false},
		{"signed in, no-store", "/app?cc=no-store", alice, []string{"no-store"}, false},
		{"signed in, private for some fields only", "/app?cc=private=\"Set-Cookie\"," +
			"+public", alice, []string{"private"}, false},
		{"signed in, private after a no-break space", "/app?cc=max-age=600,+%C2%A0private",
			alice, []string{"private, max-age=600"}, false},
		{"signed in, private inside a quoted value", "/app?cc=no-cache=%22x,private,y%22" +
			",+max-age=600", alice, []string{"private, max-age=600"}, false},
		{"signed in, private for one field", "/app?cc=private=foo,+max-age=600", alice,
			[]string{"private, max-age=600"}, false},
		{"signed in, private with an empty value", "/app?cc=max-age=600,+private=", alice,
			[]string{"private, max-age=600"}, false},
		{"signed in, no-store with a value", "/app?cc=max-age=600,+no-store=x", alice,
			[]string{"private, max-age=600"}, false},
		{"signed in, in two lines", "/app?cc=max-age=600&cc=private", alice,
			[]string{"private, max-age=600"}, false},
		{"signed in, too long to read", "/app?cc=max-age=600," + strings.Repeat("a,", 600),
			alice, []string{"private"}, false},
		{"anonymous, a cookie the gateway clears", "/public/a.js?cc=public,max-age=600",
			"forged", []string{"private, max-age=600"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.raw("GET", tt.path, tt.cookie, nil)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.StatusCode)
			}
			if tt.cookie == "forged" && len(r.Header["Set-Cookie"]) == 0 {
				t.Fatal("the gateway did not clear the forged cookie")
			}
			got := r.Header["Cache-Control"]
			if len(got) != len(tt.want) || len(got) > 0 && got[0] != tt.want[0] {
				t.Errorf("Cache-Control %q, want %q", got, tt.want)
			}
			for _, name := range cdnHeaders {
				if kept := r.Header.Get(name) != ""; kept != tt.cdn {
					t.Errorf("%s kept: %v, want %v", name, kept, tt.cdn)
				}
			}
		})
	}
}

// TestCacheTrailersDropped: caching headers an upstream sends as trailers, announced or
// not, do not reach the client of an answer made private.
func TestCacheTrailersDropped(t *testing.T) {
	up := &echo{}
	up.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		w.Header().Set("Trailer", "Cache-Control")
		w.Write([]byte("page"))
		w.(http.Flusher).Flush()
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set(http.TrailerPrefix+"Surrogate-Control", "max-age=600")
		w.Header().Set(http.TrailerPrefix+"X-Other", "kept")
	}))
	t.Cleanup(up.Close)
	e := newEnvWithUpstream(t, up, "")
	req, _ := http.NewRequest("GET", e.gw.URL+"/app", nil)
	req.Header.Set("Cookie", "gateway_session="+e.session("alice", alicePass))
	req.Header.Set("TE", "trailers")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "private" {
		t.Fatalf("status %d, Cache-Control %q; want 200, private", res.StatusCode,
			res.Header.Get("Cache-Control"))
	}
	if res.Trailer.Get("Cache-Control") != "" || res.Trailer.Get("Surrogate-Control") != "" ||
		res.Trailer.Get("X-Other") != "kept" {
		t.Errorf("trailers %v; want X-Other alone", res.Trailer)
	}
}
