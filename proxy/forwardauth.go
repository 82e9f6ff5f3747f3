package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/frontgate/gateway/config"
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
	noStore(w.Header())
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !trusted(peer, h.trusted) {
		h.log.Warn("forward-auth refused", "reason", "not from a trusted proxy",
			"client_ip", peer.String())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	target, ok := originalTarget(r)
	if !ok {
		h.log.Warn("forward-auth refused", "reason", "original URL missing or ambiguous",
			"client_ip", h.clientIP(r).String())
		w.WriteHeader(http.StatusForbidden)
		return
	}
	clean, decoded, err := normalizePath(target.path)
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	// From a trusted proxy, the host it names is the host the user asked for.
	host := r.Host
	if v := r.Header.Get("X-Forwarded-Host"); v != "" && validHost(v) {
		host = v
	}
	gw, rt, public, ok := h.decide(config.NormalizeHost(host), decoded)
	if !ok || gw || rt == nil {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	_, u, err := h.identify(w, r)
	if !public {
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if u == nil {
			h.sessionNeeded(w, r, clean, target.query)
			return
		}
		// A methods rule needs the method of the described request; the auth request's
		// own (nginx always asks with GET) says nothing about it.
		method := r.Header.Get("X-Forwarded-Method")
		if method == "" {
			if len(rt.allow.Methods) > 0 {
				h.log.Warn("forward-auth refused", "reason", "no X-Forwarded-Method for "+
					"a route with a methods rule", "route", rt.path)
				w.WriteHeader(http.StatusForbidden)
				return
			}
			method = http.MethodGet
		}
		if !rt.allows(u, method) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
	}
	if u != nil {
		setIdentity(w.Header(), rt.identity, u)
	}
	w.WriteHeader(http.StatusOK)
}

// sessionNeeded answers a described request for a protected path that has no session.
// Only a browser's GET or HEAD is pointed at the sign-in page: a script, or a form post
// whose body the sign-in would lose, gets a plain 401. In redirect mode the answer is a
// 302; in nginx's mode it stays a 401 and LoginHeader names the page.
func (h *Handler) sessionNeeded(w http.ResponseWriter, r *http.Request, cleanPath,
	query string) {
	if !describesBrowserRead(r) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	login := h.loginURL(cleanPath, query)
	if r.URL.Query().Get("redirect") != "1" {
		w.Header().Set(LoginHeader, login)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	// Traefik resolves a relative Location against the auth request's address, which
	// is the gateway's own and not one the browser can reach; so the original scheme
	// and host lead whenever the proxy named both.
	if origin, ok := originalOrigin(r); ok {
		login = origin + login
	}
	redirectTo(w, login, http.StatusFound)
}

// loginURL returns the local sign-in URL whose next is the path and query asked for. A
// target the redirect policy refuses is left out rather than replaced, so the sign-in
// page chooses the fallback by the same rule as everywhere else.
func (h *Handler) loginURL(cleanPath, query string) string {
	next := cleanPath
	if query != "" {
		next += "?" + query
	}
	if !h.redirects.Allowed(next) {
		return LoginPath
	}
	return LoginPath + "?next=" + url.QueryEscape(next)
}

// describesBrowserRead reports whether the described request is a browser's GET or HEAD:
// its method, as the proxy states it in X-Forwarded-Method, and an Accept listing
// text/html, which the proxies pass on from the original request. A request whose method
// the proxy does not state is not taken for one.
func describesBrowserRead(r *http.Request) bool {
	m := r.Header.Get("X-Forwarded-Method")
	return (m == http.MethodGet || m == http.MethodHead) && acceptsHTML(r)
}

// originalOrigin returns "scheme://host" of the described request from X-Forwarded-Proto
// and X-Forwarded-Host, when each is sent once and valid. Only a trusted proxy gets this
// far, and it sets both itself; a host that fails the check, or a second copy that
// would leave the choice to whoever reads first, gives no origin and a relative redirect.
func originalOrigin(r *http.Request) (string, bool) {
	protos, hosts := r.Header.Values("X-Forwarded-Proto"), r.Header.Values("X-Forwarded-Host")
	if len(protos) != 1 || len(hosts) != 1 {
		return "", false
	}
	proto, host := strings.ToLower(protos[0]), hosts[0]
	if (proto != "http" && proto != "https") || !validHost(host) {
		return "", false
	}
	// The host must read back as exactly itself, port included, so that the Location
	// names no other host than the one checked.
	u, err := url.Parse(proto + "://" + host)
	if err != nil || u.Host != host || u.Path != "" || u.Hostname() == "" {
		return "", false
	}
	return proto + "://" + host, true
}

// target is the request a front proxy describes: its escaped path and raw query.
type target struct {
	path, query string
}

// originalTarget returns the request a front proxy describes, from X-Forwarded-Uri
// (Traefik, Caddy), X-Original-URL or X-Original-URI (nginx). All that are sent must
// agree, path and query, so that a copy a client slipped past the proxy can only cause a
// denial; each must be sent once, and the method, when given, must be a plain token.
func originalTarget(r *http.Request) (target, bool) {
	var targets []target
	for _, name := range []string{"X-Forwarded-Uri", "X-Original-Url", "X-Original-Uri"} {
		vs := r.Header.Values(name)
		if len(vs) > 1 {
			return target{}, false
		}
		if len(vs) == 1 {
			t, ok := requestTarget(vs[0])
			if !ok {
				return target{}, false
			}
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return target{}, false
	}
	for _, t := range targets[1:] {
		if t != targets[0] {
			return target{}, false
		}
	}
	if m := r.Header.Values("X-Forwarded-Method"); len(m) > 1 ||
		(len(m) == 1 && !isToken(m[0])) {
		return target{}, false
	}
	return targets[0], true
}

// requestTarget splits a request target, either origin-form ("/a/b?q") or absolute
// ("https://host/a/b?q"), as nginx's $request_uri and X-Original-URL carry it, into its
// escaped path and raw query.
func requestTarget(v string) (target, bool) {
	if v == "" {
		return target{}, false
	}
	if v[0] != '/' {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Opaque != "" {
			return target{}, false
		}
		v = u.RequestURI()
	}
	p, q, _ := strings.Cut(v, "?")
	if strings.ContainsAny(p, "#") {
		return target{}, false
	}
	return target{path: p, query: q}, true
}

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
