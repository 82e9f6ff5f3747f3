package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// validate checks c, with its defaults filled in, and returns an *Error for each part
// of the config (each key of each route, each key of the session) that breaks a rule,
// in the order of the Config fields. lines maps key paths to the line they were read from; a
// key that is absent is reported at its parent's line. validate changes nothing.
func validate(c *Config, file string, lines map[string]int) []*Error {
	var problems []*Error
	v := validator{file: file, lines: lines, problems: &problems}
	checks := []func(*Config) error{
		v.listen,
		v.listeners,
		v.tls,
		v.assertion,
		v.trustedProxies,
		v.redirectHosts,
		v.users,
		v.session,
		v.identityHeaders,
		v.identityAliases,
		v.routes,
		v.limits,
		v.log,
	}
	for _, check := range checks {
		if err := check(c); err != nil {
			problems = append(problems, asError(err, file))
		}
	}
	return problems
}

// validator holds what validate needs to build an *Error.
type validator struct {
	file  string
	lines map[string]int
	// problems, when not nil, collects the problems of the parts that a check goes
	// through one by one, such as routes, and the check goes on past them
	problems *[]*Error
}

// keep records err among the problems v collects, as validate's validator does, so
// that the check goes on to its next part; a validator that collects none returns err.
func (v validator) keep(err error) error {
	if v.problems == nil || err == nil {
		return err
	}
	*v.problems = append(*v.problems, asError(err, v.file))
	return nil
}

// asError returns err as an *Error, placing it at the first line of file if it is not
// one already.
func asError(err error, file string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{File: file, Line: 1, Err: err}
}

// fail returns an *Error for key at its recorded line, or at the line of its nearest
// recorded parent, or at line 1.
func (v validator) fail(key string, err error) error {
	return &Error{File: v.file, Line: v.line(key), Key: key, Err: err}
}

// line returns the line of key, or of its nearest recorded parent, or 1.
func (v validator) line(key string) int {
	for key != "" {
		if l, ok := v.lines[key]; ok {
			return l
		}
		key = key[:max(strings.LastIndexByte(key, '.'), strings.LastIndexByte(key, '['), 0)]
	}
	return 1
}

// has reports whether key was set in the file.
func (v validator) has(key string) bool {
	_, ok := v.lines[key]
	return ok
}

func (v validator) limits(c *Config) error {
	// the stores drop each count at now + window, in nanoseconds since 1970, and the
	// gateway takes parts and multiples of the timeouts: none may come near the largest
	// duration
	t := c.Timeouts
	for _, d := range []struct {
		key string
		d   time.Duration
	}{{"throttle.window", c.Throttle.Window}, {"timeouts.read_header", t.ReadHeader},
		{"timeouts.idle", t.Idle}, {"timeouts.page", t.Page},
		{"timeouts.body_idle", t.BodyIdle}, {"timeouts.shutdown", t.Shutdown}} {
		if d.d > maxSessionDuration {
			_, name, _ := strings.Cut(d.key, ".")
			v.keep(v.fail(d.key, fmt.Errorf("%s (%s) must not be longer than %dh (10 years)",
				name, d.d, maxSessionDuration/time.Hour)))
		}
	}
	if n := c.Limits.ClientConnections; n < MinClientConnections {
		return v.fail("limits.client_connections", fmt.Errorf("%d would leave a browser, "+
			"which opens six connections to a host, or a few users behind one address, "+
			"without room; it must be at least %d (a trusted proxy's connections are "+
			"not counted)", n, MinClientConnections))
	}
	return nil
}

func (v validator) listen(c *Config) error {
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return v.fail("listen", errors.New("listen must be host:port, such as 127.0.0.1:8080"))
	}
	if !isPort(port, 0) {
		return v.fail("listen", errors.New("listen port must be a number from 0 to 65535"))
	}
	return nil
}

// isPort reports whether port is a port number from low to 65535, written plainly. A
// service name such as "http" would work with net.Listen, but hides the port from a
// reader.
func isPort(port string, low uint64) bool {
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n >= low && port == strconv.FormatUint(n, 10)
}

