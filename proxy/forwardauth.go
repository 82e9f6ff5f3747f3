package proxy

import (
	"cmp"
	"net/http"
	"net/url"
	"strings"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/redirect"
)

// AuthPath answers forward-auth requests from a front proxy such as nginx's
// auth_request: is the request the proxy describes allowed?
//
// It answers in one of two modes. By default it answers nginx's way: 200 with the
// identity headers, 401 when a session is needed, 403 when the request may not pass.
// With the query "redirect=1" (AuthPath + "?redirect=1", for Traefik's ForwardAuth and
// Caddy's forward_auth, which hand a non-2xx answer to the browser as it is) a browser
// that needs a session gets a 302 to the sign-in page instead of the 401.
const AuthPath = Prefix + "/auth"

// JWKSPath serves the public keys that verify X-Gateway-Assertion.
const JWKSPath = Prefix + "/jwks.json"

// LoginHeader carries, on a 401 of AuthPath's nginx mode, the sign-in URL for the
// described request: a local path, LoginPath with next escaped. It is sent only when that
// request is a browser's GET or HEAD, so a front proxy can redirect browsers and leave
// scripts their 401. nginx needs it because it cannot escape a URL into a query
// parameter itself:
//
//	auth_request_set $gateway_login $upstream_http_x_gateway_login;
const LoginHeader = ReservedHeaderPrefix + "Login"

