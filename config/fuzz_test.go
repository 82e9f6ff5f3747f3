package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns is an *Error
// with a line, and that every config it accepts is complete; and that LoadAll's parse
// agrees: it accepts the same configs, and its first problem is Parse's.
func FuzzParse(f *testing.F) {
	f.Add([]byte(strings.ReplaceAll(fullConfig, "${GATEWAY_SECRET}",
		"literal-secret-literal-secret-literal")))
	f.Add([]byte(fullConfig))
	f.Add([]byte(minimal))
	f.Add([]byte(""))
	f.Add([]byte("---\n" + minimal + "---\nlisten: :80\n"))
	f.Add([]byte("log: &a {level: info}\nusers: *a\n"))
	f.Add([]byte("session: {secrets: ['$${X}${Y}']}\n" + minimal))
	f.Add([]byte("routes:\n  - path: /a\n    public: [/b, /c]\n    preserve_host: false\n"))
	f.Add([]byte("trusted_proxies: [::1, 10.0.0.0/8]\nallowed_redirect_hosts: [.a.b]\n"))
	f.Add([]byte("listen: \"\\xZ\"\n\tlog:\n"))

	const file = "/etc/gateway/fuzz.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, file)
		_, errAll := parse(data, file, os.LookupEnv, true)
		all, joined := errAll.(interface{ Unwrap() []error })
		switch {
		case (err == nil) != (errAll == nil):
			t.Fatalf("Parse says %v, LoadAll's parse %v", err, errAll)
		case errAll == nil:
		case joined:
			if len(all.Unwrap()) == 0 || all.Unwrap()[0].Error() != err.Error() {
				t.Fatalf("LoadAll's parse says %v, first; Parse %v", errAll, err)
			}
		case errAll.Error() != err.Error():
			t.Fatalf("LoadAll's parse says %v; Parse %v", errAll, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want *Error", err, err)
			}
			if e.Line < 1 || e.File != file || e.Err == nil {
				t.Fatalf("got line %d, file %q, cause %v, want a line >= 1, file %q and a "+
					"cause", e.Line, e.File, e.Err, file)
			}
			return
		}

		if len(c.Routes) == 0 {
			t.Fatal("got a config without routes")
		}
		for i, r := range c.Routes {
			if r.UpstreamURL == nil || r.PreserveHost == nil || !strings.HasPrefix(r.Path, "/") {
				t.Fatalf("routes[%d]: got %+v, want it complete", i, r)
			}
		}
		if len(c.Trusted) != len(c.TrustedProxies) {
			t.Fatalf("got %d trusted prefixes for %d entries", len(c.Trusted),
				len(c.TrustedProxies))
		}
		if !filepath.IsAbs(c.Users.File) || !filepath.IsAbs(c.StateDir) {
			t.Fatalf("got users.file %q, state_dir %q, want absolute paths", c.Users.File,
				c.StateDir)
		}
		if err := validate(c, file, nil); err != nil {
			t.Fatalf("accepted config no longer validates: %v", err)
		}
	})
}