func (v validator) trustedProxies(c *Config) error {
	for i, s := range c.TrustedProxies {
		if _, err := parseProxy(s); err != nil {
			v.keep(v.fail(fmt.Sprintf("trusted_proxies[%d]", i), err))
		}
	}
	return nil
}

// parseProxy parses a trusted proxy entry: a CIDR prefix, or a bare address standing
// for itself alone.
func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q is not a CIDR prefix", s)
		}
		// 10.0.0.1/8 trusts all of 10.0.0.0/8: refuse it, since the author may have meant
		// a single address, and a wider trust than intended lets clients forge headers
		if p != p.Masked() {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %s has bits set past its "+
				"prefix length; write %s", p, p.Masked())
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %s is IPv4-mapped; "+
				"write it as IPv4", p)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q is not an IP address "+
			"or CIDR prefix", s)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %s must not have a zone", a)
	}
	if a.Is4In6() {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %s is IPv4-mapped; "+
			"write it as IPv4", a)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (v validator) redirectHosts(c *Config) error {
	for i, s := range c.AllowedRedirectHosts {
		if err := checkRedirectHost(strings.ToLower(s)); err != nil {
			v.keep(v.fail(fmt.Sprintf("allowed_redirect_hosts[%d]", i), err))
		}
	}
	return nil
}

// checkRedirectHost checks an allowed redirect host, already lowercased: a host name,
// or ".domain" for the subdomains of domain. The rules are narrow because the list
// decides where a sign-in may send the browser: anything looser is an open redirect.
func checkRedirectHost(h string) error {
	switch {
	case strings.Contains(h, "://"):
		return errors.New("redirect host must be a host name, not a URL")
	case strings.Contains(h, "*"):
		return errors.New("redirect host must not contain *; write .example.com " +
			"for the subdomains of example.com")
	case strings.Contains(h, "/"):
		return errors.New("redirect host must not contain a path")
	case strings.Contains(h, ":"):
		return errors.New("redirect host must not contain a port")
	}
	name, sub := strings.CutPrefix(h, ".")
	if !isHostName(name) {
		return fmt.Errorf("redirect host %q is not a valid host name", h)
	}
	// ".com" would allow every host under a top-level domain
	if sub && !strings.Contains(name, ".") {
		return fmt.Errorf("redirect host %q covers a whole top-level domain", h)
	}
	return nil
}

// isHostName reports whether s is an ASCII DNS name of lowercase letters, digits and
// inner hyphens, in labels of 1 to 63 bytes, without a trailing dot.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c != '-' && !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') {
				return false
			}
		}
	}
	return true
}

func (v validator) users(c *Config) error {
	if c.Users.File == "" {
		return v.fail("users.file", ErrRequired)
	}
	return nil
}

// maxSessionDuration is the longest session.idle_timeout, session.lifetime and
// session.remember_for may be: ten years. No sign-in is meant to outlast that, and a
// far longer one (from now, some 237 years) would carry a session's end past April
// 2262, the last instant that the session stores, and the seal on a session's record,
// count in nanoseconds since 1970. The session code holds such a deadline at that
// instant rather than let it wrap round to the past, which would end every session the
// moment it began; refusing a setting no deployment needs keeps the config from
// promising sessions that long.
const maxSessionDuration = 87600 * time.Hour