// forwardAuth answers for a front proxy, in nginx's way or, asked with redirect=1, with
// redirects for browsers. The description is believed only from a trusted proxy: from
// anyone else the headers are the whole input, and believing them would let any client
// claim any URL.
func (h *Handler) forwardAuth(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w.Header(), h.csp)
	// The access record names the described request and, for a refusal, why: the auth
	// request's own path is the same for every decision.
	st := &state{}
	if sw, ok := w.(*statusWriter); ok {
		st = sw.st
	}
	// Traefik and Caddy hand a refusal to the browser as it is, so it carries the
	// gateway's page (plain text for a script); nginx shows its own.
	deny := func(code int, reason string) {
		st.reason = reason
		h.errorPage(w, r, code, "The gateway refused this request: "+reason+".")
	}
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !trusted(peer, h.trusted) {
		h.log.Warn("forward-auth refused", "reason", "not from a trusted proxy",
			"client_ip", peer.String())
		deny(http.StatusUnauthorized, "not from a trusted proxy")
		return
	}
	target, ok := originalTarget(r)
	if !ok {
		h.log.Warn("forward-auth refused", "reason", "original URL missing or ambiguous",
			"client_ip", h.clientIP(r).String())
		deny(http.StatusForbidden, "original URL missing or ambiguous")
		return
	}
	st.target = target.path
	// In front of an app the gateway merges repeated slashes and sends the app the
	// merged path; here the app gets the path as the client wrote it. "//public/admin/"
	// is /public/admin/ to the rules, but to many an app's URL parser it is the host
	// "public" and the path /admin/: such a path is refused, not judged.
	clean, decoded, err := normalizePath(target.path)
	if err != nil || strings.Contains(target.path, "//") {
		deny(http.StatusForbidden, "the path could be read two ways")
		return
	}
	st.target = clean
	// The proxy must name the host the user asked for, in X-Forwarded-Host or an
	// absolute X-Original-URL. The auth request's own Host cannot stand in for it: a
	// proxy that does not set X-Forwarded-Host passes a client's copy on, and nothing
	// tells that copy from the proxy's own. Refusing every request that names none finds
	// such a proxy out at once, rather than when a client picks whose rules apply.
	host := target.host
	if host == "" {
		h.log.Warn("forward-auth refused", "reason", "no X-Forwarded-Host: the front "+
			"proxy must name the host", "client_ip", h.clientIP(r).String())
		deny(http.StatusForbidden, "no X-Forwarded-Host")
		return
	}
	gw, rt, public, ok := h.decide(config.NormalizeHost(host), decoded)
	switch {
	case !ok:
		deny(http.StatusForbidden, "the path could be read two ways")
		return
	case gw:
		deny(http.StatusForbidden, "a path of the gateway's own")
		return
	case rt == nil:
		deny(http.StatusForbidden, "no route")
		return
	}
	st.route = rt
	// The front proxy passes the client's headers on to the app and cleans only those
	// it is told of, so a request is refused that carries a header the gateway would
	// remove when it proxies: an identity, forwarding or method-override header spelt
	// with another separator ("X~Forwarded~User"), which an app that reads every
	// separator as "_" (CGI) takes for the real one; another name apps read as the user
	// (Remote-User, X-Auth-Request-User, …), which would reach the app beside the
	// identity the gateway vouches for; an X-Forwarded- header the proxy does not set,
	// or one naming another path; one under the gateway's own prefix, which apps take
	// from the gateway alone (X-Gateway-Assertion); an identity header a reload renamed,
	// which the proxy no longer sets, and an app may still read.
	for _, c := range [...]struct{ header, reason string }{
		{oddlySpelt(r.Header, h.filter), "a header spelt with another separator"},
		{h.aliases.aliasIn(r.Header), "a header apps read as the user"},
		{forwardedClaim(r.Header, h.identityOf),
			"a forwarding header the front proxy does not set"},
		{otherClaim(r.Header, target), "a header naming another host or scheme"},
		{reservedIn(r.Header), "a header under the gateway's own prefix"},
		{namedIn(r.Header, h.formerIdentity), "a header the gateway set as the identity " +
			"before a reload"},
	} {
		if c.header != "" {
			h.log.Warn("forward-auth refused", "reason", c.reason, "header", c.header,
				"route", rt.name, "client_ip", h.clientIP(r).String())
			deny(http.StatusForbidden, c.reason)
			return
		}
	}
	// A websocket handshake from another site rides on the user's cookie: refused, as
	// when the gateway proxies. Front proxies may drop Upgrade from the auth request, so
	// the handshake's own headers mark one too, and over HTTP/2 it is a CONNECT.
	if (strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		r.Header.Get("Sec-Websocket-Key") != "" || r.Header.Get("Sec-Websocket-Version") != "" ||
		target.method == http.MethodConnect) && !originMatches(r, target.scheme, host) {
		h.log.Warn("forward-auth refused", "reason", "websocket handshake from another "+
			"origin", "route", rt.name, "client_ip", h.clientIP(r).String())
		deny(http.StatusForbidden, "websocket handshake from another origin")
		return
	}
	// The gateway is no forward proxy: a CONNECT is judged only as the handshake of a
	// websocket over HTTP/2, which names its version.
	if target.method == http.MethodConnect && r.Header.Get("Sec-Websocket-Version") == "" {
		deny(http.StatusForbidden, "CONNECT opens no websocket")
		return
	}
	// A CORS preflight carries no cookie; a route that lets genuine ones through does so
	// here too, with no identity, as it does when the gateway proxies.
	// The app gets the client's headers and query, so one that overrides the method
	// makes it no preflight.
	also := h.otherReadings(config.NormalizeHost(host), decoded, rt, public)
	if also.overflow {
		deny(http.StatusForbidden, "the path has too many readings")
		return
	}
	// A Destination (WebDAV's COPY and MOVE) names a second place the app writes to,
	// judged as the path is, with the described method, which must then be given.
	dest, problem := h.readDestination(r.Header, config.NormalizeHost(host), rt, true)
	if problem == nil && dest != nil && (target.method == "" || target.lowerMethod) {
		problem = &destinationProblem{reason: "a Destination without X-Forwarded-Method " +
			"in upper case"}
	}
	if problem != nil {
		h.log.Warn("forward-auth refused", "reason", problem.reason, "route", rt.name,
			"client_ip", h.clientIP(r).String())
		deny(http.StatusForbidden, problem.reason)
		return
	}
	if dest == nil && rt.preflight && target.method == http.MethodOptions &&
		!target.lowerMethod &&
		r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" &&
		!hasMethodOverride(r.Header) && queryOverride(target.query, preflightOnly) == "" &&
		!also.signInNeeded(true) {
		w.WriteHeader(http.StatusOK)
		return
	}
	methods := also.methods(rt, public)
	_, u, err := h.identify(w, r)
	if !public || also.signInNeeded(false) || dest != nil && dest.signInNeeded() {
		if err != nil {
			st.reason = "session store unavailable"
			h.storeDown(w, r)
			return
		}
		if u == nil {
			st.reason = "no session"
			h.sessionNeeded(w, r, clean, target.query)
			return
		}
		st.user = u
		// A methods rule needs the method of the described request; the auth request's
		// own (nginx always asks with GET) says nothing about it.
		method := target.method
		if method == "" {
			if methods != nil {
				h.log.Warn("forward-auth refused", "reason", "no X-Forwarded-Method for "+
					"a route with a methods rule", "route", rt.name)
				deny(http.StatusForbidden, "no X-Forwarded-Method")
				return
			}
			method = http.MethodGet
		}
		// The front proxy passes the method on as the client spelt it, and an app may not
		// read "get" as GET: on a methods route only the exact, upper-case name passes.
		if methods != nil && target.lowerMethod {
			h.log.Warn("forward-auth refused", "reason", "method not in upper case on a "+
				"route with a methods rule", "route", rt.name,
				"client_ip", h.clientIP(r).String())
			deny(http.StatusForbidden, "method not in upper case")
			return
		}
		if !public && !rt.allows(u, method, target.query) {
			st.reason = "the route's allow rule"
			h.forbiddenHere(w, r, u, rt, method, target.query)
			return
		}
		if rt2 := also.refusing(u, method, target.query, false); rt2 != nil {
			st.reason = "the allow rule of route " + rt2.name +
				", which another reading of the path falls under"
			h.forbiddenHere(w, r, u, rt2, method, target.query)
			return
		}
		if dest != nil {
			if rt2 := dest.refusing(u, method, target.query); rt2 != nil {
				st.reason = "the allow rule of route " + rt2.name +
					", which the Destination header falls under"
				h.forbiddenHere(w, r, u, rt2, method, target.query)
				return
			}
		}
		// The front proxy passes the client's headers on to the app, and a method
		// override among them would have the app act on a method the rule never judged.
		if methods != nil && hasMethodOverride(r.Header) {
			h.log.Warn("forward-auth refused", "reason", "method override on a route "+
				"with a methods rule", "route", rt.name, "client_ip", h.clientIP(r).String())
			deny(http.StatusForbidden, "method override")
			return
		}
		// Rails, Laravel and Symfony take a POST body's "_method" field as the method,
		// and the body never reaches the gateway here: a body that could carry one is
		// refused rather than let through unread.
		if methods != nil && method == http.MethodPost && formLike(r.Header) {
			h.log.Warn("forward-auth refused", "reason", "a form or JSON body on a route "+
				"with a methods rule: its _method field cannot be read here; let the "+
				"gateway proxy this route", "route", rt.name,
				"client_ip", h.clientIP(r).String())
			deny(http.StatusForbidden, "a form or JSON body")
			return
		}
	}
	if u != nil {
		st.user = u
		setIdentity(w.Header(), rt.identity, u)
	}
	w.WriteHeader(http.StatusOK)
}

