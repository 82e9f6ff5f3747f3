package proxy

import (
	"bytes"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
)

// ReservedHeaderPrefix is the header-name prefix the gateway keeps for itself. No client
// header under it ever reaches an upstream.
const ReservedHeaderPrefix = "X-Gateway-"

// identityAliases are header names that apps and other gateways commonly read as "the
// signed-in user". A client copy of any of them is removed, whatever the configured
// identity headers are, so an app that trusts one of them cannot be fooled.
var identityAliases = []string{
	"X-User", "X-Email", "X-Groups", "X-Username", "X-Preferred-Username", "X-Proxy-User",
	"Proxy-User", "X-Auth-User", "X-Auth-Email", "X-Auth-Groups", "X-Auth-Username",
	"Auth-User", "User", "Session", "X-Session", "X-Userid", "X-Uid",
	"X-Login", "X-Principal", "X-Authorized-User", "X-Api-User", "X-Client-Cert",
	"X-Client-Verify", "X-Client-DN", "Ssl-Client-Cert",
	"X-Userinfo", "X-Id-Token", "X-Access-Token", "X-Auth-Token", "X-Jwt-Assertion",
	"X-Iap-User", "Authenticated-User", "X-Authorized-Groups", "X-Kubernetes-Remote-User",
	"X-Forwarded-Access-Token", "X-Token-Subject",
	// IBM Security Verify Access (WebSEAL), CA SiteMinder, Shibboleth and LDAP front ends
	"Smuser", "Sm-User", "Sm-Universalid", "Sm-Authtype", "Sm-Userdn", "Eppn",
	"Http-Remote-User", "X-Act-As",
	// Louketo (Keycloak Gatekeeper), Kong's anonymous consumer, Elasticsearch's run-as,
	// and the signed assertions of Google IAP and Teleport
	"X-Auth-Userid", "X-Auth-Subject", "X-Auth-Roles", "X-Auth-Audience", "X-Roles",
	"X-Role",
	"X-Auth-Expiresin", "X-Anonymous-Consumer", "Es-Security-Runas-User",
	"X-Goog-Iap-Jwt-Assertion", "Teleport-Jwt-Assertion",
	// client certificates as front proxies pass them on: RFC 9440, IIS ARR (Azure),
	// nginx recipes, WebLogic's proxy plug-in
	"Client-Cert", "Client-Cert-Chain", "X-Arr-ClientCert", "X-Client-Certificate",
	"WL-Proxy-Client-Cert",
	// RSA ClearTrust, Django's REMOTE_USER example (HTTP_AUTHUSER), OpenSearch's proxy
	// roles, the tenant of Grafana's Mimir, Loki and Tempo, and the signed-in user as
	// Google Cloud Endpoints and API Gateway pass it
	"Ct-Remote-User", "AuthUser", "X-Proxy-Roles", "X-Scope-OrgID",
	"X-Endpoint-API-UserInfo", "X-Apigateway-Api-Userinfo",
}

// identityAliasPrefixes are name prefixes removed the same way: whole families of
// identity headers that other gateways define.
var identityAliasPrefixes = []string{
	"remote-", "x-remote-", "x-auth-request-", "x-webauth-", "x-authenticated-",
	"x-consumer-", "x-credential-", "x-user-", "x-pomerium-", "x-authentik-",
	"x-ms-client-principal", "x-goog-authenticated-user-", "x-amzn-oidc-",
	"cf-access-", "impersonate-", "x-client-cert-", "x-vouch-",
	"tailscale-user-", "x-oauth-", "x-oidc-", "x-saml-", "iv-", "shib-", "x-shib-",
	"x-ldap-", "ssl-client-", "x-impersonate-",
	// caddy-security, Sandstorm, Azure App Service's tokens, AWS ALB's and others' client
	// certificates
	"x-token-user-", "x-sandstorm-", "x-ms-token-", "x-amzn-mtls-clientcert",
	"x-tls-client-",
	// nginx and HAProxy recipes for client certificates (X-SSL-Cert, X-SSL-Verify,
	// X-SSL-Subject-DN), and every header of Apache's mod_auth_openidc (OIDC_CLAIM_*,
	// OIDC_access_token, OIDC_id_token)
	"x-ssl-", "oidc-",
	// Cloudflare's client certificate headers
	"cf-cert-", "cf-client-cert-",
	// The private headers of WebSphere's plug-in ($WSRU is the user, $WSCC the client
	// certificate, $WSRA the address, $WSIS and $WSSC the scheme), Oracle Access
	// Manager's (OAM_REMOTE_USER), CouchDB's proxy authentication (X-Auth-CouchDB-Roles:
	// _admin), Search Guard's user attributes, iisnode's server variables, and the
	// headers App Engine sets for its own users, cron jobs and calling apps.
	wsPrivate, "oam-", "x-auth-couchdb-", "x-proxy-ext-", "x-iisnode-", "x-appengine-",
}

