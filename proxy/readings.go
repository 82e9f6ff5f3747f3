package proxy

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/frontgate/gateway/authn"
)

// App frameworks route some paths to another path's handler: Rails (and Spring's suffix
// matching) serve "/admin.json" as "/admin" in another format, and a PHP front
// controller serves "/index.php/admin/" as "/admin/". Servers that ignore case in paths
// (IIS, and apps on case-insensitive file systems) serve "/ADMIN/" as "/admin/", and
// Windows ones "/admin+/" or "/admin::$DATA/" as "/admin/" too. An app may apply all of
// these at once, so a path's readings are taken together: every path that some series
// of them leads to. Such a path is served by the route it names, but the routes its
// readings lead to judge it too: it passes only when every one of their rules lets it,
// so it cannot slip past a rule through another route, while "/admin.json" still works
// for those the "/admin/" rule lets in.

// reading is where another reading of a path leads.
type reading struct {
	rt     *route
	public bool
}

// maxReadPaths bounds the paths otherReadings follows for one request path. Each
// reading shortens a path, and an ordinary one has a handful; a path with more is
// refused rather than judged in part.
const maxReadPaths = 16

// readings are the routes beyond its own that other readings of a path lead to, each
// path read with and without case, less the path's own reading. overflow is set when
// the path has more readings than are followed: it must then be refused.
type readings struct {
	n        int
	rs       [2 * maxReadPaths]reading
	overflow bool
}

// formatReading returns a decoded path without the format suffix of its last segment,
// as Rails and Spring read it: "/admin.json" is "/admin", and so is "/admin.json/", as
// Rails drops a trailing slash. A path whose last segment has no dot but at its start is
// its own reading.
func formatReading(decoded string) string {
	trimmed := strings.TrimRight(decoded, "/")
	last := strings.LastIndexByte(trimmed, '/')
	seg := trimmed[last+1:]
	if i := strings.IndexByte(seg, '.'); i > 0 {
		return trimmed[:last+1+i]
	}
	return decoded
}

// pathInfoReadings returns what a PHP front controller routes a decoded path as: the
// part after its first PHP script ("/index.php/admin/" is "/admin/"), and that part
// under the script's folder ("/blog/index.php/admin/" is "/blog/admin/", where an app
// that lives in /blog/ has its "/admin/"). A script is a segment, other than the last,
// with a PHP extension after its first letter (see phpExtension): after the last dot, as
// Debian's and most PHP setups run them, or before another one, as Apache's AddHandler
// does ("x.php.txt"). A path without a script is its own reading.
func pathInfoReadings(decoded string) (root, folder string) {
	start := 1 // of the segment
	for start < len(decoded) {
		end := strings.IndexByte(decoded[start:], '/')
		if end < 0 {
			break
		}
		end += start
		for i := start + 1; i < end; i++ {
			if decoded[i] == '.' && phpExtension(decoded[i+1:end]) {
				info := decoded[end:]
				return info, decoded[:start-1] + info
			}
		}
		start = end + 1
	}
	return decoded, decoded
}

// phpExtensions are the extensions PHP setups run as scripts: Debian's and Ubuntu's
// ("php", "phtml", "phar"), and those of older setups and other distributions.
var phpExtensions = []string{"php", "phtml", "phar", "pht", "php3", "php4", "php5",
	"php6", "php7", "php8"}

// phpExtension reports whether rest, what follows a dot in a segment, starts with a PHP
// extension, in any letter case, that ends the segment or a dot ends.
func phpExtension(rest string) bool {
	for _, ext := range phpExtensions {
		if len(rest) >= len(ext) && (len(rest) == len(ext) || rest[len(ext)] == '.') &&
			containsFold(rest[:len(ext)], ext) {
			return true
		}
	}
	return false
}

// otherReadings returns the routes that framework, Windows and case-blind readings of a
// decoded path lead to, where those differ from rt and public, the path's own.
func (h *Handler) otherReadings(host, decoded string, rt *route, public bool) readings {
	var x readings
	var buf [maxReadPaths]string
	paths := append(buf[:0], decoded)
	more := func(p string) {
		if slices.Contains(paths, p) {
			return
		}
		if len(paths) == maxReadPaths {
			x.overflow = true
			return
		}
		paths = append(paths, p)
	}
	// An app behind strip_prefix has its root at the route's prefix: a front
	// controller's "/admin/" is the gateway's prefix + "/admin/" there.
	base := ""
	if rt != nil && rt.strip {
		if rest := rt.cut(decoded); strings.HasSuffix(decoded, rest) {
			base = decoded[:len(decoded)-len(rest)]
		}
	}
	// every series of readings: the list grows as it is walked
	for i := 0; i < len(paths); i++ {
		p := paths[i]
		root, folder := pathInfoReadings(p)
		more(formatReading(p))
		more(root)
		if base != "" && root != p {
			more(base + root)
		}
		more(folder)
		more(windowsReading(stripParams(p)))
		more(visibleReading(p))
		more(trimmedReading(p))
	}
	// A path the route names as a public file is the operator's to open, however its
	// app reads it; readings that lead to other routes still meet their rules.
	named := public && rt.namesFile(decoded)
	add := func(rt2 *route, public2 bool) {
		if rt2 == nil || rt2 == rt && (public2 == public || named) {
			return
		}
		for _, r := range x.rs[:x.n] {
			if r.rt == rt2 && r.public == public2 {
				return
			}
		}
		x.rs[x.n] = reading{rt2, public2}
		x.n++
	}
	for i, p := range paths {
		if i > 0 && !underPrefix(p, Prefix) {
			add(h.match(host, p))
		}
		// read without case, a path of lower-case ASCII falls under the same prefixes,
		// when those are lower-case ASCII too
		if (h.casedRoutes || !caseless(p)) && !underPrefixFold(p, Prefix) {
			add(h.matchBy(host, p, underPrefixFold))
		}
	}
	return x
}