// forbiddenHere answers a described request that rt's rule does not let u make with
// method: the page the gateway shows when it proxies.
func (h *Handler) forbiddenHere(w http.ResponseWriter, r *http.Request, u *authn.User,
	rt *route, method, query string) {
	h.errorPageLink(w, r, http.StatusForbidden,
		refusalText(u, rt.refusedMethod(u, method, query)), LogoutPath,
		"Sign out to use another account")
}

// sessionNeeded answers a described request for a protected path that has no session.
// Only a browser's GET or HEAD is pointed at the sign-in page: a script, or a form post
// whose body the sign-in would lose, gets a plain 401. In redirect mode the answer is a
// 302; in nginx's mode it stays a 401 and LoginHeader names the page.
func (h *Handler) sessionNeeded(w http.ResponseWriter, r *http.Request, cleanPath,
	query string) {
	if !describesBrowserRead(r) {
		h.errorPage(w, r, http.StatusUnauthorized, "Sign in first.")
		return
	}
	login := h.loginURL(cleanPath, query)
	if r.URL.Query().Get("redirect") != "1" {
		w.Header().Set(LoginHeader, login)
		h.errorPage(w, r, http.StatusUnauthorized, "Sign in first.")
		return
	}
	// Traefik resolves a relative Location against the auth request's address, which
	// is the gateway's own and not one the browser can reach; so the original scheme
	// and host lead whenever the proxy named both.
	if t, ok := originalTarget(r); ok && t.scheme != "" && t.host != "" {
		login = t.scheme + "://" + t.host + login
	}
	redirectTo(w, login, http.StatusFound)
}