func (v validator) session(c *Config) error {
	// the rules of the session's keys stand apart, so that each broken one is reported
	var first error
	fail := func(key string, err error) {
		if err := v.keep(v.fail(key, err)); err != nil && first == nil {
			first = err
		}
	}
	s := c.Session
	switch s.Store {
	case "memory", "bolt", "redis":
	default:
		fail("session.store", fmt.Errorf("session store %q is not supported; "+
			"use one of: memory, bolt, redis", s.Store))
	}
	for i, a := range s.Redis.Addresses {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || !isPort(port, 1) {
			fail(fmt.Sprintf("session.redis.addresses[%d]", i),
				fmt.Errorf("address %q must be host:port", a))
		}
	}
	if d := s.CookieDomain; d != "" {
		if err := checkCookieDomain(d); err != nil {
			fail("session.cookie_domain", err)
		}
	}
	switch s.Secure {
	case "auto", "true", "false":
	default:
		fail("session.secure", fmt.Errorf("secure must be one of auto, true, false, not %q",
			s.Secure))
	}
	for i, secret := range s.Secrets {
		// the message never quotes the secret, nor its length
		switch {
		case len(secret) < 32:
			fail(fmt.Sprintf("session.secrets[%d]", i),
				errors.New("secret must be at least 32 bytes"))
		case distinctChars(secret) < 8:
			// spaces, zeros, one word over and over: nothing random, whatever the length
			fail(fmt.Sprintf("session.secrets[%d]", i), errors.New("secret holds fewer "+
				"than 8 different characters, so it is no secret; make one with "+
				"openssl rand -hex 32"))
		}
	}
	if s.IdleTimeout <= 0 {
		fail("session.idle_timeout", errors.New("duration must be greater than 0"))
	}
	if s.Lifetime <= 0 {
		fail("session.lifetime", errors.New("duration must be greater than 0"))
	}
	tooLong := false
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"idle_timeout", s.IdleTimeout}, {"lifetime", s.Lifetime},
		{"remember_for", s.RememberFor}} {
		if d.d > maxSessionDuration {
			tooLong = true
			fail("session."+d.name, fmt.Errorf("%s (%s) must not be longer than %dh (10 "+
				"years)", d.name, d.d, maxSessionDuration/time.Hour))
		}
	}
	if !tooLong && s.IdleTimeout > 0 && s.Lifetime > 0 && s.IdleTimeout > s.Lifetime {
		key := "session.idle_timeout"
		if !v.has(key) {
			key = "session.lifetime"
		}
		fail(key, fmt.Errorf("idle_timeout (%s) must not be longer than lifetime (%s)",
			s.IdleTimeout, s.Lifetime))
	}
	return first
}

func (v validator) identityHeaders(c *Config) error {
	return v.identityNames(c.IdentityHeaders, IdentityHeaders{}, "identity_headers")
}

// identityNames checks the identity header names own, found at key, with the names of
// inherited standing in for those own leaves empty: each must be a header name of its
// own, and no two may be the same header.
func (v validator) identityNames(own, inherited IdentityHeaders, key string) error {
	type header struct{ key, name string }
	pick := func(field, name, fallback string) header {
		if name == "" {
			return header{"identity_headers." + field, fallback}
		}
		return header{key + "." + field, name}
	}
	headers := []header{
		pick("user", own.User, inherited.User),
		pick("email", own.Email, inherited.Email),
		pick("groups", own.Groups, inherited.Groups),
		pick("name", own.Name, inherited.Name),
	}
	for i, a := range headers {
		if err := checkHeaderName(a.name); err != nil {
			return v.fail(a.key, err)
		}
		for _, b := range headers[:i] {
			if headerKey(a.name) != headerKey(b.name) {
				continue
			}
			// blame the one the author wrote, when only one was written
			if !v.has(a.key) && v.has(b.key) || !strings.HasPrefix(a.key, key) {
				a, b = b, a
			}
			return v.fail(a.key, fmt.Errorf("header %s is the same header as %s (%s)",
				a.name, b.key, b.name))
		}
	}
	return nil
}

func (v validator) identityAliases(c *Config) error {
	for i, name := range c.IdentityAliases.Extra {
		key := fmt.Sprintf("identity_aliases.extra[%d]", i)
		base := strings.TrimSuffix(name, "*")
		if base == "" {
			return v.fail(key, errors.New("name must not be empty or only *"))
		}
		for j := 0; j < len(base); j++ {
			if !isTokenChar(base[j]) || base[j] == '*' {
				return v.fail(key, fmt.Errorf("%q is not a header name, or a prefix ending "+
					"in *", name))
			}
		}
	}
	return nil
}

