package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/frontgate/gateway/config"
)

// route is one configured route, ready to serve.
type route struct {
	host      string // "", "app.example.com" or "*.example.com"
	path      string
	name      string // host and path, as logs and metrics name the route
	public    []string
	allow     config.Allow
	upstream  *url.URL
	preserve  bool
	strip     bool
	prefix    []string // X-Forwarded-Prefix of a strip_prefix route, nil for others
	maxBody   int64
	identity  config.IdentityHeaders
	preflight bool
	basic     bool
	// dropBasic: Basic credentials are removed here, as they are the gateway's users'
	// (see New)
	dropBasic bool
	assert    bool
	proxy     *httputil.ReverseProxy
	app       *app // the app the upstream names
}

// newRoute prepares rc. tr is the shared upstream transport; a route that needs TLS
// settings or a timeout of its own gets a copy, unless the transport was given.
func (h *Handler) newRoute(rc config.Route, tr http.RoundTripper, given bool,
	errLog *log.Logger) (*route, error) {
	if rc.UpstreamURL == nil {
		return nil, fmt.Errorf("route %s: upstream not parsed", rc.Path)
	}
	rt := &route{
		host:      rc.Host,
		path:      rc.Path,
		name:      rc.Host + rc.Path,
		public:    rc.Public,
		allow:     rc.Allow,
		upstream:  rc.UpstreamURL,
		preserve:  rc.PreserveHost == nil || *rc.PreserveHost,
		strip:     rc.StripPrefix,
		maxBody:   int64(rc.MaxBody),
		identity:  h.identity,
		preflight: rc.CORSPreflight == "pass",
		basic:     rc.BasicAuth,
		assert:    rc.Assertion,
	}
	if rt.strip && strings.TrimSuffix(rt.path, "/") != "" {
		rt.prefix = []string{strings.TrimSuffix(rt.path, "/")}
	}
	if rc.IdentityHeaders != (config.IdentityHeaders{}) {
		rt.identity = canonicalIdentity(mergeIdentity(rc.IdentityHeaders, h.identity))
	}
	if t, ok := tr.(*http.Transport); ok && !given &&
		(rc.UpstreamCA != "" || rc.UpstreamServerName != "" || rc.UpstreamTimeout > 0) {
		own, err := h.routeTransport(t, rc)
		if err != nil {
			return nil, err
		}
		tr = own
	}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { h.rewrite(rt, pr) },
		Transport:      tr,
		ErrorHandler:   h.upstreamError,
		ErrorLog:       errLog,
		ModifyResponse: h.relayed,
		BufferPool:     copyBuffers,
	}
	return rt, nil
}

// copyBufferSize is the size of the buffers that carry bodies between client and
// upstream: httputil's own default.
const copyBufferSize = 32 << 10

// bufferPool lends every route's ReverseProxy its copy buffers, so that a request does
// not allocate and zero 32 KiB only to carry a small body.
type bufferPool struct{ p sync.Pool }

// copyBuffers is the pool all routes share.
var copyBuffers = &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}

// Get implements httputil.BufferPool.
func (b *bufferPool) Get() []byte { return b.p.Get().(*[copyBufferSize]byte)[:] }

// Put implements httputil.BufferPool. Buffers of another size are left to the collector.
func (b *bufferPool) Put(buf []byte) {
	if len(buf) == copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(buf))
	}
}

func mergeIdentity(a, b config.IdentityHeaders) config.IdentityHeaders {
	if a.User == "" {
		a.User = b.User
	}
	if a.Email == "" {
		a.Email = b.Email
	}
	if a.Groups == "" {
		a.Groups = b.Groups
	}
	if a.Name == "" {
		a.Name = b.Name
	}
	return a
}

// transportKey is what sets an upstream transport apart from the shared one, the zero
// key: a route's upstream TLS roots (the certificates themselves, so that a file
// changed on disk makes another key), server name and answer timeout.
type transportKey struct {
	ca, serverName string
	timeout        time.Duration
}

// routeTransport returns a copy of t with the route's upstream TLS roots, server name
// and answer timeout, one for all the routes of h that set the same.
func (h *Handler) routeTransport(t *http.Transport, rc config.Route) (*http.Transport,
	error) {
	k := transportKey{serverName: rc.UpstreamServerName, timeout: rc.UpstreamTimeout}
	if rc.UpstreamCA != "" {
		pem, err := config.ReadPlain(rc.UpstreamCA, config.MaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("reading upstream_ca: %w", err)
		}
		k.ca = string(pem)
	}
	if own := h.transports[k]; own != nil {
		return own, nil
	}
	own := t.Clone()
	own.ResponseHeaderTimeout = rc.UpstreamTimeout
	if rc.UpstreamCA != "" || rc.UpstreamServerName != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: rc.UpstreamServerName}
		if k.ca != "" {
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM([]byte(k.ca)) {
				return nil, fmt.Errorf("upstream_ca %s: no PEM certificate in the file",
					rc.UpstreamCA)
			}
		}
		own.TLSClientConfig = tc
	}
	h.transports[k] = own
	return own, nil
}