// loginURL returns the local sign-in URL whose next is the path and query asked for, as
// the redirect policy takes it (the page alone of a link too long to carry through the
// sign-in). A target it refuses is left out rather than replaced, so the sign-in page
// chooses the fallback by the same rule as everywhere else.
func (h *Handler) loginURL(cleanPath, query string) string {
	next := cleanPath
	if query != "" {
		next += "?" + query
	}
	target := h.redirects.Target(next)
	if target != next && target == redirect.Fallback {
		return LoginPath
	}
	return LoginPath + "?next=" + url.QueryEscape(target)
}

// preflightOnly is the one method a preflight may name.
var preflightOnly = []string{http.MethodOptions}

// originMatches reports whether r carries no Origin, or one naming host and, when known,
// scheme. Ports are compared when the proxy names one other than a default (nginx's $host
// names none).
func originMatches(r *http.Request, scheme, host string) bool {
	u, ok := requestOrigin(r)
	if u == nil || !ok {
		return ok
	}
	if p := hostPort(host); p != "" && p != hostPort(u.Host) &&
		!(hostPort(u.Host) == "" && (p == "80" || p == "443")) {
		return false
	}
	return (scheme == "" || strings.EqualFold(u.Scheme, scheme)) &&
		config.NormalizeHost(u.Host) == config.NormalizeHost(host)
}

// hostPort returns the port of a host with a port ("a:8443", "[::1]:8443"), or "".
func hostPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.HasSuffix(host, "]") {
		return ""
	}
	return host[i+1:]
}