// checkHeaderName checks the name of an identity header: a valid HTTP token that does
// not name a header with a meaning of its own to proxies or servers. Reusing one would
// let the gateway's identity overwrite, or be confused with, the framing, routing or
// credentials of the request.
func checkHeaderName(name string) error {
	if name == "" {
		return errors.New("header name must not be empty")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("header name %q is not a valid HTTP header name", name)
		}
	}
	switch headerKey(name) {
	case "host", "cookie", "set-cookie", "authorization", "proxy-authorization",
		"proxy-authenticate", "www-authenticate", "connection", "keep-alive",
		"proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
		"content-length", "content-type", "content-encoding", "expect", "forwarded",
		"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip":
		return fmt.Errorf("header %s is reserved and cannot carry identity", name)
	}
	return nil
}

// headerKey folds a header name so that names the gateway and an upstream might take
// for the same header compare equal. Besides case, some servers (CGI, PHP, WSGI) read
// '_' and '.' as '-', so a client could send X-Forwarded_User past a filter that only
// knew X-Forwarded-User.
func headerKey(name string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110, section 5.6.2).
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (v validator) routes(c *Config) error {
	if len(c.Routes) == 0 {
		return v.fail("routes", errors.New("at least one route is required"))
	}
	seen := make(map[string]int)
	for i, r := range c.Routes {
		if err := v.keep(v.route(c, i, r, seen)); err != nil {
			return err
		}
	}
	return nil
}

// route checks the route r, the i-th of c; seen maps the host and path of each route
// before it to its index. Each of its keys that breaks a rule is a problem of its own,
// so that one run of check names them all; its public prefixes are judged against its
// path only when the path is right.
func (v validator) route(c *Config, i int, r Route, seen map[string]int) error {
	key := fmt.Sprintf("routes[%d]", i)
	pathErr := v.routePath(key, i, r, seen)
	v.keep(pathErr)
	if r.Upstream == "" {
		v.keep(v.fail(key+".upstream", ErrRequired))
	} else if _, err := parseUpstream(r.Upstream); err != nil {
		v.keep(v.fail(key+".upstream", err))
	}
	v.keep(v.allow(key+".allow", r.Allow))
	if r.Host != "" {
		if err := checkRouteHost(r.Host); err != nil {
			v.keep(v.fail(key+".host", err))
		}
	}
	switch r.CORSPreflight {
	case "", "pass":
	default:
		v.keep(v.fail(key+".cors_preflight", fmt.Errorf("cors_preflight must be pass "+
			"or empty, not %q", r.CORSPreflight)))
	}
	if r.UpstreamTimeout < 0 {
		v.keep(v.fail(key+".upstream_timeout", errors.New("duration must not be negative")))
	}
	if r.IdentityHeaders != (IdentityHeaders{}) {
		v.keep(v.identityNames(r.IdentityHeaders, c.IdentityHeaders,
			key+".identity_headers"))
	}
	for j, p := range r.Public {
		v.keep(v.publicPath(fmt.Sprintf("%s.public[%d]", key, j), p, r, pathErr == nil))
	}
	return nil
}

// routePath checks the path of r, the i-th route under key, and that no route before it
// (in seen) has the same host and path.
func (v validator) routePath(key string, i int, r Route, seen map[string]int) error {
	if err := checkPath(r.Path); err != nil {
		return v.fail(key+".path", err)
	}
	if gatewayPath(r.Path) {
		return v.fail(key+".path", fmt.Errorf("route path %s is under /.gateway, where "+
			"the gateway serves its own pages", r.Path))
	}
	// "/a/" and "/a" cover the same paths, since paths match by segment
	norm := NormalizeHost(r.Host) + " " + strings.TrimSuffix(r.Path, "/")
	if first, ok := seen[norm]; ok {
		return v.fail(key+".path", fmt.Errorf("route path %s is already covered by "+
			"routes[%d]", r.Path, first))
	}
	seen[norm] = i
	return nil
}

// publicPath checks p, a public prefix of r under key, and, when r's path is right
// (pathOK), that it lies under that path.
func (v validator) publicPath(key, p string, r Route, pathOK bool) error {
	if err := checkPath(p); err != nil {
		return v.fail(key, err)
	}
	if !pathOK {
		return nil
	}
	// Public prefixes are whole request paths: one outside the route's path could never
	// match, and was surely meant to make something public.
	if !underPrefix(p, r.Path) {
		return v.fail(key, fmt.Errorf("public path %s is not under the route's path %s",
			p, r.Path))
	}
	// One that covers the whole route leaves its allow rule nothing to guard: surely not
	// what the rule's author meant.
	a := r.Allow
	if underPrefix(r.Path, p) && len(a.Users)+len(a.Groups)+len(a.Methods) > 0 {
		return v.fail(key, fmt.Errorf("public path %s covers the whole route, so its "+
			"allow rule would never apply", p))
	}
	return nil
}