// wsPrivate starts WebSphere's private header names ($WS…), folded. Some carry the
// client's address and scheme, so they are removed with the forwarding headers too.
const wsPrivate = "-ws"

// forwardedHeaders describe the original request or the client. The gateway writes its
// own X-Forwarded-For, -Host and -Proto; every other one is removed, since an app that
// reads it would otherwise route or log by a client's claim.
var forwardedHeaders = []string{
	"Forwarded", "X-Real-IP", "X-Client-IP", "Client-IP", "True-Client-IP",
	"CF-Connecting-IP", "Fastly-Client-IP", "X-Cluster-Client-IP", "X-ProxyUser-IP",
	"X-Original-URL", "X-Original-URI", "X-Original-Host", "X-Original-Method",
	"X-Rewrite-URL", "X-Original-Path", "X-Request-URI", "X-Host", "X-HTTP-Host",
	"Front-End-Https", "X-Url-Scheme", "X-Scheme", "X-Client-Port",
	"X-Originating-IP", "X-True-IP", "Forwarded-For", "Forwarded-Host", "Forwarded-Proto",
	"X-Forwarded", "Proxy-Client-IP", "WL-Proxy-Client-IP", "WL-Proxy-SSL",
	"X-ARR-ClientIP", "X-ARR-SSL", "X-Azure-ClientIP", "X-Azure-SocketIP",
	"X-Proxied-Https", "Ssl-Offloaded", "CloudFront-Forwarded-Proto", "CF-Visitor",
	"Proxy-Ssl-Id", "Proxy-Auth-Cert",
	"Fly-Client-IP", "CloudFront-Viewer-Address", "X-Appengine-User-IP", "Via",
	"X-Coming-From", "X-Remote-IP", "X-Remote-Addr", "X-Client-Addr", "X-Real-Port",
	"Real-IP", "X-Custom-IP-Authorization",
	// The client's address as CDNs and hosts pass it on: Imperva, Sucuri, Cloudflare's
	// IPv6 forms, DigitalOcean, Vercel, Netlify; and the Azure Front Door id apps admit
	// requests by.
	"Incap-Client-IP", "X-Sucuri-ClientIP", "CF-Connecting-IPv6", "CF-Pseudo-IPv4",
	"DO-Connecting-IP", "X-Vercel-Forwarded-For", "X-Nf-Client-Connection-Ip",
	"X-Azure-FDID",
	// Where the app lives, which apps build their links from (WSGI's SCRIPT_NAME, as
	// recipes for Flask and others read it, and Kubernetes ingresses).
	"X-Script-Name", "Script-Name", "X-Ingress-Path", "X-Base-Path", "X-Base-Url",
	// Hop-by-hop credentials, in spellings the standard library does not strip.
	"Proxy-Authorization", "Proxy-Connection",
	// A CGI app (PHP, Python or Perl under CGI or FastCGI) reads this one as
	// HTTP_PROXY, which most HTTP clients take for the proxy to send the app's own
	// outgoing requests through (httpoxy): a client would pick where they go.
	"Proxy",
}

// hostOverrideHeaders name the host or URL of the original request, which frameworks and
// caches take for it in some setups, and an attacker for a cache poisoning. The proxy
// removes them with forwardedHeaders; forward-auth, which cannot, refuses a request that
// carries one (rewriteHeaders).
var hostOverrideHeaders = []string{"X-HTTP-Host-Override", "X-Host-Override", "Proxy-Host",
	"Proxy-Url", "X-Proxy-Url", "Base-Url", "Http-Url", "X-Envoy-Original-Dst-Host"}

