package proxy

import (
	"crypto/rand"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/assertion"
)

// HopHeader carries, on every request the gateway forwards, the random token of this
// gateway (Handler.hop), after those of the gateways the request came through. A request
// that arrives with this process's token came from it: a route whose upstream leads
// back to the gateway, directly or through other gateways, which would otherwise pass
// the request round until they ran out of connections. It is the one header under
// ReservedHeaderPrefix of which a client's copy goes on, and only as tokens, which tell
// an app nothing and cannot be this process's unless it sent them.
const HopHeader = ReservedHeaderPrefix + "Hop"

// maxHops is how many gateways a request may have come through; more is a loop whose
// tokens were lost on the way, or a client's padding.
const maxHops = 8

// newHopValue returns a HopHeader value with a new random token: a slice to share by
// every request of a handler, full so that an append never writes into it.
func newHopValue() []string {
	v := []string{rand.Text()}
	return v[:1:1]
}

// hopTokens returns the well-formed tokens of the HopHeader values vs, which may be
// separate lines or joined with commas, leaving out anything else.
func hopTokens(vs []string) []string {
	var out []string
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); isHopToken(t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// isHopToken reports whether t has the form of a HopHeader token: 26 characters of the
// base32 alphabet, as rand.Text makes.
func isHopToken(t string) bool {
	if len(t) != 26 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// looped says why a request with the HopHeader values vs must go no further: it came
// from h itself ("own"), or through maxHops gateways or more ("too many"); or "".
func (h *Handler) looped(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	ts := hopTokens(vs)
	switch {
	case slices.Contains(ts, h.hop[0]):
		return "own"
	case len(ts) >= maxHops:
		return "too many"
	}
	return ""
}

// rewrite builds the upstream request. httputil.ReverseProxy has already removed the
// hop-by-hop headers, including any the client listed in Connection, before it calls
// rewrite; so the headers set here cannot be deleted by a client's Connection header.
func (h *Handler) rewrite(rt *route, pr *httputil.ProxyRequest) {
	st, _ := pr.In.Context().Value(stateKey{}).(*state)
	out := pr.Out

	// Forward the very path the rules judged, not a re-encoding of it.
	out.URL.Path, out.URL.RawPath = st.dpath, st.path
	if rt.strip {
		out.URL.RawPath, out.URL.Path = rt.stripPrefix(st.path, st.dpath)
	}
	pr.SetURL(rt.upstream)
	if rt.preserve {
		out.Host = pr.In.Host
	}
	if st.dest != nil {
		// the place the rules judged, as the app knows it
		out.Header["Destination"] = []string{st.dest.upstreamValue(out)}
	}

	// Nothing the client sent may pass for an identity or a forwarding claim.
	h.filter.strip(out.Header)
	// ReverseProxy passes "TE: trailers" on by design; like the client's Trailer list, it
	// describes the client's connection, not the gateway's.
	delete(out.Header, "Te")
	delete(out.Header, "Trailer")
	// A client that waits for "100 Continue" gets it from the gateway once the body is
	// read to go upstream. Passed on, the expectation would have the transport wait for
	// the app's consent, and when the app answers first, close the body unread, which
	// waits for the client to send it: the answer would wait with it.
	delete(out.Header, "Expect")
	// Request trailers would arrive after the headers were judged, under names the
	// filter never saw; none are passed on.
	out.Trailer = nil
	if st.preflight {
		out.Body, out.ContentLength, out.TransferEncoding = http.NoBody, 0, nil
	}
	// An app may leave unread a body where its method means none, and read it as the
	// next request on the connection: one the gateway never judged, under any name it
	// likes. Such a body goes on a connection closed after it, which the app reads no
	// further (ReverseProxy leaves Body nil when there is none).
	if out.Body != nil && out.Body != http.NoBody && !bodyMeant(out.Method) {
		out.Close = true
	}
	// An app that sent bytes past an answer may do it again, after one that reaches the
	// next request's client first: none of its connections carries a second request.
	if rt.app != nil && rt.app.misframed.Load() {
		out.Close = true
	}
	// Framing (see framing) cannot follow a body sent in chunks, and would stop judging
	// the connection: any client could leave it unjudged with one such request. It goes
	// on a connection closed after it instead.
	if rt.upstream.Scheme == "http" && out.Body != nil && out.Body != http.NoBody &&
		(out.ContentLength < 0 || len(out.TransferEncoding) > 0) {
		out.Close = true
	}
	if st.basic || ((rt.dropBasic || st.dropBasic) &&
		anyBasic(out.Header.Values("Authorization"))) {
		// On a basic_auth route and those nested under it, and on a path that another
		// reading leads there, Basic credentials are the gateway's users' passwords, used
		// or not, in any copy of the header: never the app's to see.
		delete(out.Header, "Authorization")
	}
	stripCookies(out.Header, gatewayCookies...)
	if prev := pr.In.Header[HopHeader]; len(prev) > 0 {
		out.Header[HopHeader] = append(hopTokens(prev), h.hop[0])
	} else {
		out.Header[HopHeader] = h.hop
	}
	h.setForwarded(pr)
	if rt.prefix != nil {
		// where the app lives, for apps that build their links and redirects from it
		// (Spring, ASP.NET, Flask's ProxyFix): a client's copy went with the filter
		out.Header["X-Forwarded-Prefix"] = rt.prefix
	}

	if u := st.user; u != nil {
		setIdentity(out.Header, rt.identity, u)
		if rt.assert {
			h.setAssertion(pr, rt, u)
		}
	}
}

// bodyMeant reports whether apps read the body of a request of method as a matter of
// course: POST, PUT and PATCH. Other methods define none (GET, HEAD, DELETE, OPTIONS,
// TRACE), or are extensions the app may not know.
func bodyMeant(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

// anyBasic reports whether any of the Authorization values names the Basic scheme, in
// any case and followed by any blank, or alone, anywhere in a comma-separated list, so
// that no app's way of reading a list can find the credentials in it.
func anyBasic(values []string) bool {
	for _, v := range values {
		for part := range strings.FieldsFuncSeq(v, func(r rune) bool {
			return r == ',' || r == ';'
		}) {
			if schemeIsBasic(part) {
				return true
			}
		}
	}
	return false
}

// schemeIsBasic reports whether the scheme at the start of part, an item of an
// Authorization list, reads as "basic" to some app. Apps read leniently: many take any
// value that starts with "basic" in any case ("BasicY2Fy…" with no blank), split on
// Unicode spaces, or read bytes as Latin-1. So the value is read as its compatibility
// decomposition (full-width, mathematical, circled and modifier letters become plain
// ones, accents come apart), marks and invisible characters are dropped, letters are
// compared as Unicode case folding would let them ("Baſic", "Basıc"), and any value
// whose first letters, after whatever leads them, spell "basic" is Basic.
func schemeIsBasic(part string) bool {
	const want = "basic"
	i := 0
	for _, r := range norm.NFKD.String(part) {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r):
			// a mark or an invisible character: no letter of its own
		case unicode.IsLetter(r):
			if foldLetter(r) != rune(want[i]) {
				return false
			}
			if i++; i == len(want) {
				return true
			}
		case i > 0:
			return false // the letters stopped short of "basic"
		}
	}
	return false
}

// foldLetter maps a letter to the lower-case ASCII letter a lenient reader may take it
// for, or to itself.
func foldLetter(r rune) rune {
	switch {
	case r == 'ı' || r == 'İ':
		return 'i'
	case r == 'ſ':
		return 's'
	case r == 'K': // the Kelvin sign
		return 'k'
	}
	return unicode.ToLower(r)
}

// setForwarded writes X-Forwarded-For, -Host and -Proto. A trusted proxy's claims are
// kept and extended; anyone else's were removed and are replaced by what the gateway saw.
func (h *Handler) setForwarded(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	peer := peerAddr(in.RemoteAddr)
	fromProxy := peer.IsValid() && trusted(peer, h.trusted)

	xff := ""
	if peer.IsValid() {
		xff = peer.String()
	}
	host, proto := in.Host, "http"
	if in.TLS != nil {
		proto = "https"
	}
	if fromProxy {
		if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + xff
		}
		// Believed when it is one host and names the host the rules judged: an app that
		// takes its host from this header must see the one the rules judged, and a
		// proxy that appends its own to a client's copy sends two.
		if vs := in.Header.Values("X-Forwarded-Host"); len(vs) == 1 && vs[0] != "" &&
			plainHost(vs[0]) && config.NormalizeHost(vs[0]) == config.NormalizeHost(in.Host) {
			host = vs[0]
		}
		if v := strings.ToLower(in.Header.Get("X-Forwarded-Proto")); v == "https" ||
			v == "http" {
			proto = v
		}
	}
	v := []string{xff, host, proto} // one backing array for the three values
	if xff != "" {
		out.Header["X-Forwarded-For"] = v[0:1:1]
	}
	if host != "" { // an HTTP/1.0 request may name none
		out.Header["X-Forwarded-Host"] = v[1:2:2]
	}
	out.Header["X-Forwarded-Proto"] = v[2:3:3]
}

