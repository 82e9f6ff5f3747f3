package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/frontgate/gateway/config"
)

// AuthPath answers forward-auth requests from a front proxy such as nginx's
// auth_request: is the request the proxy describes allowed?
const AuthPath = Prefix + "/auth"

// forwardAuth answers for a front proxy in nginx's way: 200 with the identity headers
// when the described request may pass, 401 when it needs a session, 403 when it may not
// pass at all. The description is believed only from a trusted proxy: from anyone else
// the headers are the whole input, and believing them would let any client claim any
// URL.
func (h *Handler) forwardAuth(w http.ResponseWriter, r *http.Request) {
	noStore(w.Header())
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !trusted(peer, h.trusted) {
		h.log.Warn("forward-auth refused", "reason", "not from a trusted proxy",
			"client_ip", peer.String())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	path, ok := originalPath(r)
	if !ok {
		h.log.Warn("forward-auth refused", "reason", "original URL missing or ambiguous",
			"client_ip", h.clientIP(r).String())
		w.WriteHeader(http.StatusForbidden)
		return
	}
	_, decoded, err := normalizePath(path)
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
			w.WriteHeader(http.StatusUnauthorized)
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

// originalPath returns the escaped path of the request a front proxy describes, from
// X-Forwarded-Uri (Traefik, Caddy), X-Original-URL or X-Original-URI (nginx). All that
// are sent must agree, so that a copy a client slipped past the proxy can only cause a
// denial; each must be sent once, and the method, when given, must be a plain token.
func originalPath(r *http.Request) (string, bool) {
	var paths []string
	for _, name := range []string{"X-Forwarded-Uri", "X-Original-Url", "X-Original-Uri"} {
		vs := r.Header.Values(name)
		if len(vs) > 1 {
			return "", false
		}
		if len(vs) == 1 {
			p, ok := requestTargetPath(vs[0])
			if !ok {
				return "", false
			}
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return "", false
	}
	for _, p := range paths[1:] {
		if p != paths[0] {
			return "", false
		}
	}
	if m := r.Header.Values("X-Forwarded-Method"); len(m) > 1 ||
		(len(m) == 1 && !isToken(m[0])) {
		return "", false
	}
	return paths[0], true
}

// requestTargetPath returns the escaped path of a request target, either origin-form
// ("/a/b?q") or absolute ("https://host/a/b?q"), as nginx's $request_uri and
// X-Original-URL carry it.
func requestTargetPath(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	if v[0] != '/' {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Opaque != "" {
			return "", false
		}
		v = u.RequestURI()
	}
	p, _, _ := strings.Cut(v, "?")
	if strings.ContainsAny(p, "#") {
		return "", false
	}
	return p, true
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
