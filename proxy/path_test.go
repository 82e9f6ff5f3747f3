package proxy

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		in, clean, decoded string
		bad                bool
	}{
		{in: "/", clean: "/", decoded: "/"},
		{in: "/a/b", clean: "/a/b", decoded: "/a/b"},
		{in: "/a//b///c", clean: "/a/b/c", decoded: "/a/b/c"},
		{in: "/caf%C3%A9", clean: "/caf%C3%A9", decoded: "/caf\u00e9"},
		{in: "/a%20b", clean: "/a%20b", decoded: "/a b"},
		// escaped unreserved characters go upstream plain: the path the rules judged
		{in: "/%70ublic/x", clean: "/public/x", decoded: "/public/x"},
		{in: "/%41dmin/%7Ex%2D%5f%30", clean: "/Admin/~x-_0", decoded: "/Admin/~x-_0"},
		{in: "/%70%20q", clean: "/p%20q", decoded: "/p q"},
		{in: "/a%2541", bad: true},
		{in: "/%2561dmin/", bad: true},
		{in: "/admin./", bad: true},
		{in: "/admin%20/", bad: true},
		{in: "/admin%c0%af", bad: true},
		// characters an app may read as dots or slashes after NFKC or best-fit mapping
		{in: "/public/%EF%BC%8E%EF%BC%8E%EF%BC%8Fadmin/", bad: true}, // fullwidth ．．／
		{in: "/public/\uff0e\uff0e\uff0fadmin/", bad: true},
		{in: "/public/%E2%80%A5/admin", bad: true},          // two dot leader
		{in: "/public/%EF%B9%92%EF%B9%92/admin", bad: true}, // small full stop
		{in: "/public/x%EF%BC%BCadmin", bad: true},          // fullwidth reverse solidus
		{in: "/public/x%E2%88%95admin", bad: true},          // division slash
		{in: "/public/x%E2%81%84admin", bad: true},          // fraction slash
		{in: "/public/%E2%84%80", bad: true},                // account of: "a/c"
		{in: "/caf%C3%A9/%E6%97%A5%E6%9C%AC", clean: "/caf%C3%A9/%E6%97%A5%E6%9C%AC",
			decoded: "/caf\u00e9/\u65e5\u672c"},
		{in: "/%EF%BD%81dmin/", bad: true}, // fullwidth a: "/admin/" after NFKC
		{in: "/e%CC%81", bad: true},        // decomposed é
		{in: "/%EF%AC%81le", bad: true},    // the ligature fi
		{in: "/a/b.", bad: true},
		{in: "/a%25", clean: "/a%25", decoded: "/a%"},
		{in: "/a%25zz", clean: "/a%25zz", decoded: "/a%zz"},
		{in: "/a%252e%252e", bad: true},
		{in: "/a%252F", bad: true},
		{in: "/a%255c", bad: true},
		{in: "/a%2500", bad: true},
		{in: "/a;jsessionid=1", clean: "/a;jsessionid=1", decoded: "/a;jsessionid=1"},
		{in: "/a.b/.c/..d", clean: "/a.b/.c/..d", decoded: "/a.b/.c/..d"},
		{in: "", bad: true},
		{in: "*", bad: true},
		{in: "a/b", bad: true},
		{in: "/a/../b", bad: true},
		{in: "/a/./b", bad: true},
		{in: "/a/..", bad: true},
		{in: "/a/%2e%2e/b", bad: true},
		{in: "/a/%2E./b", bad: true},
		{in: "/a/.%2e", bad: true},
		{in: "/a/%2e", bad: true},
		{in: "/a/..;x/b", bad: true},
		{in: "/a/.;x/b", bad: true},
		{in: "/a%2fb", bad: true},
		{in: "/a%2Fb", bad: true},
		{in: "/a%5cb", bad: true},
		{in: "/a\\b", bad: true},
		{in: "/a%00b", bad: true},
		{in: "/a%0ab", bad: true},
		{in: "/a%7fb", bad: true},
		{in: "/a%23b", bad: true},
		{in: "/a%3fb", bad: true},
		{in: "/a%3Bb", bad: true},
		{in: "/a%zz", bad: true},
		{in: "/a%2", bad: true},
		{in: "/public/..%252Fadmin/", bad: true},
		{in: "/a/x%2ey", bad: true},
		{in: "/a/..%41", bad: true},
		{in: "/a/..;", bad: true},
		{in: "/files/report..pdf", clean: "/files/report..pdf", decoded: "/files/report..pdf"},
	}
	for _, tt := range tests {
		clean, dec, err := normalizePath(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("normalizePath(%q): got %q, want an error", tt.in, clean)
			}
			continue
		}
		if err != nil || clean != tt.clean || dec != tt.decoded {
			t.Errorf("normalizePath(%q): got %q, %q, %v; want %q, %q", tt.in, clean, dec, err,
				tt.clean, tt.decoded)
		}
	}
}

func TestUnderPrefix(t *testing.T) {
	tests := []struct {
		path, prefix string
		want         bool
	}{
		{"/admin", "/admin/", true},
		{"/admin/", "/admin/", true},
		{"/admin/x", "/admin/", true},
		{"/administrator", "/admin/", false},
		{"/administrator", "/admin", false},
		{"/admin/x", "/admin", true},
		{"/x", "/", true},
		{"/", "/", true},
		{"/adm", "/admin", false},
	}
	for _, tt := range tests {
		if got := underPrefix(tt.path, tt.prefix); got != tt.want {
			t.Errorf("underPrefix(%q, %q): got %v, want %v", tt.path, tt.prefix, got, tt.want)
		}
	}
}

// FuzzNormalizePath checks that an accepted path means one thing to everyone: the form
// sent upstream decodes to the form the rules judge, and servers that resolve dot
// segments, merge slashes or drop ";parameters" reach a path under the same prefixes.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{
		"/", "/public/../admin/", "/public/%2e%2e/admin", "/a//b", "/a;b/c", "/a%2fb",
		"/public/..;/admin/", "/%252e", "/a/b/", "/public;x/../admin",
	} {
		f.Add(s)
	}
	prefixes := []string{"/", "/public/", "/admin/", "/a", "/a/b/"}
	f.Fuzz(func(t *testing.T, in string) {
		clean, dec, err := normalizePath(in)
		if err != nil {
			return
		}
		got, err := url.PathUnescape(clean)
		if err != nil || got != dec {
			t.Fatalf("%q: upstream form %q decodes to %q (%v), rules judged %q",
				in, clean, got, err, dec)
		}
		if strings.Contains(clean, "//") || strings.Contains(clean, "\\") {
			t.Fatalf("%q: forwarded %q keeps a separator trick", in, clean)
		}
		for _, variant := range []string{dec, stripParams(dec)} {
			resolved := path.Clean(variant)
			if strings.HasSuffix(variant, "/") && resolved != "/" {
				resolved += "/"
			}
			for _, p := range prefixes {
				if underPrefix(variant, p) != underPrefix(resolved, p) {
					t.Fatalf("%q: %q and its resolved form %q disagree on prefix %q",
						in, variant, resolved, p)
				}
			}
		}
	})
}
