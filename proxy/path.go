package proxy

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/internal/pct"
)

// errAmbiguousPath means a request path could be read two ways by the gateway and the
// upstream. Browsers never send such paths; they are answered 400.
var errAmbiguousPath = errors.New("ambiguous request path")

// normalizePath checks the escaped request path and returns it with repeated slashes
// collapsed, along with its decoded form. The decoded form is what rules are matched
// against and the escaped form is what the upstream is sent, so both name one resource.
//
// It refuses, rather than guesses at, every form that servers disagree on: dot segments
// (raw, percent-encoded, or before a ";" parameter), backslashes and encoded slashes,
// encoded control characters, encoded "?", "#" or ";", invalid UTF-8, and characters
// that normalization or best-fit mapping turn into others, any of which lets a path that
// looks public to the gateway be served as a protected one upstream.
func normalizePath(escaped string) (clean, decoded string, err error) {
	if escaped == "" || escaped[0] != '/' {
		return "", "", errAmbiguousPath
	}
	if strings.Contains(escaped, "//") {
		escaped = collapseSlashes(escaped)
	}
	// Browsers never percent-encode a dot, and a ".." beside an escape is one decoding
	// away from a dot segment ("..%252F" is "../" to an app that decodes twice). Both are
	// refused outright, whatever a single decoding makes of them.
	for seg := range strings.SplitSeq(escaped, "/") {
		if strings.Contains(seg, "%2e") || strings.Contains(seg, "%2E") ||
			(strings.Contains(seg, "..") && strings.ContainsAny(seg, "%;")) {
			return "", "", errAmbiguousPath
		}
	}
	var dec strings.Builder
	dec.Grow(len(escaped))
	plain := false // an unreserved character is escaped
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch {
		case c == '\\' || c < 0x20 || c == 0x7f:
			return "", "", errAmbiguousPath
		case c == '%':
			b, ok := pct.At(escaped, i)
			if !ok || dangerous(b) {
				return "", "", errAmbiguousPath
			}
			plain = plain || unreserved(b)
			dec.WriteByte(b)
			i += 2
		default:
			dec.WriteByte(c)
		}
	}
	decoded = dec.String()
	// Any double encoding ("%252F", "%2561", or "%25%32%46" with its digits escaped too)
	// leaves an escape in the decoded path, one decoding away from another path in an app
	// that decodes twice: refused, whatever it encodes.
	if hasEscape(decoded) {
		return "", "", errAmbiguousPath
	}
	// Overlong and other invalid UTF-8 ("%c0%af" for "/") decodes to a separator in
	// lenient servers.
	if !utf8.ValidString(decoded) || config.LookAlike(decoded) {
		return "", "", errAmbiguousPath
	}
	for seg := range strings.SplitSeq(decoded, "/") {
		// "..;x" is ".." to servers that drop path parameters.
		name, _, _ := strings.Cut(seg, ";")
		if name == "." || name == ".." {
			return "", "", errAmbiguousPath
		}
		// Windows servers drop a trailing dot or space: "/admin./" is "/admin/" to IIS.
		if n := len(name); n > 0 && (name[n-1] == '.' || name[n-1] == ' ') {
			return "", "", errAmbiguousPath
		}
		// "..+" is ".. " to an app that decodes "+", and ".." once Windows trims it;
		// "..::$DATA" is ".." to Windows. Any name of dots among spaces and "+" ("..+.+",
		// ". .") is refused: which of them Windows keeps is not worth a guess.
		if d := ntfsName(name); strings.Contains(d, ".") && strings.Trim(d, ".+ ") == "" {
			return "", "", errAmbiguousPath
		}
	}
	if plain {
		escaped = decodeUnreserved(escaped)
	}
	return escaped, decoded, nil
}

// hasEscape reports whether s holds a percent-encoded byte, or an IIS "%u" escape of a
// UTF-16 unit ("%u002e"), which ASP.NET decodes.
func hasEscape(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0 && i < len(s); i++ {
		if _, ok := pct.At(s, i); ok {
			return true
		}
		if i+5 < len(s) && s[i] == '%' && s[i+1]|0x20 == 'u' {
			_, hi := pct.Hex(s, i+2)
			_, lo := pct.Hex(s, i+4)
			if hi && lo {
				return true
			}
		}
	}
	return false
}

// unreserved reports whether b is a character that RFC 3986 never needs escaped: its
// escaped and plain forms name the same resource (section 6.2.2.2).
func unreserved(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '-' || b == '.' || b == '_' || b == '~'
}