// describesBrowserRead reports whether the described request is a browser's GET or HEAD:
// its method, as the proxy states it in X-Forwarded-Method or X-Original-Method, and an
// Accept listing text/html, which the proxies pass on from the original request. A
// request whose method the proxy does not state is not taken for one.
func describesBrowserRead(r *http.Request) bool {
	m := cmp.Or(r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Original-Method"))
	return (m == http.MethodGet || m == http.MethodHead) && acceptsHTML(r)
}

// target is the request a front proxy describes: its scheme and host when the proxy
// names them (empty otherwise), its escaped path and its raw query.
type target struct {
	scheme, host, path, query string
	method                    string // in upper case; "" when not named
	lowerMethod               bool   // the method was named with a lower-case letter
}

// originalTarget returns the request a front proxy describes, from X-Forwarded-Uri
// (Traefik, Caddy), X-Original-URL or X-Original-URI (nginx), with X-Forwarded-Proto and
// X-Forwarded-Host. Every header that is sent must be sent once and parse, and all must
// agree: on the path and query, and on the scheme and host wherever one is named (an
// absolute URL names both). A copy that a client slipped past the proxy can then only
// cause a denial, never choose which of two descriptions is judged. So with the method,
// from X-Forwarded-Method or X-Original-Method: a plain token, the same in both.
func originalTarget(r *http.Request) (target, bool) {
	var t target
	protos, hosts := r.Header.Values("X-Forwarded-Proto"), r.Header.Values("X-Forwarded-Host")
	if len(protos) > 1 || len(hosts) > 1 {
		return target{}, false
	}
	if len(protos) == 1 {
		if t.scheme = strings.ToLower(protos[0]); t.scheme != "http" && t.scheme != "https" {
			return target{}, false
		}
	}
	if len(hosts) == 1 {
		if t.host = hosts[0]; t.host == "" || !plainHost(t.host) {
			return target{}, false
		}
	}
	found := false
	for _, name := range []string{"X-Forwarded-Uri", "X-Original-Url", "X-Original-Uri"} {
		vs := r.Header.Values(name)
		if len(vs) > 1 {
			return target{}, false
		}
		if len(vs) == 0 {
			continue
		}
		u, ok := requestTarget(vs[0])
		if !ok || (found && (u.path != t.path || u.query != t.query)) ||
			!t.agree(u.scheme, u.host) {
			return target{}, false
		}
		t.path, t.query, found = u.path, u.query, true
	}
	if !found {
		return target{}, false
	}
	// The method, from X-Forwarded-Method or X-Original-Method: each once, a token, and
	// the same when both are sent.
	for _, name := range []string{"X-Forwarded-Method", "X-Original-Method"} {
		m := r.Header.Values(name)
		if len(m) > 1 || (len(m) == 1 && !isToken(m[0])) {
			return target{}, false
		}
		if len(m) == 1 {
			if t.method != "" && !strings.EqualFold(t.method, m[0]) {
				return target{}, false
			}
			t.method = strings.ToUpper(m[0])
			t.lowerMethod = t.lowerMethod || t.method != m[0]
		}
	}
	return t, true
}

// agree merges a scheme and a host, either of which may be empty for "not named", into
// t, and reports whether they agree with what t already names. Hosts agree when routing
// cannot tell them apart (case, port, a trailing dot); t keeps the first one named, so
// X-Forwarded-Host, port and all, leads a redirect's origin when it is sent.
func (t *target) agree(scheme, host string) bool {
	if scheme != "" {
		if t.scheme != "" && t.scheme != scheme {
			return false
		}
		t.scheme = scheme
	}
	if host != "" {
		if t.host != "" && config.NormalizeHost(t.host) != config.NormalizeHost(host) {
			return false
		}
		if t.host == "" {
			t.host = host
		}
	}
	return true
}

// otherClaim returns the name of a header in h that names another host or scheme than
// t, the request the front proxy described, or "". A Forwarded header (RFC 7239), or its
// older X-Forwarded form, is no description the front proxies here set, and the app may
// read the host and scheme from it (Rack does before X-Forwarded-Host): those it names
// must be the ones the proxy named. The other names for the scheme, which some apps read
// before X-Forwarded-Proto (Tornado takes X-Scheme first), must each name http or https,
// and all the same one, the proxy's when it names one.
func otherClaim(h http.Header, t target) string {
	scheme := t.scheme
	for _, name := range schemeHeaders {
		for _, v := range h[name] {
			claim := schemeClaim(name, v)
			if claim == "" || scheme != "" && claim != scheme {
				return name
			}
			scheme = claim
		}
	}
	for _, name := range []string{"Forwarded", "X-Forwarded"} {
		for _, v := range h[name] {
			var ok bool
			if scheme, ok = forwardedAgrees(v, t.host, scheme); !ok {
				return name
			}
		}
	}
	return ""
}

// schemeHeaders name the request's scheme besides X-Forwarded-Proto, as the server
// writes their names (a spelling it leaves alone, "X_Scheme", is refused as oddly spelt):
// the conventions of Tornado, Rack, IIS's ARR, WebLogic, Jetty, Cloudflare, CloudFront
// and PHP stacks.
var schemeHeaders = []string{"X-Forwarded-Scheme", "X-Scheme", "X-Url-Scheme",
	"Forwarded-Proto", "X-Original-Proto", "X-Forwarded-Ssl", "Front-End-Https", "X-Proxied-Https",
	"Ssl-Offloaded", "Wl-Proxy-Ssl", "Cloudfront-Forwarded-Proto", "Cf-Visitor",
	"X-Arr-Ssl", "Proxy-Ssl-Id", "Proxy-Auth-Cert"}

// schemeClaim returns the scheme value names in the header name, one of schemeHeaders:
// http or https, or "" for a value that names neither.
func schemeClaim(name, value string) string {
	v := strings.ToLower(strings.TrimSpace(value))
	switch name {
	case "X-Arr-Ssl", "Proxy-Ssl-Id", "Proxy-Auth-Cert":
		// sent only over TLS, carrying what the TLS connection had
		return "https"
	case "Cf-Visitor":
		// exactly as Cloudflare writes it: apps read it by searching for "https", and
		// JSON decoders differ over repeated and look-alike keys
		switch v {
		case `{"scheme":"https"}`:
			return "https"
		case `{"scheme":"http"}`:
			return "http"
		}
		return ""
	case "X-Forwarded-Ssl", "Front-End-Https", "X-Proxied-Https", "Ssl-Offloaded",
		"Wl-Proxy-Ssl":
		switch v {
		case "on", "true", "1":
			return "https"
		case "off", "false", "0":
			return "http"
		}
		return ""
	}
	if v != "http" && v != "https" {
		return ""
	}
	return v
}

// forwardedAgrees reports whether v, the value of a Forwarded header, parses, has no
// parameters but RFC 7239's (for, by, host, proto), and names in its host parameters
// only host (with no host, none at all), and in its proto parameters http or https, all
// the same one, scheme when it is not "". It returns the scheme named so far.
func forwardedAgrees(v, host, scheme string) (string, bool) {
	pairs, ok := forwardedPairs(v)
	if !ok {
		return scheme, false
	}
	for _, p := range pairs {
		switch p[0] {
		case "for", "by":
		default:
			// apps find host and proto by searching the whole header ("xhost=" holds
			// "host="), and RFC 7239 defines no other parameter
			return scheme, false
		case "host":
			if host == "" || !plainHost(p[1]) ||
				config.NormalizeHost(p[1]) != config.NormalizeHost(host) {
				return scheme, false
			}
		case "proto":
			proto := strings.ToLower(p[1])
			if proto != "http" && proto != "https" || scheme != "" && proto != scheme {
				return scheme, false
			}
			scheme = proto
		}
	}
	return scheme, true
}

// forwardedPairs splits the value of a Forwarded header into its parameters, each a
// lower-cased name and its value unquoted, from every element of the list. It reports
// false for a value that does not parse: a name that is no token, a value that is
// neither a token nor a quoted string, an unclosed quote; and for a quoted string that
// holds more than a token, colons and brackets, such as a separator or an escape.
func forwardedPairs(v string) ([][2]string, bool) {
	var out [][2]string
	for len(v) > 0 {
		v = strings.TrimLeft(v, " \t,;")
		if v == "" {
			break
		}
		eq := strings.IndexByte(v, '=')
		if eq <= 0 || !isToken(v[:eq]) {
			return nil, false
		}
		name := strings.ToLower(v[:eq])
		v = v[eq+1:]
		var val string
		if strings.HasPrefix(v, `"`) {
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				return nil, false
			}
			// what the quotes are for, an IPv6 address and a port, and no separator:
			// apps split the header at every comma and semicolon, quotes or not
			val, v = v[1:end+1], v[end+2:]
			if val != "" && !isToken(strings.NewReplacer(":", "", "[", "", "]", "").
				Replace(val)) {
				return nil, false
			}
		} else {
			end := strings.IndexAny(v, ",; \t")
			if end < 0 {
				end = len(v)
			}
			if val, v = v[:end], v[end:]; val != "" && !isToken(val) {
				return nil, false
			}
		}
		if rest := strings.TrimLeft(v, " \t"); rest != "" && rest[0] != ',' && rest[0] != ';' {
			return nil, false
		}
		out = append(out, [2]string{name, val})
	}
	return out, true
}

