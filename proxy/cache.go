package proxy

import (
	"net/http"
	"strings"
)

// cdnCacheHeaders are the headers by which an answer tells a CDN how to cache it in
// place of Cache-Control (RFC 9213 and the CDNs' own): a private answer keeps none.
var cdnCacheHeaders = []string{"Cdn-Cache-Control", "Surrogate-Control", "Edge-Control",
	"Cloudflare-Cdn-Cache-Control", "Vercel-Cdn-Cache-Control"}

// privateOnly is the Cache-Control of an answer that said nothing of caching. It is
// shared: a header's values are replaced, never written into.
var privateOnly = []string{"private"}

// keepPrivate makes h, the headers of an upstream's answer, those of one no shared cache
// may store (Cache-Control: private), keeping what they say to the browser's own cache.
// An app that never had a login of its own may mark its pages public; made for a
// signed-in user, or carrying a cookie the gateway set, such an answer stored by a cache
// in front of the gateway would be handed to whoever asks next, signed in or not.
func keepPrivate(h http.Header) {
	for _, name := range cdnCacheHeaders {
		delete(h, name)
	}
	lines := h["Cache-Control"]
	if len(lines) == 0 {
		h["Cache-Control"] = privateOnly
		return
	}
	private, shared := false, false
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			switch directive(d) {
			case "private", "no-store":
				private = true
			case "public", "s-maxage", "proxy-revalidate":
				shared = true
			}
		}
	}
	if private && !shared {
		return
	}
	kept := []string{"private"}
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			switch directive(d) {
			case "", "private", "public", "s-maxage", "proxy-revalidate":
			default:
				kept = append(kept, strings.TrimSpace(d))
			}
		}
	}
	h["Cache-Control"] = []string{strings.Join(kept, ", ")}
}

// directive returns the name of the Cache-Control directive d, in lower case.
func directive(d string) string {
	name, _, _ := strings.Cut(d, "=")
	return strings.ToLower(strings.TrimSpace(name))
}