// decodeUnreserved writes the escaped unreserved characters of a checked path plainly,
// so that an upstream that does not decode them ("/%70ublic/") sees the path the rules
// judged ("/public/"), as one that does would.
func decodeUnreserved(escaped string) string {
	var b strings.Builder
	b.Grow(len(escaped))
	for i := 0; i < len(escaped); i++ {
		if c, ok := pct.At(escaped, i); ok && unreserved(c) {
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(escaped[i])
	}
	return b.String()
}

// dangerous reports whether a percent-encoded byte is one that servers treat differently
// encoded and decoded: a separator, a query or fragment mark, a parameter mark, or a
// control character.
func dangerous(b byte) bool {
	return b == '/' || b == '\\' || b == '?' || b == '#' || b == ';' || b < 0x20 || b == 0x7f
}

// stripParams removes ";parameters" from each segment of a decoded path, giving the path
// as servers that honour path parameters (Tomcat, Jetty) see it: they also merge the
// slashes a segment of only a parameter leaves behind, so "/;x/admin" is "/admin".
func stripParams(decoded string) string {
	if !strings.Contains(decoded, ";") {
		return decoded
	}
	return collapseSlashes(stripSegments(decoded))
}

// windowsReading returns a decoded path as a Windows server may read it: each segment
// without its NTFS stream ("admin::$DATA", "admin:$I30:$INDEX_ALLOCATION") and without
// the trailing "+", spaces and dots that an app decoding "+" as a space, then Windows,
// drop; so "/admin::$DATA/", "/admin+/" and "/admin.+/" are "/admin/". ASP.NET's
// cookieless session segments ("/(S(id))/") are dropped as ASP.NET drops them.
func windowsReading(decoded string) string {
	if !strings.ContainsAny(decoded, "+:(") && !trailingDotOrSpace(decoded) {
		return decoded
	}
	segs := strings.Split(decoded, "/")
	for i, seg := range segs {
		segs[i] = windowsName(seg)
	}
	return collapseSlashes(strings.Join(segs, "/"))
}

// trailingDotOrSpace reports whether a segment of p ends in a dot or a space. A request
// path with one is refused, but another reading can leave one: "/admin.\u00ad/" is
// "/admin./" to an app that drops the invisible, and "/admin/" to Windows after it.
func trailingDotOrSpace(p string) bool {
	for i := 1; i < len(p); i++ {
		if p[i] == '/' && (p[i-1] == '.' || p[i-1] == ' ') {
			return true
		}
	}
	return strings.HasSuffix(p, ".") || strings.HasSuffix(p, " ")
}

// windowsName is one segment of windowsReading.
func windowsName(seg string) string {
	if len(seg) > 4 && seg[0] == '(' && seg[2] == '(' && strings.HasSuffix(seg, "))") {
		return ""
	}
	return strings.TrimRight(ntfsName(seg), "+. ")
}

// ntfsName is a segment without the NTFS stream a ":" starts.
func ntfsName(seg string) string {
	name, _, _ := strings.Cut(seg, ":")
	return name
}

func stripSegments(decoded string) string {
	var b strings.Builder
	for i, seg := range strings.Split(decoded, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		name, _, _ := strings.Cut(seg, ";")
		b.WriteString(name)
	}
	return b.String()
}

func collapseSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// underPrefix reports whether path lies under prefix by whole segments: "/admin/" and
// "/admin" both cover "/admin" and "/admin/x" but not "/administrator".
func underPrefix(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

// underPrefixFold is underPrefix with letters compared in any case, the way a server
// that ignores case in paths (IIS, or any app on a case-insensitive file system) could
// compare them: "/ADMIN/x" and "/ſtatic/x" lie under "/admin/" and "/static/".
func underPrefixFold(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	for prefix != "" {
		pr, pn := utf8.DecodeRuneInString(prefix)
		r, n := utf8.DecodeRuneInString(path)
		// an invalid byte matches only itself
		if n == 0 || path[:n] != prefix[:pn] &&
			(r == utf8.RuneError || pr == utf8.RuneError || !sameLetter(r, pr)) {
			return false
		}
		prefix, path = prefix[pn:], path[n:]
	}
	return path == "" || path[0] == '/'
}

// sameLetter reports whether a and b are one letter in some case: equal, equal in upper
// case ("ı" and "i" both read "I") or in lower case ("İ" and "I" both read "i"), or in
// one Unicode case-folding orbit ("K", the kelvin sign, and "k").
func sameLetter(a, b rune) bool {
	if a == b || unicode.ToUpper(a) == unicode.ToUpper(b) ||
		unicode.ToLower(a) == unicode.ToLower(b) {
		return true
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}