// namesFile reports whether one of rt's public entries is the decoded path p itself,
// and names a file with a suffix, as "/favicon.ico" and "/robots.txt" do. Readings of
// that very path on rt ("/favicon" in the format ico, as Rails reads it) are then the
// operator's to allow: they made public the path a browser asks for, not a prefix.
func (rt *route) namesFile(p string) bool {
	for _, e := range rt.public {
		if e == p && !strings.HasSuffix(e, "/") && formatReading(e) != e && !IsScript(e) {
			return true
		}
	}
	return false
}

// IsScript reports whether the last segment of the path p has a PHP extension, as a
// front controller's name does ("/index.php"): such a script serves the whole app,
// routed by its query or what follows it, and naming it public opens no file but the
// app, so the gateway holds it to the rule of the paths the app may read it as.
func IsScript(p string) bool {
	seg := p[strings.LastIndexByte(p, '/')+1:]
	for i := 1; i < len(seg); i++ {
		if seg[i] == '.' && phpExtension(seg[i+1:]) {
			return true
		}
	}
	return false
}

// signInNeeded reports whether any reading is protected; a preflight passes on those
// routes that let preflights through.
func (x *readings) signInNeeded(preflight bool) bool {
	for _, r := range x.rs[:x.n] {
		if !r.public && !(preflight && r.rt.preflight) {
			return true
		}
	}
	return false
}

// dropsBasic reports whether a reading leads to a route whose Basic credentials are the
// gateway's users' passwords: an app that reads "/API/x" as "/api/x" would take them
// there as they came for the basic_auth route of "/api/".
func (x *readings) dropsBasic() bool {
	for _, r := range x.rs[:x.n] {
		if r.rt.basic || r.rt.dropBasic {
			return true
		}
	}
	return false
}

// refusing returns the route of the first protected reading whose rule does not let u
// use method with rawQuery, or nil.
func (x *readings) refusing(u *authn.User, method, rawQuery string,
	preflight bool) *route {
	for _, r := range x.rs[:x.n] {
		if !r.public && !(preflight && r.rt.preflight) && !r.rt.allows(u, method, rawQuery) {
			return r.rt
		}
	}
	return nil
}

// methods returns the methods that rt's rule, when the path is protected there, and the
// rules of the protected readings all allow, or nil when none of them has a methods
// rule.
func (x *readings) methods(rt *route, public bool) []string {
	var out []string
	ruled := false
	take := func(m []string) {
		switch {
		case len(m) == 0:
		case !ruled:
			out, ruled = m, true
		default:
			var both []string
			for _, v := range out {
				if isOneOf(v, m) {
					both = append(both, v)
				}
			}
			out = both
		}
	}
	if !public {
		take(rt.allow.Methods)
	}
	for _, r := range x.rs[:x.n] {
		if !r.public {
			take(r.rt.allow.Methods)
		}
	}
	if ruled && out == nil {
		out = []string{} // no method passes them all
	}
	return out
}

// visibleReading returns a decoded path without the characters that are meant to be
// invisible (Unicode's default-ignorable code points: the soft hyphen, zero-width
// spaces and joiners, the byte order mark, variation selectors), which an app that
// folds names as IDNA does, or a code page conversion, may drop: "/admin\u00ad/" is
// "/admin/" there, and so is "/\u00ad/admin/". Paths are not refused for them, since
// some scripts write words with them (Persian with the zero-width non-joiner).
func visibleReading(decoded string) string {
	if !strings.ContainsFunc(decoded, ignorable) {
		return decoded
	}
	// a segment of nothing else leaves two slashes, which apps read as one
	return collapseSlashes(strings.Map(func(r rune) rune {
		if ignorable(r) {
			return -1
		}
		return r
	}, decoded))
}

// trimmedReading returns a decoded path with the spaces and "+" around each segment's
// name dropped, as apps that decode "+" as a space and trim each segment read it (Spring
// matched paths so before 4.3): "/ admin/" and "/+admin/" are "/admin/" there.
func trimmedReading(decoded string) string {
	if !strings.ContainsAny(decoded, " +") {
		return decoded
	}
	segs := strings.Split(decoded, "/")
	for i, seg := range segs {
		segs[i] = strings.Trim(seg, " +")
	}
	return collapseSlashes(strings.Join(segs, "/"))
}

// ignorable reports whether r is a default-ignorable code point: a format character, or
// one Unicode lists as ignorable beside them, or a variation selector.
func ignorable(r rune) bool {
	return r >= 0xad && (unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r))
}

// caseless reports whether s holds no upper-case ASCII letter and no byte outside ASCII:
// a letter of it is only itself in any case that another such string could hold.
func caseless(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