// setIdentity writes u's identity under the names in id: one value each.
func setIdentity(h http.Header, id config.IdentityHeaders, u *authn.User) {
	// one backing array for the four values
	v := []string{u.Name, u.Email, u.GroupList(), u.DisplayName}
	h[id.User] = v[0:1:1]
	if u.Email != "" {
		h[id.Email] = v[1:2:2]
	}
	if len(u.Groups) > 0 {
		h[id.Groups] = v[2:3:3]
	}
	if u.DisplayName != "" {
		h[id.Name] = v[3:4:4]
	}
}

// AssertionHeader carries the signed identity assertion to the upstream.
const AssertionHeader = "X-Gateway-Assertion"

// setAssertion adds a signed assertion of u's identity, addressed to the route's
// upstream (its scheme, host and port), so that an app that checks its upstream address
// cannot be sent a token meant for another app, even on the same host; and, on a route
// for one exact host, to that host as well. A route for any host, or a wildcard one,
// takes whatever host the client names, so its tokens name none: a signed-in user could
// otherwise have one minted for the host of an app whose own route refuses them.
func (h *Handler) setAssertion(pr *httputil.ProxyRequest, rt *route, u *authn.User) {
	up := rt.upstream.Scheme + "://" + rt.upstream.Host
	aud := config.NormalizeHost(pr.In.Host)
	if aud == "" || rt.host == "" || strings.HasPrefix(rt.host, "*.") {
		aud, up = up, ""
	}
	tok, err := h.assertions.Sign(assertion.Claims{Subject: u.Name, Email: u.Email,
		Name: u.DisplayName, Groups: u.Groups, Audience: aud, Upstream: up}, time.Now(), h.assertTTL)
	if err != nil {
		// Without its assertion the request would reach an app that may insist on one;
		// it goes without, and the app refuses it, which is the safe side.
		h.log.Error("signing assertion failed", "error", err, "user", u.Name)
		return
	}
	pr.Out.Header[AssertionHeader] = []string{tok}
}
