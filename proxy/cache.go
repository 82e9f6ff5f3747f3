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

// keepPrivate makes h and trailer, the headers and trailers of an upstream's answer,
// those of one no shared cache may store (Cache-Control: private), keeping what they say
// to the browser's own cache. An app that never had a login of its own may mark its
// pages public; made for a signed-in user, or carrying a cookie the gateway set, such an
// answer stored by a cache in front of the gateway would be handed to whoever asks next,
// signed in or not.
//
// A Cache-Control the gateway cannot read plainly (a quoted value, a character outside
// printable ASCII, a private that names fields) is written anew: a cache that reads it
// otherwise must not find it storable.
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
	if len(lines) == 0 {
		h["Cache-Control"] = privateOnly
		return
	}
	private, rewrite := false, false
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			name, plain := directive(d)
			switch {
			case !plain:
				rewrite = true
			case name == "private" || name == "no-store":
				private = true
			case name == "public" || name == "s-maxage" || name == "proxy-revalidate":
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
			name, plain := directive(d)
			switch name {
			case "", "private", "public", "s-maxage", "proxy-revalidate":
			default:
				if plain {
					kept = append(kept, strings.Trim(d, " \t"))
				}
			}
		}
	}
	h["Cache-Control"] = []string{strings.Join(kept, ", ")}
}

// directive returns the name of the Cache-Control directive d, in lower case, and
// whether d is plain: a token, or a token and a token value (max-age=60), between spaces
// and tabs alone. A quoted value, which may hold commas, is not.
func directive(d string) (name string, plain bool) {
	d = strings.Trim(d, " \t")
	name, value, _ := strings.Cut(d, "=")
	return strings.ToLower(name), isToken(name) && (value == "" || isToken(value)) ||
		d == ""
}