// methodOverrideHeaders make an app act on another method than the one a rule judged.
var methodOverrideHeaders = []string{"X-HTTP-Method-Override", "X-HTTP-Method",
	"X-Method-Override"}

// hasMethodOverride reports whether h holds a method override in any spelling.
func hasMethodOverride(h http.Header) bool {
	for name := range h {
		folded := foldName(name)
		for _, o := range methodOverrideHeaders {
			if folded == foldName(o) {
				return true
			}
		}
	}
	return false
}

// headerFilter decides which client headers must not reach an upstream. Names are
// compared after folding: lower case, with every character but letters and digits read
// as "-", so that "X_Forwarded_User", "x.forwarded.user" and "X~Forwarded~User" are
// caught with "X-Forwarded-User".
type headerFilter struct {
	names    map[string]bool
	prefixes []string
	// byFirst holds prefixes by their first byte, so that a name is compared with the
	// few that could start it rather than with every family: set by indexed
	byFirst *[256][]string
}

// indexed returns f with its prefixes indexed by their first byte.
func (f *headerFilter) indexed() *headerFilter {
	var idx [256][]string
	for _, p := range f.prefixes {
		if p != "" {
			idx[p[0]] = append(idx[p[0]], p)
		}
	}
	f.byFirst = &idx
	return f
}

// newHeaderFilter returns a filter for the identity header names, the gateway's own
// reserved and forwarding headers, the built-in aliases when builtin is set, and extra
// names (a trailing "*" makes a prefix).
func newHeaderFilter(identity []string, builtin bool, extra []string) *headerFilter {
	f := &headerFilter{names: map[string]bool{}}
	lists := [][]string{identity, forwardedHeaders, hostOverrideHeaders, methodOverrideHeaders}
	// The X-Forwarded- family is always a prefix: the gateway writes its own members.
	// "Gateway-" covers headers named like the gateway's cookies (Gateway-Session,
	// Gateway_Login), which a framework might map onto its session.
	f.prefixes = []string{foldName(ReservedHeaderPrefix), "x-forwarded-", "gateway-",
		"x-original-", "x-envoy-", wsPrivate}
	if builtin {
		lists = append(lists, identityAliases)
		f.prefixes = append(f.prefixes, identityAliasPrefixes...)
	}
	for _, n := range extra {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			f.prefixes = append(f.prefixes, foldName(p))
		} else {
			lists = append(lists, []string{n})
		}
	}
	for _, l := range lists {
		for _, n := range l {
			f.names[foldName(n)] = true
		}
	}
	return f.indexed()
}

// with returns a filter that removes what f does and the folded names too.
func (f *headerFilter) with(names []string) *headerFilter {
	n := &headerFilter{names: maps.Clone(f.names), prefixes: f.prefixes, byFirst: f.byFirst}
	for _, name := range names {
		n.names[name] = true
	}
	return n
}

// keepFormerIdentity has h go on removing, from what clients send, the identity header
// names that old, or a handler old replaced, set and h does not: an app still reading
// one after the reload that renamed it would take a client's word for who the user is.
// They are removed until the gateway restarts.
func (h *Handler) keepFormerIdentity(old *Handler) {
	var former []string
	for _, names := range []map[string]bool{old.identityOf, old.formerIdentity} {
		for n := range names {
			if !h.filter.blockedFolded(n) && !slices.Contains(former, n) {
				former = append(former, n)
			}
		}
	}
	if len(former) == 0 {
		return
	}
	slices.Sort(former)
	h.formerIdentity = make(map[string]bool, len(former))
	for _, n := range former {
		h.formerIdentity[n] = true
	}
	h.filter = h.filter.with(former)
	h.log.Warn("identity headers no longer set are still removed from requests, until "+
		"the gateway restarts", "headers", former)
}

// newAliasFilter returns a filter for the other names apps read as the user: the
// built-in aliases when builtin is set, and extra names (a trailing "*" makes a prefix).
// Forward-auth refuses a request that carries one, as the front proxy passes it on.
func newAliasFilter(builtin bool, extra []string) *headerFilter {
	f := &headerFilter{names: map[string]bool{}}
	if builtin {
		for _, n := range identityAliases {
			f.names[foldName(n)] = true
		}
		f.prefixes = slices.Clone(identityAliasPrefixes)
	}
	for _, n := range extra {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			f.prefixes = append(f.prefixes, foldName(p))
		} else {
			f.names[foldName(n)] = true
		}
	}
	return f.indexed()
}