// requestTarget parses a request target, either origin-form ("/a/b?q") or absolute
// ("https://host/a/b?q"), as nginx's $request_uri and X-Original-URL carry it: an absolute
// one gives the scheme and host too.
func requestTarget(v string) (target, bool) {
	if v == "" {
		return target{}, false
	}
	// No client sends a fragment; a "#" anywhere is a description to be refused, before
	// a URL parser cuts it off unseen.
	if strings.Contains(v, "#") {
		return target{}, false
	}
	var t target
	if v[0] != '/' {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" ||
			u.User != nil || u.Host == "" || !plainHost(u.Host) {
			return target{}, false
		}
		t.scheme, t.host = u.Scheme, u.Host
		// The path and query as the app gets them, not as the URL parser would write
		// them again: it decodes an encoded "/" when the path holds a byte it escapes.
		_, rest, _ := strings.Cut(v, "://")
		i := strings.IndexAny(rest, "/?")
		if i < 0 {
			i = len(rest)
		}
		if rest[:i] != u.Host {
			return target{}, false
		}
		if v = rest[i:]; !strings.HasPrefix(v, "/") {
			v = "/" + v
		}
	}
	p, q, _ := strings.Cut(v, "?")
	t.path, t.query = p, q
	return t, true
}

// isToken reports whether s is an HTTP token (RFC 9110): visible ASCII but separators.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// formLike reports whether a request's Content-Type is one an app framework reads a
// "_method" field from: a form, multipart or JSON body.
func formLike(h http.Header) bool {
	for _, ct := range h.Values("Content-Type") {
		if json, form, multi := bodyKinds(ct); json || form || multi {
			return true
		}
	}
	return false
}