// listeners checks http_listen and admin.listen, and that no two listeners share an
// address.
func (v validator) listeners(c *Config) error {
	if c.HTTPListen != "" {
		if _, port, err := net.SplitHostPort(c.HTTPListen); err != nil || !isPort(port, 0) {
			v.keep(v.fail("http_listen", errors.New("http_listen must be host:port, such "+
				"as :80, with a port from 0 to 65535")))
		}
	}
	if a := c.Admin.Listen; a != "" {
		host, port, err := net.SplitHostPort(a)
		if err != nil || !isLoopbackHost(host) {
			return v.fail("admin.listen", errors.New("admin.listen must be a loopback "+
				"host:port, such as 127.0.0.1:9090: metrics are not for the internet"))
		}
		if !isPort(port, 0) {
			return v.fail("admin.listen", errors.New("admin.listen port must be a number "+
				"from 0 to 65535"))
		}
	}
	// Two listeners on one address: the second could not start, or, on a system that
	// lets both bind, would take some of the first one's connections.
	for _, l := range []struct{ key, addr string }{{"http_listen", c.HTTPListen},
		{"admin.listen", c.Admin.Listen}} {
		if l.addr != "" && sameListener(c.Listen, l.addr) {
			return v.fail(l.key, fmt.Errorf("%s %s is where listen %s serves already; give "+
				"it a port of its own", l.key, l.addr, c.Listen))
		}
	}
	if c.HTTPListen != "" && c.Admin.Listen != "" && sameListener(c.HTTPListen,
		c.Admin.Listen) {
		return v.fail("admin.listen", fmt.Errorf("admin.listen %s is where http_listen %s "+
			"serves already; give it a port of its own", c.Admin.Listen, c.HTTPListen))
	}
	return nil
}

func (v validator) assertion(c *Config) error {
	if a := c.Assertion.TTL; a > time.Hour {
		return v.fail("assertion.ttl", errors.New("ttl must be at most 1h: an assertion is "+
			"meant to be short-lived"))
	}
	return nil
}

