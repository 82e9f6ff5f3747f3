package proxy

import (
	"net/http"
	"strings"
)

// cdnCacheHeaders are the headers by which an answer tells a CDN how to cache it in
// place of Cache-Control besides those named like RFC 9213's (see isCDNCacheControl): a
// private answer keeps none. X-Accel-Expires is nginx's, which from nginx 1.23 has it
// cache an answer marked private, X-LiteSpeed-Cache-Control LiteSpeed's, and
// Akamai-Cache-Control Akamai's own.
var cdnCacheHeaders = []string{"Surrogate-Control", "Edge-Control", "X-Accel-Expires",
	"X-Litespeed-Cache-Control", "Akamai-Cache-Control"}

// cdnCacheControl ends the names of RFC 9213's targeted cache controls: CDN-Cache-Control
// and each CDN's own (Cloudflare-, Netlify-, Vercel-CDN-Cache-Control, …).
const cdnCacheControl = "cdn-cache-control"

// isCDNCacheControl reports whether name is one of RFC 9213's targeted cache controls,
// in any letter case.
func isCDNCacheControl(name string) bool {
	n := len(name) - len(cdnCacheControl)
	return n >= 0 && strings.EqualFold(name[n:], cdnCacheControl) &&
		(n == 0 || name[n-1] == '-')
}

// dropCDNCaching removes from h the headers that tell a CDN how to cache, each under
// prefix ("" for headers, http.TrailerPrefix for trailers not announced).
func dropCDNCaching(h http.Header, prefix string) {
	for _, name := range cdnCacheHeaders {
		delete(h, prefix+name)
	}
	for name := range h {
		if rest, ok := strings.CutPrefix(name, prefix); ok && isCDNCacheControl(rest) {
			delete(h, name)
		}
	}
}

// privateOnly is the Cache-Control of an answer that said nothing of caching. It is
// shared: a header's values are replaced, never written into.
var privateOnly = []string{"private"}

// keepPrivate makes h and trailer, the headers and announced trailers of an upstream's
// answer, those of one no shared cache may store (Cache-Control: private), keeping what
// they say to the browser's own cache. An app that never had a login of its own may mark
// its pages public; made for a signed-in user, or carrying a cookie the gateway set,
// such an answer stored by a cache in front of the gateway would be handed to whoever
// asks next, signed in or not. Trailers that were not announced come after the body, and
// are dropped then (see dropCacheTrailers).
//
// A Cache-Control the gateway cannot read plainly (in several lines, a quoted value, a
// character outside printable ASCII, a private or no-store with a value, which caches
// may read as private for some fields only) is written anew: a cache that reads it
// otherwise must not find it storable. One longer than maxCacheControl is replaced.
func keepPrivate(h, trailer http.Header) {
	dropCDNCaching(h, "")
	if len(trailer) > 0 {
		dropCDNCaching(trailer, "")
		delete(trailer, "Cache-Control")
	}
	lines := h["Cache-Control"]
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	if size == 0 || size > maxCacheControl {
		h["Cache-Control"] = privateOnly
		return
	}
	private, rewrite := false, len(lines) > 1
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			text, keep, bare := cacheDirective(d)
			private = private || bare
			rewrite = rewrite || text != "" && !keep && !bare
		}
	}
	if private && !rewrite {
		return
	}
	kept := []string{"private"}
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			if text, keep, _ := cacheDirective(d); keep {
				kept = append(kept, text)
			}
		}
	}
	h["Cache-Control"] = []string{strings.Join(kept, ", ")}
}

// cacheDirective reads directive d of a Cache-Control for keepPrivate: its text without
// the blanks around it, whether a private answer's Cache-Control keeps it (it is plain,
// and no private, public, s-maxage, proxy-revalidate or no-store with a value), and
// whether it is a bare private or no-store, which makes an answer private already.
func cacheDirective(d string) (text string, keep, bare bool) {
	text = strings.Trim(d, " \t")
	name, value, valued := strings.Cut(text, "=")
	name = strings.ToLower(name)
	plain := isToken(name) && (!valued || isToken(value))
	bare = plain && !valued && (name == "private" || name == "no-store")
	switch name {
	case "private", "public", "s-maxage", "proxy-revalidate":
		return text, false, bare
	case "no-store":
		return text, plain && !valued, bare
	}
	return text, plain, bare
}

// maxCacheControl bounds the Cache-Control the gateway reads directive by directive; a
// longer one, which no app needs, is replaced by private alone.
const maxCacheControl = 1024

// dropCacheTrailers removes from h, the headers of a relayed answer made private, the
// caching headers that the upstream sent as trailers it had not announced.
func dropCacheTrailers(h http.Header) {
	delete(h, http.TrailerPrefix+"Cache-Control")
	dropCDNCaching(h, http.TrailerPrefix)
}