// describingHeaders are the X-Forwarded- names front proxies set on an auth request to
// describe the request it is about (nginx, Traefik, Caddy, ingress-nginx). Any other
// member of the family on an auth request is a client's, which the front proxy would
// pass on to the app.
var describingHeaders = map[string]bool{
	"x-forwarded-for": true, "x-forwarded-host": true, "x-forwarded-proto": true,
	"x-forwarded-method": true, "x-forwarded-uri": true, "x-forwarded-port": true,
	"x-forwarded-server": true, "x-forwarded-prefix": true, "x-forwarded-scheme": true,
	"x-forwarded-ssl": true,
}

// rewriteHeaders name another path, host or base for a request, which some frameworks
// take over the request's own (Symfony and Zend read X-Rewrite-URL as the path, WSGI
// recipes X-Script-Name as where the app lives), folded: the hostOverrideHeaders too.
var rewriteHeaders = func() map[string]bool {
	m := map[string]bool{
		"x-rewrite-url": true, "x-original-path": true, "x-request-uri": true,
		"x-original-host": true, "x-host": true, "x-http-host": true,
		"x-script-name": true, "script-name": true, "x-ingress-path": true,
		"x-base-path": true, "x-base-url": true, "forwarded-host": true,
		"x-envoy-original-path": true,
	}
	for _, name := range hostOverrideHeaders {
		m[foldName(name)] = true
	}
	return m
}()

// reservedIn returns the name of a header in h under the gateway's own prefix, other
// than the hop header a gateway in front of this one adds, or named like its cookies
// (Gateway-Session), or "".
func reservedIn(h http.Header) string {
	var buf [64]byte
	for name := range h {
		b := foldInto(&buf, name)
		if bytes.HasPrefix(b, reservedPrefix) && string(b) != hopName ||
			bytes.HasPrefix(b, cookieLikePrefix) {
			return name
		}
	}
	return ""
}

// namedIn returns the name of a header in h that, folded, is one of names, or "".
func namedIn(h http.Header, names map[string]bool) string {
	if len(names) == 0 {
		return ""
	}
	var buf [64]byte
	for name := range h {
		if names[string(foldInto(&buf, name))] {
			return name
		}
	}
	return ""
}

// reservedPrefix, hopName and cookieLikePrefix are the gateway's own header names, folded.
var (
	reservedPrefix   = []byte(foldName(ReservedHeaderPrefix))
	hopName          = foldName(HopHeader)
	cookieLikePrefix = []byte("gateway-")
)

// foldInto returns name folded as foldName folds it, in buf when it fits, so that a
// name that fits costs no allocation.
func foldInto(buf *[64]byte, name string) []byte {
	if len(name) > len(buf) {
		return []byte(foldName(name))
	}
	b := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		b[i] = foldByte(name[i])
	}
	return b
}

// forwardedClaim returns the name of a header in h, as a front proxy passes a client's
// headers to forward-auth, that claims something of the request the proxy does not
// set and the app may believe: a member of the X-Forwarded- or X-Original- family other
// than those describing the request and the identity headers (which the proxy replaces),
// a member of the X-Envoy- family, or a header naming another path or host. It returns
// "" when there is none.
//
// The proxy removes both families whole; behind a front proxy they reach the app. An
// Envoy there, as a service mesh puts before each app, takes X-Envoy-Internal for word
// that the request comes from inside, and X-Envoy-Original-Path for the path.
func forwardedClaim(h http.Header, identity map[string]bool) string {
	var buf [64]byte
	for name := range h {
		b := foldInto(&buf, name)
		// string(b) in a map index or a comparison does not allocate
		if identity[string(b)] {
			continue
		}
		if rewriteHeaders[string(b)] || bytes.HasPrefix(b, envoyPrefix) ||
			bytes.HasPrefix(b, forwardedPrefix) && !describingHeaders[string(b)] ||
			bytes.HasPrefix(b, originalPrefix) && !describingOriginal[string(b)] {
			return name
		}
	}
	return ""
}

