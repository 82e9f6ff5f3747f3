// Package redirect decides whether a redirect target taken from a request is safe to
// send a browser to.
//
// One Policy serves every place the gateway takes or replays a target (sign-in, sign-out,
// the "already signed in" shortcut), so they can never disagree. It works on the value as
// the query or form decoding gave it and never decodes it again. It is an allow-list: a
// local path, or an https URL on a configured host, and nothing else.
package redirect

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/frontgate/gateway/proxy/internal/pct"
)

// Fallback is where a rejected target is replaced with.
const Fallback = "/"

// MaxLength is the longest target Allowed accepts, in bytes. The gateway carries a
// target through a sign-in in a cookie, and a browser keeps a cookie of at most 4096
// bytes, its name and sealing included: the limit leaves room for that, so that any
// target accepted here comes back after the sign-in. Deep links are rarely longer;
// Target keeps only the page of a longer one.
const MaxLength = 1536

// ReservedPrefix is the path under which the gateway serves its own pages. They are never
// a target: bouncing a user back into sign-out or sign-in is at best a loop.
const ReservedPrefix = "/.gateway"

// Policy validates redirect targets. The zero value accepts local paths only. A Policy
// must not be changed after first use; it is then safe for concurrent use.
type Policy struct {
	// Hosts lists hosts an absolute https target may name: an exact host, or
	// ".example.com" for every subdomain of example.com (at a dot boundary, not
	// example.com itself). Entries must be lower case.
	Hosts []string
}

// Target returns v if it is a safe target, else Fallback. A target longer than MaxLength
// whose page alone, before its query or fragment, is a safe target returns that page:
// a deep link too long to carry through a sign-in still lands its user on the page it
// names, if without the query.
func (p *Policy) Target(v string) string {
	if p.Allowed(v) {
		return v
	}
	if len(v) > MaxLength {
		if i := strings.IndexAny(v, "?#"); i > 0 && p.Allowed(v[:i]) {
			return v[:i]
		}
	}
	return Fallback
}

// Allowed reports whether v is a safe redirect target: a path that starts with exactly
// one "/", or an "https://" URL whose host is in p.Hosts. In the path part it refuses
// control characters and backslashes, raw or percent-encoded, encoded slashes, dot
// segments, raw or encoded, and segments of ";" parameters alone: each is something a
// browser, or a server that drops parameters, may turn into a different host or a
// different path from the one checked here. Anything but printable ASCII is refused
// anywhere, because browsers drop or rewrite such bytes before resolving, and so is a
// target longer than MaxLength.
func (p *Policy) Allowed(v string) bool {
	if v == "" || len(v) > MaxLength {
		return false
	}
	for i := 0; i < len(v); i++ {
		// Browsers strip tab, CR and LF from URLs and read "\" as "/" in the authority,
		// so "/\t/evil" and "/\evil" both mean "//evil". Nothing but printable ASCII
		// (without space and backslash) may pass.
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
		// Every "%" starts a well-formed escape, in the query and fragment too.
		if _, ok := pct.At(v, i); v[i] == '%' && !ok {
			return false
		}
	}
	if v[0] == '/' {
		if len(v) > 1 && v[1] == '/' {
			return false // "//host" is a scheme-relative URL
		}
		return localPathOK(pathPart(v))
	}
	return p.absoluteOK(v)
}

// absoluteOK accepts "https://host[:port]/path?query" with host in p.Hosts.
func (p *Policy) absoluteOK(v string) bool {
	if len(p.Hosts) == 0 || len(v) < 9 || !strings.EqualFold(v[:8], "https://") {
		return false
	}
	u, err := url.Parse(v)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return false
	}
	// The raw authority must be exactly what url.Parse understood; any "@" would be
	// user-info that hides the real host behind a trusted-looking name.
	rest := v[len("https://"):]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.ContainsAny(rest, "@%") || rest != u.Host {
		return false
	}
	if !p.hostAllowed(strings.ToLower(u.Hostname())) || !portOK(u) {
		return false
	}
	path := pathPart(v[len("https://")+len(rest):])
	if path == "" {
		return true
	}
	// An allowed host may be served by this gateway too: its pages are refused there as
	// well.
	return strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "//") &&
		localPathOK(path)
}