// tls checks the TLS settings of each mode.
func (v validator) tls(c *Config) error {
	t := c.TLS
	switch t.Storage {
	case "file", "redis":
	default:
		return v.fail("tls.storage", fmt.Errorf("tls storage %q is not supported; use "+
			"file or redis", t.Storage))
	}
	if t.Storage == "redis" && c.Session.Store != "redis" {
		return v.fail("tls.storage", errors.New("tls storage redis uses the session "+
			"store's Redis: set session.store to redis"))
	}
	switch t.Mode {
	case "off":
		return nil
	case "files":
		if t.CertFile == "" {
			v.keep(v.fail("tls.cert_file", ErrRequired))
		}
		if t.KeyFile == "" {
			return v.fail("tls.key_file", ErrRequired)
		}
	case "acme":
		if len(t.Domains) == 0 {
			return v.fail("tls.domains", errors.New("acme mode needs at least one domain"))
		}
		seen := make(map[string]int, len(t.Domains))
		for i, d := range t.Domains {
			norm := strings.TrimSuffix(strings.ToLower(d), ".")
			if j, ok := seen[norm]; ok {
				return v.fail(fmt.Sprintf("tls.domains[%d]", i), fmt.Errorf("%q is "+
					"tls.domains[%d] again", d, j))
			}
			seen[norm] = i
			if strings.EqualFold(d, "localhost") {
				continue
			}
			if err := checkRedirectHost(strings.ToLower(d)); err != nil ||
				strings.HasPrefix(d, ".") || strings.Contains(d, "*") {
				return v.fail(fmt.Sprintf("tls.domains[%d]", i),
					fmt.Errorf("%q is not a domain name", d))
			}
		}
		if t.Email != "" {
			// the CA writes to it before a certificate runs out
			if a, err := mail.ParseAddress(t.Email); err != nil || a.Address != t.Email {
				return v.fail("tls.email", fmt.Errorf("%q is not an email address, such as "+
					"ops@example.com", t.Email))
			}
		}
		if t.CA != "" && t.CA != "staging" {
			u, err := url.Parse(t.CA)
			if err != nil || u.Scheme != "https" && !(u.Scheme == "http" &&
				isLoopbackHost(u.Hostname())) || u.Host == "" {
				return v.fail("tls.ca", errors.New("ca must be an https URL of an ACME "+
					"directory, or staging"))
			}
		}
	default:
		return v.fail("tls.mode", fmt.Errorf("tls mode %q is not supported; use off, "+
			"files or acme", t.Mode))
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// allow checks a route's access rule: plain names, and methods that are HTTP tokens.
func (v validator) allow(key string, a Allow) error {
	for _, list := range []struct {
		name  string
		items []string
	}{{"users", a.Users}, {"groups", a.Groups}} {
		for i, s := range list.items {
			if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, ",\x00\r\n\t") {
				return v.fail(fmt.Sprintf("%s.%s[%d]", key, list.name, i),
					fmt.Errorf("%q is not a plain name", s))
			}
		}
	}
	for i, m := range a.Methods {
		if m == "" {
			return v.fail(fmt.Sprintf("%s.methods[%d]", key, i), errors.New("empty method"))
		}
		for j := 0; j < len(m); j++ {
			if !isTokenChar(m[j]) {
				return v.fail(fmt.Sprintf("%s.methods[%d]", key, i),
					fmt.Errorf("%q is not an HTTP method", m))
			}
		}
	}
	return nil
}

// checkCookieDomain accepts a host name of at least two labels, without a leading dot,
// scheme, port or path. A cookie for a whole top-level domain would go to every site
// under it; browsers refuse public suffixes, but the gateway should never ask.
func checkCookieDomain(d string) error {
	if strings.HasPrefix(d, ".") || strings.ContainsAny(d, "/:*@ ") {
		return fmt.Errorf("cookie domain %q must be a bare domain such as example.com", d)
	}
	// messages quote d as written, which a variable's value hidden in them matches
	lower := strings.ToLower(d)
	if err := checkRedirectHost("." + lower); err != nil || net.ParseIP(lower) != nil {
		return fmt.Errorf("cookie domain %q is not a valid domain", d)
	}
	// co.uk or github.io would cover every site under them: browsers refuse such a
	// cookie, and the gateway refuses to ask for one.
	if suffix, _ := publicsuffix.PublicSuffix(lower); suffix == lower {
		return fmt.Errorf("cookie domain %q is a public suffix, shared by unrelated sites", d)
	}
	return nil
}

// checkRouteHost accepts "app.example.com" or "*.example.com".
func checkRouteHost(h string) error {
	name := strings.TrimPrefix(NormalizeHost(h), "*.")
	if strings.Contains(name, "*") || name == "" || strings.ContainsAny(name, "/:@ ") {
		return fmt.Errorf("host %q must be a name such as app.example.com or *.example.com", h)
	}
	if name != "localhost" {
		if err := checkRedirectHost(name); err != nil {
			return fmt.Errorf("host %q must be a name such as app.example.com or "+
				"*.example.com", h)
		}
	}
	return nil
}

// NormalizeHost lower-cases a host and drops its port and trailing dot, as routes and
// requests are compared.
func NormalizeHost(h string) string {
	h = strings.ToLower(h)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// gatewayPath reports whether p lies under /.gateway by whole segments.
func gatewayPath(p string) bool { return underPrefix(p, "/.gateway") }

// underPrefix reports whether path lies under prefix by whole segments, as the gateway
// matches request paths.
func underPrefix(path, prefix string) bool {
	path = strings.TrimSuffix(path, "/")
	prefix = strings.TrimSuffix(prefix, "/")
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

// checkPath checks a route or public path prefix. It is compared with the request path
// after that is decoded and cleaned, so a prefix holding an escape, a query, a dot
// segment or a doubled slash would never match, or would match other paths than a
// reader expects; and a path that looks like one prefix but is another is how access
// rules get bypassed.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("path must start with /")
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c < 0x20 || c == 0x7f:
			return errors.New("path must not contain control characters")
		case strings.IndexByte("?#%\\", c) >= 0:
			return fmt.Errorf("path must not contain %q", c)
		}
	}
	switch {
	case strings.Contains(p, "//"):
		return errors.New("path must not contain //")
	case strings.Contains(p, ".."):
		return errors.New("path must not contain ..")
	case strings.Contains(p+"/", "/./"):
		return errors.New("path must not contain a . segment")
	case strings.ContainsAny(p, ";:"):
		// requests under it would be refused: ";" starts a parameter and ":" an NTFS
		// stream, which servers drop, so such a path means another to them
		return errors.New(`path must not contain ";" or ":"`)
	case !utf8.ValidString(p) || LookAlike(p):
		// as requests whose path holds one are refused: see LookAlike
		return errors.New("path must not contain characters that look like others " +
			"(it is not in Unicode NFKC form, or holds a look-alike of a dot, slash or " +
			"colon, or a control or space beyond ASCII), nor bytes that are not UTF-8")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if n := len(seg); n > 0 && strings.IndexByte(". +", seg[n-1]) >= 0 {
			// Windows drops these, so requests under it would be refused
			return fmt.Errorf("path must not have a segment ending in %q", seg[n-1])
		}
	}
	return nil
}

