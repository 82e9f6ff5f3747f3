package redirect

import (
	"net/url"
	"strings"
	"testing"
)

const base = "https://gw.example.test/.gateway/login"

// browserResolve resolves a Location the way a browser does: it drops tab, CR and LF,
// reads "\" as "/", then resolves against the page URL. It is the test oracle.
func browserResolve(loc string) (*url.URL, error) {
	loc = strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(loc)
	b, _ := url.Parse(base)
	u, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return b.ResolveReference(u), nil
}

func TestAllowed(t *testing.T) {
	p := &Policy{Hosts: []string{"app.example.com", ".corp.example"}}
	tests := []struct {
		v    string
		want bool
	}{
		{"/", true},
		{"/app/page?x=1&y=2", true},
		{"/app/page?next=%2F%2Fevil", true}, // an encoded slash in the query is data
		{"/app/%C3%A9t%C3%A9", true},
		{"/a#frag", true},
		{"/a/%252e%252e/b", true}, // stays double-encoded: not a dot segment
		{"https://app.example.com/x", true},
		{"https://APP.example.com/x", true},
		{"https://app.example.com", true},
		{"https://a.corp.example/x?y", true},
		{"https://app.example.com:8443/x", true},
		{"https://app.example.com:65535/x", true},
		// ports no browser reaches, or that parsers read two ways
		{"https://app.example.com:99999/x", false},
		{"https://app.example.com:65536/x", false},
		{"https://app.example.com:0/x", false},
		{"https://app.example.com:0443/x", false},
		{"https://app.example.com:/x", false},

		// S06: forms a browser reads as another host
		{"//evil.example/", false},
		{"/\\evil.example", false},
		{"/\t/evil.example", false},
		{"/\r/evil.example", false},
		{"/\n/evil.example", false},
		{"/%09/evil.example", false},
		{"/%0d/evil.example", false},
		{"/%0A/evil.example", false},
		{"/%5Cevil.example", false},
		{"/%5cevil.example", false},
		{"%2F%2Fevil.example", false},
		{"/%2F/evil.example", false},
		{"/%2f%2fevil.example", false},
		{"\\\\evil.example", false},
		{" /evil", false},
		{"/ /evil", false},
		{"///evil.example", false},
		// S07: schemes and authorities
		{"https:evil.example", false},
		{"https:/evil.example", false},
		{"https://gw.example.test@evil.example/", false},
		{"https://app.example.com@evil.example/", false},
		{"https://evil.example/", false},
		{"http://app.example.com/", false},
		{"HTTP://app.example.com/", false},
		{"javascript:alert(1)", false},
		{"JaVaScRiPt:alert(1)", false},
		{"data:text/html,<b>x</b>", false},
		{"evil.example", false},
		{"", false},
		{"https://app.example.com./", false}, // a trailing dot is another origin
		{"/.gateway0", true},
		{"/.gatewayx/y", true},
		{"https://corp.example/", false},         // the dot entry covers subdomains only
		{"https://evilcorp.example/", false},     // not at a dot boundary
		{"https://app.example.com.evil/", false}, // suffix trick
		{"https://..corp.example/", false},       // an empty label
		{"https://a..corp.example/x", false},
		{"https://a.b.corp.example/x", true},
		{"https://app.example.com%2F@evil/", false},
		{"https://app.example.com\\@evil/", false},
		{"https://app.example.com//evil/x", false},
		// the gateway's own pages, directly or after dot segments
		{"/.gateway/logout", false},
		{"/.gateway", false},
		{"/.GATEWAY/login", false},
		{"/a/../.gateway/logout", false},
		{"/a/%2e%2e/.gateway/logout", false},
		{"/%2egateway/login", false},
		{"/%2E%67ateway/logout", false},
		{"/.gateway;x/logout", false},
		// trailing dots, spaces and "+", which Windows trims from a name
		{"/.gateway./logout", false},
		{"/.gateway%20/logout", false},
		{"/.gateway+/logout", false},
		{"/.GATEWAY.%2e/login", false},
		{"/.gateway.x/y", true},
		{"/.gateway%3bx/logout", false},
		// a segment of parameters alone is an empty one to servers that drop them
		{"/;/.gateway/logout", false},
		{"/%3B/.gateway/logout", false},
		{"/;x/.gateway/login", false},
		{"/;//evil.example", false},
		{"/a/;/b", false},
		{"https://app.example.com/;/.gateway/logout", false},
		{"/.;//evil.example", false},
		{"/x/..;//evil.example", false},
		{"/%2e;//evil.example", false},
		{"/a/..;/.gateway/logout", false},
		{"/a/..%3Bx/b", false},
		{"https://a.corp.example/.;//evil.example", false},
		{"/a;x/b", true}, // parameters after a name: the segment is "a" to all
		{"/a/b;c", true},
		{"/.GATEWAY", false},
		{"https://app.example.com/.gateway/logout", false},
		{"https://a.corp.example/.GATEWAY/login", false},
		{"https://a.corp.example/%2egateway/login?next=/", false},
		{"https://app.example.com/x/.gateway/login", true}, // not the first segment
		{"/app/.gateway/x", true},
		{"/./x", false},
		{"/%2E/x", false},
		// control characters and non-ASCII anywhere
		{"/a?\x00", false},
		{"/a\x7f", false},
		{"/caf\u00e9", false},
		{"/a%zz", false},
		{"/a%", false},
		{"/a%00", false},
		// no longer than a sign-in can carry
		{"/" + strings.Repeat("a", MaxLength-1), true},
		{"/" + strings.Repeat("a", MaxLength), false},
		{"https://app.example.com/" + strings.Repeat("a", MaxLength-24), true},
		{"https://app.example.com/" + strings.Repeat("a", MaxLength-23), false},
	}
	for _, tt := range tests {
		if got := p.Allowed(tt.v); got != tt.want {
			t.Errorf("Allowed(%.80q, %d bytes): got %v, want %v", tt.v, len(tt.v), got,
				tt.want)
		}
	}
}