// adoptTransports has h carry its upstream requests over the transports of old, the
// handler it replaces, wherever both have one with the same settings, so that the
// connections old keeps open to the apps serve h too: otherwise each reload would have
// every app accept new ones, while old's sat idle. old's other transports close their
// idle connections, and so does one taken over whose routes no longer reach an app they
// reached (those to the apps still reached are opened again as needed).
func (h *Handler) adoptTransports(old *Handler) {
	for k, ot := range old.transports {
		t, ok := h.transports[k]
		if !ok {
			ot.CloseIdleConnections()
			continue
		}
		for _, rt := range h.routes {
			if rt.proxy.Transport == t {
				rt.proxy.Transport = ot
			}
		}
		h.transports[k] = ot
		if !reachesAll(h.routes, old.routes, ot) {
			ot.CloseIdleConnections()
		}
	}
}

// reachesAll reports whether the routes of now that go through t reach every upstream
// the routes of before that went through t reached.
func reachesAll(now, before []*route, t http.RoundTripper) bool {
	reached := map[string]bool{}
	for _, rt := range now {
		if rt.proxy.Transport == t {
			reached[rt.upstream.Scheme+"://"+rt.upstream.Host] = true
		}
	}
	for _, rt := range before {
		if rt.proxy.Transport == t && !reached[rt.upstream.Scheme+"://"+rt.upstream.Host] {
			return false
		}
	}
	return true
}

// hostRank orders how specifically a route names its host: exact, then wildcards by
// length, then any host.
func hostRank(h string) int {
	switch {
	case h == "":
		return 0
	case strings.HasPrefix(h, "*."):
		return len(h)
	}
	return 1 << 20
}

// sortRoutes puts the most specific routes first: by host, then by path length.
func sortRoutes(rs []*route) {
	sort.SliceStable(rs, func(i, j int) bool {
		if a, b := hostRank(rs[i].host), hostRank(rs[j].host); a != b {
			return a > b
		}
		return len(strings.TrimSuffix(rs[i].path, "/")) >
			len(strings.TrimSuffix(rs[j].path, "/"))
	})
}

// hostMatches reports whether a route host covers the request host, both normalised.
func hostMatches(pattern, host string) bool {
	switch {
	case pattern == "":
		return true
	case strings.HasPrefix(pattern, "*."):
		return strings.HasSuffix(host, pattern[1:]) && len(host) > len(pattern)-1
	}
	return pattern == host
}

// servesHost reports whether a route serves the normalised host, on any path.
func (h *Handler) servesHost(host string) bool {
	for _, rt := range h.routes {
		if hostMatches(rt.host, host) {
			return true
		}
	}
	return false
}

// match returns the most specific route for a normalised host and a decoded path, and
// whether the path is public on it. The host is never trusted for more than choosing
// among the configured routes: no match is a 404, never a default upstream.
func (h *Handler) match(host, path string) (*route, bool) {
	return h.matchBy(host, path, underPrefix)
}

// matchBy is match with under telling whether a path lies under a prefix.
func (h *Handler) matchBy(host, path string, under func(path, prefix string) bool) (
	*route, bool) {
	for _, rt := range h.routes {
		if !hostMatches(rt.host, host) || !under(path, rt.path) {
			continue
		}
		for _, p := range rt.public {
			if under(path, p) {
				return rt, true
			}
		}
		return rt, false
	}
	return nil, false
}

// stripPrefix removes rt's path from an escaped and a decoded path, segment by segment:
// the two have the same segments, since encoded slashes are refused.
func (rt *route) stripPrefix(escaped, decoded string) (string, string) {
	return rt.cut(escaped), rt.cut(decoded)
}

// cut returns p without as many leading segments as rt's path has, or "/" when p has no
// more.
func (rt *route) cut(p string) string {
	n := strings.Count(strings.TrimSuffix(rt.path, "/"), "/")
	i := 0
	for k := 0; k < n; k++ {
		if i+1 >= len(p) {
			return "/"
		}
		j := strings.IndexByte(p[i+1:], '/')
		if j < 0 {
			return "/"
		}
		i += j + 1
	}
	return p[i:]
}

// publicLocation reads loc, a Location an upstream answered with, and when it points at
// the upstream's own address, as an app that does not know the gateway is in front
// writes it, returns the path the browser reaches the same resource at through this
// route. A browser sent to the upstream's address would go around the gateway, or
// nowhere. Any other loc is left as it is (ok is false).
func (rt *route) publicLocation(loc string) (string, bool) {
	if len(loc) < 8 || !strings.EqualFold(loc[:7], "http://") &&
		!strings.EqualFold(loc[:8], "https://") || strings.ContainsRune(loc, '\\') {
		return "", false
	}
	u, err := url.Parse(loc)
	if err != nil || u.User != nil || !sameOrigin(u, rt.upstream) {
		return "", false
	}
	base := strings.TrimSuffix(rt.upstream.EscapedPath(), "/")
	p := u.EscapedPath()
	if p != base && !strings.HasPrefix(p, base+"/") {
		return "", false
	}
	rest := p[len(base):]
	if rest == "" {
		rest = "/"
	}
	if rt.strip {
		rest = strings.TrimSuffix(rt.path, "/") + rest
	}
	// never a path a browser reads as another host
	if strings.HasPrefix(rest, "//") {
		return "", false
	}
	if u.RawQuery != "" || u.ForceQuery {
		rest += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		rest += "#" + u.EscapedFragment()
	}
	return rest, true
}

// sameOrigin reports whether a and b have the same scheme, host and port, a port left
// out being the scheme's default.
func sameOrigin(a, b *url.URL) bool {
	if !strings.EqualFold(a.Scheme, b.Scheme) {
		return false
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}