var errUpstreamScheme = errors.New("upstream must be an http:// or https:// URL, as in " +
	"http://127.0.0.1:9001")

// parseUpstream parses an upstream base URL: absolute http or https, with a host and no
// user info, query or fragment. Errors never quote the URL, which might hold a password.
func parseUpstream(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		// "127.0.0.1:9001" or "app:3000": url.Parse's complaint would not say what is
		// missing
		return nil, errUpstreamScheme
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("upstream is not a valid URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errUpstreamScheme
	case u.Opaque != "" || u.Hostname() == "":
		return nil, errors.New("upstream must name a host, as in http://app:3000")
	case u.User != nil:
		// credentials belong in the upstream's own config, not in a URL that gets logged
		return nil, errors.New("upstream must not contain user info")
	case strings.ContainsAny(s, "?#"):
		return nil, errors.New("upstream must not have a query or fragment")
	case u.Port() != "" && !isPort(u.Port(), 1):
		return nil, errors.New("upstream port must be a number from 1 to 65535")
	case dotSegment(u.Path) || strings.Contains(u.Path, "\\"):
		// the app would resolve it: /x/../admin is /admin, which the warnings of routes
		// that reach one app's path by two ways would not see
		return nil, errors.New(`upstream path must not hold a "." or ".." segment or a ` +
			`backslash`)
	case u.Path != "" && u.Path != "/":
		// held to the rules of a route's path, as it is read the ways a route's is (an
		// encoded slash, a ";" parameter, a look-alike dot)
		if err := checkPath(u.Path); err != nil {
			return nil, fmt.Errorf("upstream %w", err)
		}
		if p := u.EscapedPath(); strings.Contains(strings.ToLower(p), "%2f") {
			return nil, errors.New("upstream path must not hold an encoded /")
		}
	}
	return u, nil
}

// dotSegment reports whether the decoded path p holds a "." or ".." segment.
func dotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func (v validator) log(c *Config) error {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.keep(v.fail("log.level", fmt.Errorf("log level must be one of debug, info, warn, "+
			"error, not %q", c.Log.Level)))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return v.fail("log.format", fmt.Errorf("log format must be text or json, not %q",
			c.Log.Format))
	}
	return nil
}

// sameListener reports whether listeners on the host:port addresses a and b would
// claim one address: the same port, on the same host or where either host is every
// address ("", 0.0.0.0, ::). Port 0, a port the system picks, is never the same.
func sameListener(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	every := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return every(ha) || every(hb) || strings.EqualFold(ha, hb)
}

// distinctChars returns how many different characters s holds: runes, so that one
// character of several bytes counts once.
func distinctChars(s string) int {
	seen := make(map[rune]bool)
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}
