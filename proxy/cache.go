package proxy

import (
	"net/http"
	"strings"
)

// cdnCacheHeaders are the headers by which an answer tells a CDN how to cache it in
// place of Cache-Control (RFC 9213 and the CDNs' own): a private answer keeps none.
// X-Accel-Expires is nginx's, which from nginx 1.23 has it cache an answer marked
// private, and X-LiteSpeed-Cache-Control LiteSpeed's.
var cdnCacheHeaders = []string{"Cdn-Cache-Control", "Surrogate-Control", "Edge-Control",
	"Cloudflare-Cdn-Cache-Control", "Vercel-Cdn-Cache-Control", "X-Accel-Expires",
	"X-Litespeed-Cache-Control"}

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
	for _, name := range cdnCacheHeaders {
		delete(h, name)
	}
	if len(trailer) > 0 {
		for _, name := range cdnCacheHeaders {
			delete(trailer, name)
		}
		delete(trailer, "Cache-Control")
	}
	lines := h["Cache-Control"]
	if len(lines) == 0 || len(lines) > 1 && len(strings.Join(lines, "")) > maxCacheControl ||
		len(lines[0]) > maxCacheControl {
		h["Cache-Control"] = privateOnly
		return
	}
	private, rewrite := false, len(lines) > 1
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			name, valued, plain := directive(d)
			switch {
			case !plain:
				rewrite = true
			case (name == "private" || name == "no-store") && !valued:
				private = true
			case name == "private" || name == "no-store" || name == "public" ||
				name == "s-maxage" || name == "proxy-revalidate":
				rewrite = true
			}
		}
	}
	if private && !rewrite {
		return
	}
	kept := []string{"private"}
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			name, valued, plain := directive(d)
			switch {
			case !plain || name == "" || name == "private" || name == "public" ||
				name == "s-maxage" || name == "proxy-revalidate" ||
				name == "no-store" && valued:
			default:
				kept = append(kept, strings.Trim(d, " \t"))
			}
		}
	}
	h["Cache-Control"] = []string{strings.Join(kept, ", ")}
}

// maxCacheControl bounds the Cache-Control the gateway reads directive by directive; a
// longer one, which no app needs, is replaced by private alone.
const maxCacheControl = 1024

// dropCacheTrailers removes from h, the headers of a relayed answer made private, the
// caching headers that the upstream sent as trailers it had not announced.
func dropCacheTrailers(h http.Header) {
	delete(h, http.TrailerPrefix+"Cache-Control")
	for _, name := range cdnCacheHeaders {
		delete(h, http.TrailerPrefix+name)
	}
}

// directive returns the name of the Cache-Control directive d, in lower case, whether it
// has a value, and whether d is plain: a token, or a token and a token value
// (max-age=60), between spaces and tabs alone. A quoted value, which may hold commas, is
// not.
func directive(d string) (name string, valued, plain bool) {
	d = strings.Trim(d, " \t")
	name, value, valued := strings.Cut(d, "=")
	return strings.ToLower(name), valued,
		isToken(name) && (!valued || isToken(value)) || d == ""
}