// TestTargetKeepsPageOfLongLink: a target too long to carry keeps its page, if that page
// is a target; a refused page, or a short target refused for what it is, never does.
func TestTargetKeepsPageOfLongLink(t *testing.T) {
	p := Policy{Hosts: []string{"app.example.com"}}
	query := strings.Repeat("a=1&", MaxLength/4)
	for _, tt := range []struct{ v, want string }{
		{"/reports/q?" + query, "/reports/q"},
		{"/reports/q#" + query, "/reports/q"},
		{"https://app.example.com/x?" + query, "https://app.example.com/x"},
		{"/" + strings.Repeat("a", MaxLength), Fallback},
		{"//evil.example/?" + query, Fallback},
		{"/.gateway/logout?" + query, Fallback},
		{"https://evil.example/x?" + query, Fallback},
		{"/a/../b?" + query, Fallback},
		{"/%2e%2e?x", Fallback},
		{"?" + query, Fallback},
	} {
		if got := p.Target(tt.v); got != tt.want {
			t.Errorf("Target(%.40q…) = %.40q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestZeroPolicyRefusesAbsolute(t *testing.T) {
	var p Policy
	for _, v := range []string{"https://app.example.com/", "https://localhost/"} {
		if p.Allowed(v) {
			t.Errorf("zero Policy allowed %q", v)
		}
	}
	if got := p.Target("//evil"); got != Fallback {
		t.Errorf("Target: got %q, want %q", got, Fallback)
	}
}

// FuzzAllowed checks the one property that matters: whatever Allowed accepts, a browser
// resolves to this gateway or to a configured host, over https, and never to the
// gateway's own pages.
func FuzzAllowed(f *testing.F) {
	for _, s := range []string{
		"/", "//evil", "/\\evil", "/\t/evil", "/%09/evil", "https:evil",
		"https://app.example.com/x", "https://a@app.example.com/", "/a/../.gateway/x",
		"/%2e%2e/", "javascript:x", "/a?b=//c", "https://app.example.com:1/%2e%2e",
		"https://app.example.com/.gateway/login", "/%2egateway;x/logout",
		"/;/.gateway/logout", "/%3b/x", "/.;//x", "/a/..;/b",
	} {
		f.Add(s)
	}
	p := &Policy{Hosts: []string{"app.example.com", ".corp.example"}}
	f.Fuzz(func(t *testing.T, v string) {
		if !p.Allowed(v) {
			return
		}
		u, err := browserResolve(v)
		if err != nil {
			t.Fatalf("Allowed(%q) but a browser cannot parse it: %v", v, err)
		}
		host := strings.ToLower(u.Hostname())
		// the first segment, as a server that drops empty segments and ";" parameters
		// reads the path
		for seg := range strings.SplitSeq(u.Path, "/") {
			name, _, params := strings.Cut(seg, ";")
			if params && (name == "" || name == "." || name == "..") {
				t.Fatalf("Allowed(%q) has a segment of parameters after nothing or a dot "+
					"segment: %q", v, u.Path)
			}
			if name == "" {
				continue
			}
			if strings.EqualFold(strings.TrimRight(name, ". +"), ".gateway") {
				t.Fatalf("Allowed(%q) resolves to the gateway's own page %q", v, u.Path)
			}
			break
		}
		switch {
		case u.Scheme != "https":
			t.Fatalf("Allowed(%q) resolves to scheme %q", v, u.Scheme)
		case u.User != nil:
			t.Fatalf("Allowed(%q) carries user-info", v)
		case host == "gw.example.test", host == "app.example.com",
			strings.HasSuffix(host, ".corp.example"):
		default:
			t.Fatalf("Allowed(%q) resolves to host %q", v, host)
		}
		if p.Target(v) != v {
			t.Fatalf("Target(%q) changed an allowed value", v)
		}
	})
}