// forwardedPrefix, originalPrefix and envoyPrefix start the X-Forwarded-, X-Original-
// and X-Envoy- families, folded.
var (
	forwardedPrefix = []byte("x-forwarded-")
	originalPrefix  = []byte("x-original-")
	envoyPrefix     = []byte("x-envoy-")
)

// describingOriginal are the X-Original- headers front proxies describe the request
// with, which forward-auth reads (-URL, -URI, -Method) or holds to the scheme the proxy
// names (-Proto), folded.
var describingOriginal = map[string]bool{"x-original-url": true, "x-original-uri": true,
	"x-original-method": true, "x-original-proto": true}

// notAliases are names under an alias prefix that are no identity, which forward-auth
// lets by: gRPC-Web names its library in X-User-Agent, and ingress-nginx sends the
// original URL in X-Auth-Request-Redirect on every auth request.
var notAliases = map[string]bool{"x-user-agent": true, "x-auth-request-redirect": true}

// aliasIn returns the name of a header in h that f blocks, or "".
func (f *headerFilter) aliasIn(h http.Header) string {
	for name := range h {
		if f.blocked(name) && !notAliases[foldName(name)] {
			return name
		}
	}
	return ""
}

// framingAlias reports whether h carries a header that, spelt with another separator
// for "-" ("_", ".", "~" and the like), names one that frames or types the body
// (Content-Type, Content-Length, Transfer-Encoding, Content-Encoding), or a Connection
// header that names one of those. Servers that read "_" as "-" (Thin, Mongrel), or every
// character but letters and digits as "_" (CGI gateways such as lighttpd's), let such a
// copy replace the real header; and the proxy removes every header Connection names, so
// the app would receive the body without the type it was judged by (Rack reads a body
// without one as a form). Either way the app would read the body otherwise than the
// gateway and every proxy before it.
func framingAlias(h http.Header) bool {
	for name := range h {
		switch len(name) { // the lengths of the framing names, before the slower checks
		case len("Content-Type"), len("Content-Length"), len("Transfer-Encoding"),
			len("Content-Encoding"):
			if hasOtherSeparator(name) && isFramingName(foldName(name)) {
				return true
			}
		}
	}
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if isFramingName(foldName(strings.Trim(tok, " \t"))) {
				return true
			}
		}
	}
	return false
}

// isFramingName reports whether folded, a folded header name, frames or types the body.
func isFramingName(folded string) bool {
	switch folded {
	case "content-type", "content-length", "transfer-encoding", "content-encoding":
		return true
	}
	return false
}

// hasOtherSeparator reports whether a header name holds a byte that is neither an ASCII
// letter, a digit nor "-".
func hasOtherSeparator(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '-' && foldByte(c) == '-' {
			return true
		}
	}
	return false
}

// foldName lower-cases name and reads every byte but an ASCII letter or digit as "-",
// as the most lenient servers do: CGI turns "X~Forwarded|User" into
// HTTP_X_FORWARDED_USER, the same variable as "X-Forwarded-User".
func foldName(name string) string {
	b := []byte(name)
	for i, c := range b {
		b[i] = foldByte(c)
	}
	return string(b)
}

// foldByte is foldName for one byte.
func foldByte(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return c
	}
	return '-'
}

// blocked reports whether a client header of this name must be removed.
func (f *headerFilter) blocked(name string) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		return f.blockedFolded(foldName(name))
	}
	b := foldInto(&buf, name)
	// string(b) in a map index does not allocate.
	if f.names[string(b)] {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, p := range f.byFirst[b[0]] {
		if len(b) >= len(p) && string(b[:len(p)]) == p {
			return true
		}
	}
	return false
}

