package proxy

import (
	"strings"
	"testing"

	"github.com/frontgate/gateway/config"
)

// naiveForwarded reads the host and proto parameters of a Forwarded value as a lenient
// app does: split at every comma and semicolon, names in any case, quotes trimmed.
func naiveForwarded(v string) (hosts, protos []string) {
	for piece := range strings.FieldsFuncSeq(v, func(r rune) bool {
		return r == ',' || r == ';'
	}) {
		name, val, ok := strings.Cut(piece, "=")
		if !ok {
			continue
		}
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "host":
			hosts = append(hosts, val)
		case "proto":
			protos = append(protos, strings.ToLower(val))
		}
	}
	return hosts, protos
}

// FuzzForwardedAgrees checks that a Forwarded value the gateway lets by names, however
// leniently an app reads it, no host other than the one the front proxy named and no
// scheme other than http or https, and that the proxy's scheme.
func FuzzForwardedAgrees(f *testing.F) {
	for _, s := range []string{"for=192.0.2.1", `host="gw.example.test:443";proto=https`,
		"for=a, host=gw.example.test", `for="[::1]";host="x\"y"`, "host=evil;;host=a",
		`proto=https, host="gw.example.test\\,evil"`, "Host = evil", "for=\"a;host=evil\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if _, ok := forwardedAgrees(v, "gw.example.test", "https"); !ok {
			return
		}
		hosts, protos := naiveForwarded(v)
		for _, h := range hosts {
			if config.NormalizeHost(h) != "gw.example.test" {
				t.Fatalf("%q passed, and names the host %q", v, h)
			}
		}
		for _, p := range protos {
			if p != "" && p != "https" {
				t.Fatalf("%q passed, and names the scheme %q", v, p)
			}
		}
	})
}