// portOK reports whether u names no port, or one a browser could reach, written as
// browsers write it: 1 to 65535, without a leading zero. A port past that range fails
// in the browser, an empty one or a leading zero is read otherwise by other parsers.
func portOK(u *url.URL) bool {
	if !strings.Contains(strings.TrimPrefix(u.Host, "["+u.Hostname()+"]"), ":") {
		return true
	}
	port := u.Port()
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && port[0] != '0'
}

func (p *Policy) hostAllowed(host string) bool {
	if host == "" {
		return false
	}
	for _, h := range p.Hosts {
		if strings.HasPrefix(h, ".") {
			if strings.HasSuffix(host, h) && len(host) > len(h) &&
				labelsOK(host[:len(host)-len(h)]) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// labelsOK reports whether s, the part of a host before an allowed domain, is one or
// more DNS labels: letters, digits, '-' and '_', none of them empty. "a..example.com"
// is no host anyone could own, and no target.
func labelsOK(s string) bool {
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// pathPart cuts the query and fragment off v.
func pathPart(v string) string {
	if i := strings.IndexAny(v, "?#"); i >= 0 {
		return v[:i]
	}
	return v
}

// localPathOK checks the path of a target, which already starts with a single "/".
func localPathOK(path string) bool {
	return pathSegmentsOK(path) && !ownPage(path)
}

// ownPage reports whether path names one of the gateway's own pages, in any letter case,
// with any byte of the first segment percent-encoded, with ";" parameters after it, or
// with dots, spaces or "+" after it, which Windows trims from a name (and an app may read
// "+" as a space): forms that some server on the way may read as ReservedPrefix.
func ownPage(path string) bool {
	first, _, _ := strings.Cut(path[1:], "/")
	var b strings.Builder
	for i := 0; i < len(first); i++ {
		c := first[i]
		if d, ok := pct.At(first, i); ok {
			c = d
			i += 2
		}
		if c == ';' {
			break
		}
		b.WriteByte(c)
	}
	name := strings.TrimRight(b.String(), ". +")
	return strings.EqualFold("/"+name, ReservedPrefix)
}

// pathSegmentsOK refuses malformed or dangerous percent-encoding and dot segments.
func pathSegmentsOK(path string) bool {
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		b, ok := pct.At(path, i)
		if !ok {
			return false
		}
		// An encoded "/" or "\" is a separator to some servers and not to others, and an
		// encoded control character is one decoding away from the raw one.
		if b == '/' || b == '\\' || b < 0x20 || b == 0x7f {
			return false
		}
	}
	for seg := range strings.SplitSeq(path, "/") {
		if isDotSegment(seg) || paramsOnly(seg) {
			return false
		}
	}
	return true
}

// paramsOnly reports whether seg is nothing but ";" parameters, raw or encoded. Servers
// that drop parameters read it as an empty segment, so "/;/.gateway/logout" is
// "//.gateway/logout" to them, and "/;//evil.example" is "//evil.example".
func paramsOnly(seg string) bool {
	return strings.HasPrefix(seg, ";") || len(seg) >= 3 && seg[0] == '%' &&
		strings.EqualFold(seg[1:3], "3b")
}

// isDotSegment reports whether seg is "." or "..", with any dot percent-encoded, which
// browsers resolve away so that "/public/%2e%2e/.gateway/logout" leaves "/public/"; or
// one followed by ";" parameters, raw or encoded, which servers that drop parameters
// resolve so ("/x/..;/.gateway/logout").
func isDotSegment(seg string) bool {
	s := strings.ReplaceAll(strings.ToLower(seg), "%2e", ".")
	s = strings.ReplaceAll(s, "%3b", ";")
	s, _, _ = strings.Cut(s, ";")
	return s == "." || s == ".."
}