func (f *headerFilter) blockedFolded(n string) bool {
	if f.names[n] {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// oddlySpelt returns the name of a header in h that f removes and that is spelt with a
// separator other than "-", or "".
func oddlySpelt(h http.Header, f *headerFilter) string {
	for name := range h {
		if hasOtherSeparator(name) && f.blocked(name) {
			return name
		}
	}
	return ""
}

// strip removes every blocked header from h, in every spelling and every copy.
func (f *headerFilter) strip(h http.Header) {
	for name := range h {
		if f.blocked(name) {
			delete(h, name)
		}
	}
}

// cookieStem is in the name of every cookie of the gateway's, in lower case.
const cookieStem = "gateway"

// stripCookies removes the gateway's own cookies from the Cookie header, keeping the
// app's cookies as they were, in order. With nothing left, the header goes. A cookie is
// the gateway's under any name an app's parser may read as one of names (see
// cookieName), so that no copy of one, however a client spells it, reaches the app; a
// part of the header is dropped whole when a parser that splits it on "," (Jetty's
// older one) or on blanks (Python's) would find one there. Each of names holds
// cookieStem.
func stripCookies(h http.Header, names ...string) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	mine := false
	for _, l := range lines {
		// the exact stem first: it is in every request a browser signed in with; an
		// escape may hide it from the rest
		if strings.Contains(l, cookieStem) || containsFold(l, cookieStem) ||
			strings.IndexByte(l, '%') >= 0 {
			mine = true
			break
		}
	}
	if !mine {
		return
	}
	size := 0
	for _, l := range lines {
		size += len(l) + 2
	}
	var kept strings.Builder
	kept.Grow(size)
	for _, l := range lines {
		for len(l) > 0 {
			part := l
			if i := strings.IndexByte(l, ';'); i >= 0 {
				part, l = l[:i], l[i+1:]
			} else {
				l = ""
			}
			part = strings.TrimSpace(part)
			if part == "" || holdsOurCookie(part, names) {
				continue
			}
			if kept.Len() > 0 {
				kept.WriteString("; ")
			}
			kept.WriteString(part)
		}
	}
	if kept.Len() == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{kept.String()}
}

// holdsOurCookie reports whether part, one ";"-separated part of a Cookie header, names
// one of names, read whole or split on "," and blanks.
func holdsOurCookie(part string, names []string) bool {
	name, _, _ := strings.Cut(part, "=")
	if isOurCookie(name, names) {
		return true
	}
	if !strings.ContainsAny(part, ", \t") {
		return false
	}
	for piece := range strings.FieldsFuncSeq(part, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t'
	}) {
		if name, _, _ := strings.Cut(piece, "="); isOurCookie(name, names) {
			return true
		}
	}
	return false
}

// isOurCookie reports whether name is one of names as some app's parser reads it (see
// cookieName).
func isOurCookie(name string, names []string) bool {
	name = cookieName(name)
	for _, n := range names {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// cookieName returns a cookie's name as the most lenient of the parsers apps use read
// it: without the blanks and the pair of quotes around it, Unicode's and Latin-1's
// (Django reads the header as Latin-1 and strips each name), percent-decoded with "+" as
// a space and cut at a NUL (PHP before 8.0.24), cut at a "[" that starts an array key,
// with ".", " " and an unclosed "[" read as "_" (PHP), and without a "__Host-" or
// "__Secure-" prefix, ignoring case.
func cookieName(name string) string {
	name = trimBlanks(name)
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = trimBlanks(name[1 : len(name)-1])
	}
	if strings.ContainsAny(name, "%+") {
		name = lenientUnescape(name)
		name, _, _ = strings.Cut(name, "\x00")
		name = trimBlanks(name)
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		if strings.IndexByte(name[i:], ']') > 0 {
			name = name[:i]
		}
	}
	if strings.ContainsAny(name, ". [") {
		name = strings.Map(func(r rune) rune {
			if r == '.' || r == ' ' || r == '[' {
				return '_'
			}
			return r
		}, name)
	}
	for _, p := range []string{hostPrefix, securePrefix} {
		if len(name) > len(p) && strings.EqualFold(name[:len(p)], p) {
			return name[len(p):]
		}
	}
	return name
}

// trimBlanks removes from both ends of s what Unicode calls white space, the separators
// 0x1C to 0x1F that Python strips too, and any byte that is no character in UTF-8, as
// Latin-1's white space beyond ASCII (NEL 0x85, the no-break space 0xA0) is not.
func trimBlanks(s string) string {
	for {
		t := strings.TrimSpace(s)
		t = strings.TrimFunc(t, func(r rune) bool { return r == utf8.RuneError })
		t = strings.Trim(t, "\x1c\x1d\x1e\x1f")
		if t == s {
			return s
		}
		s = t
	}
}

func isOneOf(s string, list []string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}

// trusted reports whether addr is in one of the trusted proxy networks.
func trusted(addr netip.Addr, nets []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, n := range nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// peerAddr parses the socket peer from a RemoteAddr.
func peerAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
