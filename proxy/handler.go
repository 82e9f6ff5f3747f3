// Package proxy is the gateway's HTTP handler: it serves the sign-in and sign-out pages,
// decides for every other request whether it may pass, and forwards those that may to
// their upstream with the user's identity in request headers.
//
// A request for a protected path is forwarded only with a valid session. Whatever a
// client sends that could pass for an identity, a forwarded-header claim or the
// gateway's own cookie is removed before anything reaches an upstream.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/clientnet"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/assertion"
	"github.com/frontgate/gateway/proxy/logthin"
	"github.com/frontgate/gateway/proxy/page"
	"github.com/frontgate/gateway/proxy/redirect"
)

// Paths of the gateway's own pages. Everything under Prefix belongs to the gateway and is
// never forwarded.
const (
	Prefix     = "/.gateway"
	LoginPath  = Prefix + "/login"
	LogoutPath = Prefix + "/logout"
)

// Options configures a Handler.
type Options struct {
	// Config supplies routes, identity header names, trusted proxies, redirect hosts
	// and cookie settings. Required, and must come from config.Load or config.Parse.
	Config *config.Config
	// Auth checks passwords and knows the users. Required.
	Auth *authn.Authenticator
	// Sessions keeps sessions. Required.
	Sessions *session.Manager
	// Logger receives access, audit and error records. Nil discards them.
	Logger *slog.Logger
	// Transport carries requests to upstreams. Nil means a transport tuned for
	// keeping upstream connections alive, which ignores proxy environment variables.
	Transport http.RoundTripper
	// Metrics counts requests, upstream errors and sign-ins. Nil counts nothing.
	Metrics *Metrics
	// Codes records the one-time codes users signed in with and the wrong ones given
	// for them. Gateways that share a session store should share it too, or a code
	// taken at one could be taken again at another. Nil keeps it in memory.
	Codes totp.Ledger
	// Tally keeps the counts of failed sign-ins where the gateways that share a session
	// store see them, so that they throttle a guesser together. Nil keeps them in memory,
	// this gateway's alone.
	Tally throttle.Tally
	// Assertions signs X-Gateway-Assertion for routes that ask for it, and its keys are
	// served at JWKSPath. Nil when no route asks; New fails if one does.
	Assertions *assertion.Signer
}

// Handler is the gateway's http.Handler. Safe for concurrent use.
type Handler struct {
	routes      []*route // longest path first
	casedRoutes bool     // a route's path or public prefix has an upper-case or non-ASCII letter
	auth        *authn.Authenticator
	sessions    *session.Manager
	log         *slog.Logger
	filter      *headerFilter
	aliases     *headerFilter   // other names apps read as the user, for forward-auth
	identityOf  map[string]bool // every route's identity header names, folded
	// identity header names, folded, that a handler this one replaced set and this one
	// does not: still removed from what clients send
	formerIdentity map[string]bool
	identity       config.IdentityHeaders
	trusted        []netip.Prefix
	redirects      *redirect.Policy
	secure         string
	loginCk        *session.Codec
	deviceCk       *session.Codec
	metrics        *Metrics
	pages          *page.Renderer
	logo           []byte
	logoType       string
	customCSS      []byte
	signer         *assertion.Signer
	assertions     *assertion.Cache
	assertTTL      time.Duration
	basic          *basicCache
	throttle       *throttle.Throttle
	limits         throttle.Limits // the throttle's
	places         *places         // where users signed in from
	codes          totp.Ledger     // the one-time codes users signed in with or got wrong
	strikes        *exemptions     // the failed sign-ins of browsers with a device cookie
	origins        *http.CrossOriginProtection
	csp            string
	site           string
	rememberMe     bool
	cookieDomain   string
	storeIsDown    atomic.Bool             // the store failed and has not answered since
	writesDown     atomic.Bool             // a write failed, and none has worked since
	writeProbe     atomic.Int64            // when a read last tried a write, in Unix ns
	cut            *cutSignal              // shared by the handlers reloads make
	storeThin      *logthin.Set            // of the store's failures; shared likewise
	forgedThin     *logthin.Thinner        // of forged session records; shared likewise
	loopThin       *logthin.Set            // of loops' records, by message and route; shared too
	auditThin      *logthin.Table          // of repeatable refusals' records; shared likewise
	pageTime       time.Duration           // read and write deadline for the gateway's own pages
	bodyIdle       time.Duration           // longest a proxied body or stream may stall
	tunnelCheck    time.Duration           // how often an open websocket's sign-in is checked
	next           atomic.Pointer[Handler] // the handler that replaced this one, if any
	hop            []string                // this gateway's HopHeader value
	// the upstream transports the handler made, by what sets each apart; none when
	// Options.Transport was given
	transports map[transportKey]*http.Transport
	// what is known of the connections to each app, by scheme and host
	apps map[string]*app
}

// New returns a Handler for o.
func New(o Options) (*Handler, error) {
	if o.Config == nil || o.Auth == nil || o.Sessions == nil {
		return nil, errors.New("proxy handler needs a config, an authenticator and sessions")
	}
	cfg := o.Config
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	tr := o.Transport
	var transports map[transportKey]*http.Transport
	if tr == nil {
		t := NewTransport()
		tr, transports = t, map[transportKey]*http.Transport{{}: t}
	}
	h := &Handler{
		cut:        newCutSignal(),
		storeThin:  &logthin.Set{Every: storeLogEvery},
		forgedThin: &logthin.Thinner{Every: storeLogEvery},
		loopThin:   &logthin.Set{Every: storeLogEvery},
		auth:       o.Auth,
		sessions:   o.Sessions,
		log:        lg,
		identity:   canonicalIdentity(cfg.IdentityHeaders),
		trusted:    cfg.Trusted,
		redirects:  &redirect.Policy{Hosts: cfg.AllowedRedirectHosts},
		secure:     cfg.Session.Secure,
		loginCk:    o.Sessions.Keys().Codec(loginCookie, loginStateTTL),
		deviceCk:   o.Sessions.Keys().Codec(deviceCookie, deviceTTL),
		basic:      newBasicCache(),
		signer:     o.Assertions,
		metrics:    o.Metrics,
		assertTTL:  cfg.Assertion.TTL,
		limits: throttle.Limits{
			AddressFailures:     cfg.Throttle.AddressFailures,
			UserAddressFailures: cfg.Throttle.UserAddressFailures,
			UserFailures:        cfg.Throttle.UserFailures,
			Window:              cfg.Throttle.Window,
			MaxEntries:          cfg.Throttle.MaxEntries,
		},
		codes:        o.Codes,
		auditThin:    &logthin.Table{Every: auditLogEvery, Max: auditLogKeys},
		strikes:      newExemptions(o.Tally),
		places:       newPlaces(o.Sessions.Keys().AuthHash),
		origins:      http.NewCrossOriginProtection(),
		site:         cfg.Pages.Title,
		pageTime:     cfg.Timeouts.Page,
		rememberMe:   cfg.Session.RememberMe == nil || *cfg.Session.RememberMe,
		cookieDomain: strings.ToLower(cfg.Session.CookieDomain),
		bodyIdle:     cfg.Timeouts.BodyIdle,
		tunnelCheck:  tunnelCheck,
		hop:          newHopValue(),
	}
	h.throttle = throttle.NewShared(h.limits, o.Tally, nil)
	if h.codes == nil {
		h.codes = new(totp.Memory)
	}
	// Every route's identity header names are removed on every route: a name that means
	// "the user" to one app must not be fakeable on the way to another.
	names := []string{h.identity.User, h.identity.Email, h.identity.Groups, h.identity.Name}
	for _, rc := range cfg.Routes {
		id := rc.IdentityHeaders
		names = append(names, id.User, id.Email, id.Groups, id.Name)
	}
	builtin := cfg.IdentityAliases.Builtin == nil || *cfg.IdentityAliases.Builtin
	h.filter = newHeaderFilter(slices.DeleteFunc(names, func(n string) bool { return n == "" }),
		builtin, cfg.IdentityAliases.Extra)
	h.aliases = newAliasFilter(builtin, cfg.IdentityAliases.Extra)
	h.identityOf = make(map[string]bool)
	for _, n := range names {
		if n != "" {
			h.identityOf[foldName(n)] = true
		}
	}
	h.csp = contentSecurityPolicy(cfg.AllowedRedirectHosts)
	h.transports = transports

	if o.Assertions != nil {
		h.assertions = assertion.NewCache(o.Assertions, assertion.DefaultCacheSize)
	}
	if err := h.loadBrand(cfg); err != nil {
		return nil, err
	}
	errLog := log.New(&slogWriter{lg}, "", 0)
	for i, rc := range cfg.Routes {
		if rc.Assertion && o.Assertions == nil {
			return nil, fmt.Errorf("route %s: assertion is on but no signer was given",
				rc.Path)
		}
		rt, err := h.newRoute(rc, tr, o.Transport != nil, errLog)
		if err != nil {
			var ce *config.Error
			if errors.As(err, &ce) {
				return nil, err
			}
			return nil, cfg.Errorf(fmt.Sprintf("routes[%d].upstream_ca", i), err)
		}
		h.routes = append(h.routes, rt)
		for _, p := range append([]string{rt.path}, rt.public...) {
			h.casedRoutes = h.casedRoutes || !caseless(p)
		}
	}
	h.bindApps(nil)
	// A browser that answered a basic_auth route's challenge sends the credentials
	// unasked to every path under that route's, and so to the routes nested there: they
	// are the gateway's users' passwords, and no app's to see.
	for _, rt := range h.routes {
		for _, b := range h.routes {
			rt.dropBasic = rt.dropBasic || b.basic && underPrefixFold(rt.path, b.path)
		}
	}
	sortRoutes(h.routes)
	routeNames := make([]string, len(h.routes))
	for i, rt := range h.routes {
		routeNames[i] = rt.name
	}
	h.metrics.routes(routeNames)
	return h, nil
}

// NewTransport returns the transport the gateway uses for upstreams by default: it keeps
// connections alive for reuse, bounds dialing and TLS handshakes, and never sends
// upstream traffic through a proxy named in the environment. It asks for no encoding the
// client did not: the upstream sees the client's Accept-Encoding, or none, and its
// answer goes back as it was sent, where Go's default would ask for gzip and unpack the
// answer for a client that did not ask, at the gateway's expense. An answer whose headers
// pass 1 MiB is an upstream error.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DisableCompression:  true,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		DialContext:         dialUpstream,
		// an app's headers are a few KiB; Go's default, 10 MiB, lets one answer take
		// that much memory of the gateway's for each request
		MaxResponseHeaderBytes: 1 << 20,
	}
}

func canonicalIdentity(c config.IdentityHeaders) config.IdentityHeaders {
	return config.IdentityHeaders{
		User:   http.CanonicalHeaderKey(c.User),
		Email:  http.CanonicalHeaderKey(c.Email),
		Groups: http.CanonicalHeaderKey(c.Groups),
		Name:   http.CanonicalHeaderKey(c.Name),
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := &state{}
	sw := &statusWriter{ResponseWriter: w, req: r, st: st}
	// Deferred, so that an answer cut short is recorded too: ReverseProxy gives up on one
	// by panicking with http.ErrAbortHandler, which the server then swallows.
	defer h.record(sw, r, st, start)
	switch {
	case r.ProtoMajor == 2:
		defer clearDeadlines(w)
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		// HTTP/1.0 has no chunked bodies: Go frames a 1.0 request by its Content-Length,
		// or as having none, whatever a Transfer-Encoding says (and drops the header),
		// where a proxy in front may read the body as chunked and send what follows as a
		// request of its own. It is the last on its connection, as RFC 9112 asks of such
		// a request, so that nothing after it is read as another.
		w.Header().Set("Connection", "close")
	case len(r.TransferEncoding) > 0:
		// Go reads a chunked body past any Content-Length, which it drops, so that the
		// two cannot be told apart here: a proxy in front that framed the body by its
		// length would send what follows as a request of its own. The connection ends
		// after the answer, as RFC 9112 asks of a request with both.
		w.Header().Set("Connection", "close")
		// Go's server reads what is left of a body it did not read before answering, up
		// to a limit, but not on a connection the answer closes: read it here, before a
		// short answer leaves its buffer, so that a client still sending is not reset
		// before it can read the answer (a 413, say).
		defer func(body io.ReadCloser) {
			io.CopyN(io.Discard, body, unreadBodyDrain)
			// the body as it came, which the server judges when the connection ends:
			// one it could not read to its end is closed with a pause, not a reset
			r.Body = body
		}(r.Body)
	}
	h.serve(sw, r, st)
}

// unreadBodyDrain is how much of a request body no one read is read and dropped before a
// connection the answer closes ends: as much as Go's server reads of one on a
// connection it keeps.
const unreadBodyDrain = 256 << 10

// clearDeadlines takes back the read and write deadlines the gateway gave an HTTP/2
// request. Go's HTTP/2 server sets a deadline from its own goroutine, and one set after
// the client reset the stream starts a timer that nothing stops: it holds the stream's
// memory for the whole deadline, which a client resetting streams as fast as it opens
// them would pile up (60 s of them, at 1 KiB each). Clearing it, once the request is
// done, runs after the setting and stops the timer. HTTP/1 needs none of this: its
// server sets the connection's deadlines itself before the next request, and one left
// standing bounds how long it reads past a body the app left unread.
func clearDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
}

// record counts and logs the request sw answered.
func (h *Handler) record(sw *statusWriter, r *http.Request, st *state, start time.Time) {
	if sw.forward {
		// trailers the upstream sent after its body, which ModifyResponse never saw
		delete(sw.Header(), http.TrailerPrefix+"Set-Cookie")
		if st.private {
			dropCacheTrailers(sw.Header())
		}
	}
	h.metrics.request(st.routeName(), sw.status(), time.Since(start))
	if st.cutShort(r) {
		h.metrics.upstreamError(st.routeName())
		st.reason = "answer cut short"
	}
	// the status went out, and stays in the record: the reason says the rest did not
	switch {
	case st.reason != "":
	case errors.Is(sw.writeErr, os.ErrDeadlineExceeded):
		st.reason = "client stopped reading"
	case sw.left.Load() || sw.writeErr != nil ||
		st.answer.err != nil && r.Context().Err() != nil:
		st.reason = h.goneReason()
	}
	if h.log.Enabled(r.Context(), slog.LevelInfo) {
		attrs := []slog.Attr{
			slog.String("log", "access"),
			slog.String("method", r.Method),
			slog.String("host", r.Host),
			slog.String("path", r.URL.EscapedPath()),
			slog.Int("status", sw.status()),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("user", st.userName()),
			slog.String("route", st.routeName()),
			slog.String("client_ip", h.clientIP(r).String()),
		}
		if st.target != "" {
			attrs = append(attrs, slog.String("target", st.target))
		}
		if st.reason != "" {
			attrs = append(attrs, slog.String("reason", st.reason))
		}
		// handed to the handler directly: Logger would look up the caller, which no
		// record uses, on every request
		rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		rec.AddAttrs(attrs...)
		h.log.Handler().Handle(r.Context(), rec)
	}
}

// state is what the gateway learned about one request, shared with Rewrite.
type state struct {
	route *route
	user  *authn.User
	basic bool // the user came with Basic credentials, which are not passed on
	// dropBasic is set when another reading of the path leads to a route where Basic
	// credentials are the gateway's users' (see route.dropBasic)
	dropBasic bool
	// preflight is set for a CORS preflight passed on without a session: its body, if
	// any, is not
	preflight bool
	// the first error reading the request body, see clientBody; set by the transport's
	// writer, which may still run when the upstream's error is handled
	bodyErr atomic.Pointer[error]
	path    string // cleaned, escaped
	dpath   string // cleaned, decoded
	// the place a Destination header names, judged as the path is; nil without one
	dest *destination
	// for a forward-auth request: the path of the request it describes, and why it was
	// refused
	target, reason string
	// set while the upstream's answer is relayed: its writer
	sw *statusWriter
	// the request's body on its way upstream, nil without one
	body *clientBody
	// set when the upstream's answer was made one no shared cache may store
	private bool
	// cancel ends the request to the upstream; cut is set when what let it in (its
	// sign-in, or a public path) ended while it was in flight (see end)
	cancel context.CancelFunc
	cut    atomic.Bool
	// answer carries the upstream's answer body, to learn whether the upstream cut it
	// short; kept here so that watching it costs no allocation
	answer answerBody
	// the context of an upstream exchange that outlives its client, kept here for the
	// same reason
	detached detached
}

// detached is a context that carries its parent's values and a request's state, but not
// its parent's end: an upstream exchange that goes on after its client went away.
type detached struct {
	parent context.Context
	st     *state
}

func (c *detached) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *detached) Done() <-chan struct{}       { return nil }
func (c *detached) Err() error                  { return nil }

func (c *detached) Value(key any) any {
	if key == (stateKey{}) {
		return c.st
	}
	return c.parent.Value(key)
}

// answerBody is an upstream's answer body that records the first error reading it other
// than its end.
type answerBody struct {
	io.ReadCloser
	err error
}

func (b *answerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// cutShort reports whether the upstream ended its answer before its end: a body shorter
// than its Content-Length, a broken chunk, a connection reset. The answer's status and
// first bytes have gone to the client by then; the gateway counts it an upstream error.
// An answer the gateway cut itself, one the client stopped reading, and one ended by
// the client's own body going wrong (garbled, past max_body) while it was answered, are
// not.
func (s *state) cutShort(r *http.Request) bool {
	err := s.answer.err
	return err != nil && !s.cut.Load() && r.Context().Err() == nil &&
		!errors.Is(err, context.Canceled) && s.bodyErr.Load() == nil
}

// end cuts a request whose sign-in ended, or, for one without a sign-in, whose path a
// reload made private. One not answered yet, a websocket handshake too (which an app may
// hold as a long poll), is then answered as a request without a sign-in: see
// upstreamError.
func (s *state) end() {
	s.cut.Store(true)
	s.cancel()
}

func (s *state) userName() string {
	if s.user == nil {
		return ""
	}
	return s.user.Name
}

func (s *state) routeName() string {
	if s.route == nil {
		return ""
	}
	return s.route.name
}

type stateKey struct{}

// invalid answers a request that cannot be read one way with 400, and a forward-auth
// request with 403: a front proxy passes a denial on, and takes any other answer for
// an error of its own (nginx answers 500).
func (h *Handler) invalid(w http.ResponseWriter, r *http.Request, msg string) {
	status := http.StatusBadRequest
	if r.URL.Path == AuthPath {
		status = http.StatusForbidden
	}
	h.errorPage(w, r, status, msg)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, st *state) {
	if loop := h.looped(r.Header[HopHeader]); loop != "" {
		// Its own token back means one of this gateway's routes leads to itself. A long
		// chain may be another gateway's loop, or a client that wrote one: no fault here.
		// A client can send either header on every request (an app that echoes its
		// request headers shows it the token): each is logged at most once every
		// storeLogEvery for each route, the next record counting those held back.
		level, msg := slog.LevelError, "a route leads back to the gateway itself"
		if loop != "own" {
			level, msg = slog.LevelWarn, "request came through too many gateways"
		}
		// Each route's records are thinned apart, so that a client sending the header
		// on a route of its choosing cannot hide the route that really loops.
		key, name := msg, ""
		if rt, _ := h.match(config.NormalizeHost(r.Host), r.URL.Path); rt != nil {
			key, name = msg+"\x00"+rt.name, rt.name
		}
		if n, ok := h.loopThin.Of(key).Allow(); ok {
			h.log.Log(r.Context(), level, msg, "host", r.Host, "path", r.URL.EscapedPath(),
				"route", name, "client_ip", h.clientIP(r).String(), "suppressed", n)
		}
		h.errorPage(w, r, http.StatusLoopDetected, "The application's address leads "+
			"back to the gateway.")
		return
	}
	// Rules compare methods in upper case; the upstream gets the method they judged, so
	// that an app reading "get" as something other than GET cannot be sent one.
	r.Method = strings.ToUpper(r.Method) // no copy when it is upper case already
	// The gateway is no forward proxy: a CONNECT passed on would ask the app, or a proxy
	// in front of it, for a tunnel that the gateway would then carry unseen.
	if r.Method == http.MethodConnect {
		h.errorPage(w, r, http.StatusNotImplemented, "This method is not supported.")
		return
	}
	// A body header spelt with another separator, or named in Connection, frames the
	// request one way for Go and another for some app servers.
	if framingAlias(r.Header) {
		h.log.Info("request refused", "reason", "a body header spelt otherwise, or named "+
			"in Connection",
			"client_ip", h.clientIP(r).String())
		h.invalid(w, r, "This request is not valid.")
		return
	}
	// A Host that is not one host and an optional port ("a.example:1.example:80") is
	// read differently by different servers, and routes and assertions depend on it.
	if !plainHost(r.Host) {
		h.invalid(w, r, "This address is not valid.")
		return
	}
	clean, decoded, err := normalizePath(r.URL.EscapedPath())
	if err != nil {
		h.log.Debug("request refused", "reason", "ambiguous path",
			"path", r.URL.EscapedPath(), "client_ip", h.clientIP(r).String())
		h.invalid(w, r, "This address is not valid.")
		return
	}
	st.path, st.dpath = clean, decoded

	host := config.NormalizeHost(r.Host)
	gw, rt, public, ok := h.decide(host, decoded)
	if !ok {
		h.errorPage(w, r, http.StatusBadRequest, "This address is not valid.")
		return
	}
	if gw {
		// The gateway's own pages are small: a client that cannot send or take one
		// within the page deadline is holding a connection open on purpose.
		if h.pageTime > 0 {
			rc := http.NewResponseController(w)
			rc.SetReadDeadline(time.Now().Add(h.pageTime))
			rc.SetWriteDeadline(time.Now().Add(h.pageTime))
		}
		h.serveGateway(w, r, host, decoded)
		return
	}
	// Only websocket handshakes may switch protocols. Any other upgrade, h2c above all,
	// would turn the connection into a tunnel whose later requests the gateway never
	// sees, with no session check and no header stripping. The offer is declined by
	// ignoring it, as a server may, and the request served as it is: clients such as
	// Java's offer h2c on every plain-HTTP request.
	// HTTP/1.0 has no upgrades: a server ignores the header there (RFC 9110, 7.8).
	if up := r.Header.Get("Upgrade"); up != "" && (!strings.EqualFold(up, "websocket") ||
		!r.ProtoAtLeast(1, 1)) {
		r.Header.Del("Upgrade")
		r.Header.Del("Http2-Settings") // the rest of an h2c offer
	}
	// A websocket handshake is a GET without a body. One with a body would be a tunnel
	// whose body no timeout watches, since tunnels keep their own pace.
	if isUpgrade(r) && (r.Method != http.MethodGet || r.ContentLength != 0) {
		h.errorPage(w, r, http.StatusBadRequest, "This protocol upgrade is not valid.")
		return
	}
	// The handshake's key is what shows, in the app's 101, that the app took the request
	// for a websocket handshake (see checkSwitch): one without it, or one that is not
	// RFC 6455's, would make a tunnel to an app that may read HTTP from it.
	if isUpgrade(r) {
		if status, reason := handshakeFault(r.Header); status != 0 {
			h.log.Info("request refused", "reason", reason,
				"client_ip", h.clientIP(r).String())
			if status == http.StatusUpgradeRequired {
				// the version the gateway speaks, for the client to try again with; a
				// 426 names the protocol it asks for in Upgrade (RFC 9110, 15.5.22)
				w.Header().Set("Sec-WebSocket-Version", websocketVersion)
				w.Header().Set("Upgrade", "websocket")
				w.Header().Set("Connection", "Upgrade")
			}
			h.errorPage(w, r, status, "This protocol upgrade is not valid.")
			return
		}
	}
	// Browsers send cookies with a websocket handshake from any site, and no CORS rule
	// guards it: a handshake from another origin is refused, or any page could talk to
	// the app as the signed-in user.
	if isUpgrade(r) && !h.sameOrigin(r) {
		// said, with the Origin, since a proxy in front that the gateway does not trust
		// makes every handshake's scheme or port look foreign; at most once every
		// auditLogEvery for each address, and the Origin cut short, since any client can
		// send one as long as a header may be on every request
		ip := h.clientIP(r)
		key := "websocket origin\x00address " + clientnet.HostKey(ip)
		if n, shared, ok := h.auditThin.Allow(key); ok {
			h.log.Info("request refused", "reason", "websocket handshake from another "+
				"origin", "origin", clip(r.Header.Get("Origin"), maxLoggedOrigin),
				"client_ip", ip.String(), "suppressed", n, "shared", shared)
		}
		h.errorPage(w, r, http.StatusForbidden, "This connection comes from another site.")
		return
	}
	if rt == nil {
		h.errorPage(w, r, http.StatusNotFound, "There is nothing here.")
		return
	}
	st.route = rt

	also := h.otherReadings(host, decoded, rt, public)
	if also.overflow {
		h.log.Info("request refused", "reason", "a path with too many readings",
			"client_ip", h.clientIP(r).String())
		h.errorPage(w, r, http.StatusBadRequest, "This address is not valid.")
		return
	}

	dest, problem := h.readDestination(r.Header, host, rt, false)
	if problem != nil {
		h.log.Info("request refused", "reason", problem.reason, "route", rt.name,
			"client_ip", h.clientIP(r).String())
		h.errorPage(w, r, problem.status, "This request's destination is not valid.")
		return
	}
	st.dest = dest
	st.dropBasic = also.dropsBasic()

	_, u, err := h.identify(w, r)
	st.user = u
	if passesPreflight(r, rt, &also) {
		// A preflight has no body; nothing else rides along without a session. The body
		// is dropped from the upstream request only: the server still reads past it
		// before the connection's next request.
		public, st.user, st.preflight = true, nil, true
	}
	protected := !public || also.signInNeeded(st.preflight) ||
		dest != nil && dest.signInNeeded()
	// An API client on a basic_auth route signs in with every request.
	if protected && u == nil && rt.basic && r.Header.Get("Authorization") != "" {
		bu, wait, berr := h.basicUser(r)
		if errors.Is(berr, errCountsDown) {
			h.storeDown(w, r)
			return
		}
		if berr != nil {
			h.basicRequired(w, r, st, wait, true)
			return
		}
		if bu != nil {
			u, st.user, st.basic, err = bu, bu, true, nil
		}
	}
	if protected {
		if err != nil {
			h.storeDown(w, r)
			return
		}
		if u == nil {
			if rt.basic && !acceptsHTML(r) {
				h.basicRequired(w, r, st, 0, false)
				return
			}
			h.loginRequired(w, r, clean)
			return
		}
		if !public && !rt.allows(u, r.Method, r.URL.RawQuery) {
			h.forbidden(w, r, u, rt)
			return
		}
		if other := also.refusing(u, r.Method, r.URL.RawQuery, st.preflight); other != nil {
			h.forbidden(w, r, u, other)
			return
		}
		if dest != nil {
			if other := dest.refusing(u, r.Method, r.URL.RawQuery); other != nil {
				h.log.Info("request refused", "reason", "the Destination header names "+
					"a place the rules do not let the user write", "route", other.name,
					"user", u.Name, "client_ip", h.clientIP(r).String())
				h.forbidden(w, r, u, other)
				return
			}
		}
	}
	// A preflight's body goes nowhere (see rewrite), so it is left as the server gave it:
	// the server then knows it went unread, and closes the connection after the answer
	// rather than wait for a body that a client expecting "100 Continue" never sends.
	hasBody := r.Body != nil && r.Body != http.NoBody && !st.preflight
	if rt.maxBody > 0 && hasBody {
		if r.ContentLength > rt.maxBody {
			h.errorPage(w, r, http.StatusRequestEntityTooLarge, "The request is too large.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
	}
	var body *clientBody
	if hasBody {
		if ms := also.methods(rt, public); ms != nil && !h.gateBody(w, r, rt, ms) {
			return
		}
		body = &clientBody{ReadCloser: r.Body, st: st}
		r.Body, st.body = body, body
	}
	if sw, ok := w.(*statusWriter); ok && h.bodyIdle > 0 && !isUpgrade(r) {
		// Bodies and streams may take as long as they like while they move; one that
		// stalls for bodyIdle is cut, so a client cannot hold an upstream connection by
		// announcing a body it never sends.
		sw.stallAfter(h.bodyIdle)
		switch {
		case body != nil:
			body.rc, body.stall = sw.rc, h.bodyIdle
			sw.rc.SetReadDeadline(time.Now().Add(h.bodyIdle))
		case st.preflight && r.Body != nil && r.Body != http.NoBody:
			// the server reads past a preflight's body before it answers: within
			// bodyIdle, or the connection closes
			sw.rc.SetReadDeadline(time.Now().Add(h.bodyIdle))
		}
	}
	sw, _ := w.(*statusWriter)
	// A request without a body keeps its upstream exchange for a while after
	// its client went away (see clientLeft), so its context is not the client's.
	keep := sw != nil && body == nil && !st.preflight && !isUpgrade(r)
	var ctx context.Context
	if keep {
		st.detached = detached{parent: r.Context(), st: st}
		ctx = &st.detached
	} else {
		ctx = context.WithValue(r.Context(), stateKey{}, st)
	}
	if sw != nil {
		sw.relay()
		st.sw = sw
	}
	if !st.preflight {
		// A signed-in user's request lasts only as long as the sign-in behind it, and
		// one without a sign-in as long as its path stays public: a websocket, and an
		// upload, an answer the app keeps waiting or a stream, is cut once that ends
		// (a sign-out, a reload that narrows the rules), whatever still moves or stands
		// still on it.
		ctx, st.cancel = context.WithCancel(ctx)
		defer st.cancel()
		if keep {
			defer sw.settle()
			defer context.AfterFunc(r.Context(), func() { h.clientLeft(sw, st.cancel) })()
		}
		if isUpgrade(r) {
			go h.watchTunnel(ctx, st.end, "websocket", r, st.dpath, st.user,
				h.sessionValues(r, st))
		} else {
			defer h.watchRequest(ctx, r, st).Stop() // after an answer cut short too
		}
	}
	if body != nil {
		var unwatch func()
		ctx, unwatch = watchUpstream(ctx, w, body)
		defer unwatch()
	}
	rt.proxy.ServeHTTP(w, r.WithContext(ctx))
	if keep && sw.left.Load() {
		// The answer was read to its end and dropped. Returning would have the server
		// finish it, to a client that may only have half-closed its connection: with a
		// 200 and no body where it went before the answer, or with the end of a body cut
		// short, which would pass for whole. The request ends without an answer instead.
		if sw.code == 0 {
			h.clientGone(w, st)
		}
		panic(http.ErrAbortHandler)
	}
}

// passesPreflight reports whether r is a CORS preflight that route rt, and every other
// reading of its path, lets through without a session. A preflight carries no cookie in
// browsers; a route that asks for it lets genuine ones (both preflight headers, no
// upgrade, and no "_method" naming another method) through, anonymously.
func passesPreflight(r *http.Request, rt *route, also *readings) bool {
	return rt.preflight && r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != "" && !isUpgrade(r) &&
		queryOverride(r.URL.RawQuery, preflightOnly) == "" && !also.signInNeeded(true)
}

// isUpgrade reports whether r asks to switch protocols, as a websocket handshake does:
// it names an Upgrade, and "upgrade" is one of the tokens of its Connection header, the
// test ReverseProxy makes before it opens a tunnel. Such connections outlive the request
// and keep their own pace.
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && hasToken(r.Header, "Connection", "upgrade")
}

// hasToken reports whether token is one of the comma-separated tokens of h's field
// name, in any case.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(tok, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// sameOrigin reports whether r carries no Origin, or one naming the scheme and host it
// was sent to.
func (h *Handler) sameOrigin(r *http.Request) bool {
	u, ok := requestOrigin(r)
	if u == nil || !ok {
		return ok
	}
	scheme := "http"
	if h.secureCookie(r) || r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// requestOrigin returns the Origin r carries, parsed, or nil when it carries none; ok is
// false when the Origin is no bare scheme and host, or is sent more than once.
func requestOrigin(r *http.Request) (u *url.URL, ok bool) {
	if len(r.Header["Origin"]) > 1 {
		return nil, false // browsers send one; which would the app read?
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return nil, true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" {
		return nil, false
	}
	return u, true
}

// plainHost reports whether a Host header is a host name or IP literal with at most a
// numeric port. A name has no empty label, but for the one a single trailing dot ends
// (the root): "a..b" and "a.b.." would be matched as other names than a resolver reads.
func plainHost(host string) bool {
	if host == "" {
		return true // HTTP/1.0; routes with a host then do not match
	}
	name, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		name, port = host[:i], host[i+1:]
		if port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5 {
			return false
		}
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		// a zone names an interface of the client's, and Go's transport drops it
		a, err := netip.ParseAddr(name[1 : len(name)-1])
		return err == nil && a.Zone() == ""
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	labels := strings.TrimSuffix(name, ".")
	return labels != "" && labels[0] != '.' && labels[len(labels)-1] != '.' &&
		!strings.Contains(labels, "..")
}

// clientBody is a request body on its way upstream. It keeps the first error reading it
// met, so that a body the client garbled or stopped sending is answered as the client's
// fault, not the upstream's. With stall set, it pushes the connection's read deadline
// forward on every read, so that only a body that stops moving runs into it.
//
// Once the body has ended, it stays ended. The server closes a request body that was
// read to its end as soon as the answer starts, and the transport reads once more after
// the end of a body of known length: were that read to reach the closed body, it would
// fail, and the transport would drop the upstream connection in the middle of the answer.
//
// Once the upstream closed the connection it was sent on (gone, see watchUpstream), no
// more of it is read: it could go nowhere.
type clientBody struct {
	io.ReadCloser
	st    *state
	rc    *http.ResponseController
	stall time.Duration
	ended atomic.Bool
	gone  atomic.Bool
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.ended.Load() {
		return 0, io.EOF
	}
	if b.stall > 0 {
		b.rc.SetReadDeadline(time.Now().Add(b.stall))
	}
	// Checked after the deadline is pushed forward: a close seen later sets it back.
	if b.gone.Load() {
		return 0, errUpstreamClosed
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case err != nil && b.gone.Load():
		return n, errUpstreamClosed
	case err == io.EOF:
		b.ended.Store(true)
		if b.stall > 0 {
			// The whole body is in. The server now reads ahead on the connection, and
			// a deadline left standing would cut the answer however well it flows.
			b.rc.SetReadDeadline(time.Time{})
		}
	case err != nil:
		b.st.bodyErr.CompareAndSwap(nil, &err)
	}
	return n, err
}

// decide returns whether a decoded path is one of the gateway's own, and otherwise its
// route and whether it is public there. Servers that honour ";parameters" (Tomcat,
// Jetty), and Windows ones (IIS), read other paths than the one decoded here; ok is false
// when such a reading would lead to another decision, and the path must then be refused.
func (h *Handler) decide(host, path string) (gateway bool, rt *route, public, ok bool) {
	gateway, rt, public = h.decideOne(host, path)
	stripped := stripParams(path)
	for _, p := range [...]string{stripped, windowsReading(path), windowsReading(stripped)} {
		if p == path {
			continue
		}
		g2, rt2, public2 := h.decideOne(host, p)
		if g2 != gateway || rt2 != rt || public2 != public {
			return false, nil, false, false
		}
	}
	return gateway, rt, public, true
}

func (h *Handler) decideOne(host, path string) (gateway bool, rt *route, public bool) {
	if underPrefix(path, Prefix) {
		return true, nil, false
	}
	rt, public = h.match(host, path)
	return false, rt, public
}

// allows reports whether u may use rt's protected paths with method, on a request whose
// raw query is rawQuery. Methods are compared in upper case, since servers disagree on
// whether "get" is GET.
//
// It is on every request's path, so it builds no strings; why gives the same answer
// with a reason, for gateway explain.
func (rt *route) allows(u *authn.User, method, rawQuery string) bool {
	return rt.allowsMethod(method, rawQuery) && rt.allowsUser(u)
}

// allowsMethod reports whether rt's rule lets method through, whoever sends it. A
// method named by a "_method" query parameter must pass the rule too: Laravel and
// Symfony apps act on it instead of the request's own.
func (rt *route) allowsMethod(method, rawQuery string) bool {
	m := rt.allow.Methods
	if len(m) == 0 {
		return true
	}
	return isOneOf(strings.ToUpper(method), m) && queryOverride(rawQuery, m) == ""
}

// allowsUser reports whether rt's rule names u or one of u's groups, or names nobody.
func (rt *route) allowsUser(u *authn.User) bool {
	a := &rt.allow
	if len(a.Users) == 0 && len(a.Groups) == 0 || isOneOf(u.Name, a.Users) {
		return true
	}
	for _, g := range u.Groups {
		if isOneOf(g, a.Groups) {
			return true
		}
	}
	return false
}

// forbidden answers a signed-in user whom the route's rule does not let pass.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, u *authn.User,
	rt *route) {
	h.forbiddenMethod(w, r, u, rt, rt.refusedMethod(u, r.Method, r.URL.RawQuery))
}

// refusedMethod returns the method rt's rule refuses u for, with rawQuery: method, or
// the one a _method query parameter names; "" when the rule refuses u whatever the
// method.
func (rt *route) refusedMethod(u *authn.User, method, rawQuery string) string {
	if !rt.allowsUser(u) || rt.allowsMethod(method, rawQuery) {
		return ""
	}
	m := strings.ToUpper(method)
	if isOneOf(m, rt.allow.Methods) {
		m = queryOverride(rawQuery, rt.allow.Methods)
	}
	return m
}

// forbiddenMethod answers a signed-in user whom the route's rule does not let pass, for
// using method m when m is set.
func (h *Handler) forbiddenMethod(w http.ResponseWriter, r *http.Request, u *authn.User,
	rt *route, m string) {
	h.log.Info("access denied", "user", u.Name, "route", rt.name, "method", r.Method,
		"override", m, "client_ip", h.clientIP(r).String())
	h.errorPageLink(w, r, http.StatusForbidden, refusalText(u, m), LogoutPath,
		"Sign out to use another account")
}

// refusalText is the 403 page's sentence for u, refused the method m when m is set. A
// method named in a query or a body is the client's text: it is shown only when it is
// a plain method name, so that a page on the app's origin says nothing a link chose.
func refusalText(u *authn.User, m string) string {
	what := "open this page"
	switch {
	case m == "":
	case plainMethod(m):
		what = "send a " + m + " request to this page"
	default:
		what = "send this request to this page"
	}
	return "You are signed in as " + u.Name + ", who may not " + what + "."
}

// plainMethod reports whether m is a method name worth showing: 1 to 20 letters A to Z.
func plainMethod(m string) bool {
	if len(m) == 0 || len(m) > 20 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

// gateBody has r's body read for a method override on its way to the upstream: it must
// name one of methods, as the methods rules of rt and the path's other readings require.
// It answers r and returns false when the body cannot be read the way an app would.
func (h *Handler) gateBody(w http.ResponseWriter, r *http.Request, rt *route,
	methods []string) bool {
	refuse := func(status int, why string) bool {
		h.log.Info("request body refused", "route", rt.name, "reason", why,
			"client_ip", h.clientIP(r).String())
		msg := "The request body could not be read."
		if status == http.StatusUnsupportedMediaType {
			msg = "The request body is encoded in a way the gateway does not read."
		}
		h.errorPage(w, r, status, msg)
		return false
	}
	cts := r.Header.Values("Content-Type")
	if len(cts) > 1 {
		return refuse(http.StatusBadRequest, "two content types")
	}
	scans, err := overrideScanners(strings.Join(cts, ""), methods)
	switch {
	case errors.Is(err, errCharset):
		return refuse(http.StatusUnsupportedMediaType, err.Error())
	case err != nil:
		return refuse(http.StatusBadRequest, err.Error())
	}
	if len(scans) == 0 {
		return true
	}
	gate := newBodyGate(r.Body, scans)
	for _, ce := range r.Header.Values("Content-Encoding") {
		if !strings.EqualFold(strings.TrimSpace(ce), "identity") {
			// A server that unpacks it would find a form the gateway cannot see.
			gate.abort()
			return refuse(http.StatusUnsupportedMediaType, "a form with a content encoding")
		}
	}
	// The proxy may stop reading the body before its end (an app that answers early, or
	// none at all), and never closes it: the request's end stops the scanners.
	context.AfterFunc(r.Context(), gate.abort)
	r.Body = gate
	return true
}

// identify returns the request's live session and its user, or nils. A session whose
// user is gone or disabled, whose password changed, or that came from another backend is
// deleted from the store on the spot, and its cookie cleared. err is set only when the
// store could not be used: the caller must then fail closed.
func (h *Handler) identify(w http.ResponseWriter, r *http.Request) (
	s *session.Session, u *authn.User, err error) {
	values := cookieValues(r, h.cookieName(r, session.CookieName))
	if len(values) == 0 {
		return nil, nil, nil
	}
	ctx := r.Context()
	s, err = h.sessions.Resolve(ctx, values)
	if err != nil {
		var expired *session.ExpiredError
		switch {
		case errors.As(err, &expired):
			h.audit(r, "session ended", expired.User, "expired",
				slog.String("session", session.ListedID(expired.ID)))
		case !errors.Is(err, session.ErrNotFound):
			h.storeFailed()
			h.logStoreDown("session store unavailable", "error", err,
				"client_ip", h.clientIP(r).String())
			return nil, nil, err
		}
		h.storeWorked(false)
		if errors.Is(err, session.ErrForged) {
			// someone wrote into the store who is no gateway: say so, once in 10 s at most
			if n, ok := h.forgedThin.Allow(); ok {
				h.log.Warn("session record forged: sealed under none of the secrets, "+
					"and deleted; whoever can write the session store wrote it", "client_ip",
					h.clientIP(r).String(), "suppressed", n)
			}
		}
		// A cookie another gateway on the same store may take, under a secret this
		// one has yet to be given, stays in the browser: this gateway only refuses it.
		if !errors.Is(err, session.ErrForeign) {
			h.clearSessionCookie(w, r)
		}
		return nil, nil, nil
	}
	h.storeWorked(false)
	u = h.auth.Users().Lookup(s.User)
	if reason := h.sessionEnded(s, u); reason != "" {
		if err := h.sessions.Delete(ctx, s); err != nil {
			h.storeError("session store unavailable", err, s.User)
			return nil, nil, err
		}
		h.audit(r, "session ended", s.User, reason, sessionAttr(s))
		h.clearSessionCookie(w, r)
		return nil, nil, nil
	}
	err = h.sessions.Renew(ctx, s)
	if err == nil {
		// a record sealed under an older secret moves onto the newest, with its cookie
		err = h.sessions.Reseal(ctx, s, u.Binding())
	}
	if err != nil {
		if !errors.Is(err, session.ErrNotFound) {
			h.storeError("session store unavailable", err, s.User)
			return nil, nil, err
		}
		// Deleted while this request was in flight: it stays ended.
		h.clearSessionCookie(w, r)
		return nil, nil, nil
	}
	if s.Reissue() {
		if v, err := h.sessions.CookieValue(s); err == nil {
			h.setSessionCookie(w, r, v, h.sessions.CookieMaxAge(s))
		}
	}
	noteUser(w, u)
	return s, u, nil
}

// noteUser names u in the access record of the request w answers, for the gateway's own
// pages, which a signed-in user may use as well.
func noteUser(w http.ResponseWriter, u *authn.User) {
	if sw, ok := w.(*statusWriter); ok && sw.st != nil {
		sw.st.user = u
	}
}

// sessionEnded returns why s no longer signs in u, the user its record names as they are
// now (nil when gone), or "" when it still does.
func (h *Handler) sessionEnded(s *session.Session, u *authn.User) string {
	switch {
	case s.Backend != authn.Backend:
		return "unknown backend"
	case u == nil:
		return "user removed"
	case u.Disabled:
		return "user disabled"
	case !h.sessions.Bound(s, u.Binding()):
		return "password changed"
	}
	return ""
}

// storeDown answers a request that needs a session while the store cannot be reached.
// It fails closed: nothing is forwarded.
func (h *Handler) storeDown(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	h.errorPage(w, r, http.StatusServiceUnavailable, "Sessions cannot be checked right "+
		"now. Try again in a moment.")
}

// storeFailed records that a read of the store failed, so that its recovery is logged.
func (h *Handler) storeFailed() { h.storeIsDown.Store(true) }

// storeError logs a store operation on user's session that failed, as msg, and records
// the failure as one of a write, which only a write that works puts right: a store that
// can be read but not written (a full disk) signs nobody in.
func (h *Handler) storeError(msg string, err error, user string) {
	h.writesDown.Store(true)
	h.storeFailed()
	h.logStoreDown(msg, "error", err, "user", user)
}

// logStoreDown logs a failure of the session store as msg, at most once every
// storeLogEvery for each msg: while the store is down every request fails, and the first
// record says what the rest would. The next record counts those held back, as
// suppressed.
func (h *Handler) logStoreDown(msg string, attrs ...any) {
	if n, ok := h.storeThin.Of(msg).Allow(); ok {
		h.log.Error(msg, append(attrs, "suppressed", n)...)
	}
}

// storeLogEvery is the least time between two records of the store's failures.
const storeLogEvery = 10 * time.Second

// storeWorked logs, once, that the store answers again after a failure: after a
// failed write, once a write worked (wrote), and otherwise once anything did. A read
// that works while writes are down tries a write of its own, at most once a second.
func (h *Handler) storeWorked(wrote bool) {
	switch {
	case wrote:
		h.writesDown.Store(false)
	case h.writesDown.Load():
		if !h.probeWrites() {
			return
		}
	}
	if h.storeIsDown.Load() && h.storeIsDown.CompareAndSwap(true, false) {
		// the failures held back since the last record of them are told here
		h.log.Info("session store available again", "suppressed", h.storeThin.Held())
	}
}

// probeWrites writes a record of the gateway's own to the store, unless one was
// written less than a second ago, and reports whether it worked, which ends the
// failure of writes.
func (h *Handler) probeWrites() bool {
	now, last := time.Now().UnixNano(), h.writeProbe.Load()
	if now-last < int64(time.Second) || !h.writeProbe.CompareAndSwap(last, now) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if h.sessions.CheckWrite(ctx) != nil {
		return false
	}
	h.writesDown.Store(false)
	return true
}

// Ready reports why the session store is not ready to serve, or nil: it cannot be
// read, or, after a write failed, a write of a record of its own fails too.
func (h *Handler) Ready(ctx context.Context) error {
	if err := h.sessions.Check(ctx); err != nil {
		return err
	}
	if !h.writesDown.Load() {
		return nil
	}
	if err := h.sessions.CheckWrite(ctx); err != nil {
		return err
	}
	h.storeWorked(true)
	return nil
}

// loginRequired answers a request for a protected path that has no valid session.
func (h *Handler) loginRequired(w http.ResponseWriter, r *http.Request, cleanPath string) {
	pageHeaders(w.Header(), h.csp)
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && acceptsHTML(r) {
		w.Header().Set("Location", h.loginURL(cleanPath, r.URL.RawQuery))
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, "Unauthorized: sign in first.")
}

// acceptsHTML reports whether the Accept header lists text/html with a q above zero.
func acceptsHTML(r *http.Request) bool {
	for _, line := range r.Header.Values("Accept") {
		for item := range strings.SplitSeq(line, ",") {
			mt, params, _ := strings.Cut(item, ";")
			if !strings.EqualFold(strings.TrimSpace(mt), "text/html") {
				continue
			}
			if qZero(params) {
				continue
			}
			return true
		}
	}
	return false
}

// qZero reports whether media-type parameters carry q=0 (or 0.0, 0.00, 0.000).
func qZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		return strings.Trim(v, "0.") == "" && v != "" && v[0] == '0'
	}
	return false
}

// upstreamError answers a request the upstream could not serve.
func (h *Handler) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if sw, ok := w.(*statusWriter); ok {
		// The answer is the gateway's own. What is left of the body is read within
		// timeouts.body_idle, as a client still sending it should get to read the answer:
		// a body past max_body, before the answer, up to the server's limit; any other,
		// after it, the answer going at once and closing the connection, since an upstream
		// that could not be reached may have read none of it.
		sw.forward, sw.read = false, true
		if r.ContentLength != 0 && !errors.As(err, &tooBig) {
			closeAfter(w.Header(), r)
		}
	}
	st, _ := r.Context().Value(stateKey{}).(*state)
	route := ""
	if st != nil {
		route = st.routeName()
	}
	if st != nil && st.cut.Load() {
		// The sign-in ended while the request was in flight, and the request with it
		// (see watchRequest): it is answered as one that came without it.
		if st.basic && !acceptsHTML(r) {
			h.basicRequired(w, r, st, 0, false)
		} else {
			h.loginRequired(w, r, st.path)
		}
		return
	}
	if errors.As(err, &tooBig) {
		h.errorPage(w, r, http.StatusRequestEntityTooLarge, "The request is too large.")
		return
	}
	var refused *switchError
	if errors.As(err, &refused) {
		// The app answered, but its 101 would have opened a tunnel to a server that
		// may not speak websocket (see checkSwitch).
		h.metrics.upstreamError(route)
		h.log.Warn("upstream switch refused", "route", route, "reason", refused.why,
			"client_ip", h.clientIP(r).String())
		h.errorPage(w, r, http.StatusBadGateway, "The application did not accept this "+
			"connection.")
		return
	}
	switch {
	case st != nil && st.bodyErr.Load() != nil:
		// The client's fault: a body that stopped arriving, that it garbled, or that it
		// gave up sending (which cancels the request too).
		berr := *st.bodyErr.Load()
		var override *overrideError
		var unclear *unclearBodyError
		switch {
		case errors.As(berr, &override) && st.user != nil:
			h.forbiddenMethod(w, r, st.user, st.route, override.method)
			return
		case errors.As(berr, &unclear):
			h.log.Info("request body refused", "route", route, "reason", unclear.why,
				"client_ip", h.clientIP(r).String())
			h.errorPage(w, r, http.StatusBadRequest, "The request body could not be read.")
			return
		case errors.Is(berr, os.ErrDeadlineExceeded):
			h.log.Info("request body stalled", "route", route, "client_ip",
				h.clientIP(r).String())
			h.errorPage(w, r, http.StatusRequestTimeout, "The request stopped arriving.")
			return
		case r.Context().Err() != nil:
			h.log.Debug("client went away", "route", route, "error", berr)
			h.clientGone(w, st)
			return
		default:
			h.log.Info("request body unreadable", "route", route, "error", berr,
				"client_ip", h.clientIP(r).String())
		}
		h.errorPage(w, r, http.StatusBadRequest, "The request could not be read.")
		return
	case st != nil && st.body != nil && st.body.gone.Load():
		// The upstream closed the connection while the body was still coming: stopping
		// its read, to answer at once, ended the request's context too.
		err = errUpstreamClosed
	case r.Context().Err() != nil:
		h.log.Debug("client went away", "route", route, "error", err)
		h.clientGone(w, st)
		return
	}
	h.metrics.upstreamError(route)
	h.log.Error("upstream unreachable", "route", route, "error", errorText(err),
		"client_ip", h.clientIP(r).String())
	h.errorPage(w, r, http.StatusBadGateway, "The application is not answering. "+
		"Try again in a moment.")
}

// leaveGrace is how long the upstream exchange of a request without a body goes on after
// its client went away, and leaveDrain how much of the answer is read meanwhile. An
// answer that ends within both is dropped and leaves its upstream connection to serve
// another request, where canceling the exchange would close it and make the next
// request dial anew: a browser leaving a page, a load generator stopping, would each
// cost the app as many new connections as requests were in flight. At most
// maxLingering such exchanges go on at once, so that a client opening requests and
// dropping them as fast as it can holds no more of the gateway's connections to the
// apps than that; past it, a request whose client went away is canceled at once.
const (
	leaveGrace   = time.Second
	leaveDrain   = 256 << 10
	maxLingering = 256
)

// testLinger, when set, stands in for leaveGrace and maxLingering.
var testLinger atomic.Pointer[struct {
	grace time.Duration
	most  int32
}]

// lingering counts the upstream exchanges going on after their clients went away.
var lingering atomic.Int32

// errClientLeft ends the relay of an answer whose client went away once leaveDrain bytes
// of it were dropped.
var errClientLeft = errors.New("the client went away")

// clientLeft records that the client of the answer sw relays went away, which drops
// what is written of the answer from then on, and has the upstream exchange canceled
// after leaveGrace; at once at the shutdown deadline, or when maxLingering exchanges
// already go on.
func (h *Handler) clientLeft(sw *statusWriter, cancel context.CancelFunc) {
	sw.left.Store(true)
	if f := testHookClientLeft.Load(); f != nil {
		(*f)()
	}
	if h.cut.done() {
		cancel()
		return
	}
	grace, most := leaveGrace, int32(maxLingering)
	if l := testLinger.Load(); l != nil {
		grace, most = l.grace, l.most
	}
	if lingering.Add(1) > most {
		lingering.Add(-1)
		cancel()
		return
	}
	if !sw.linger.CompareAndSwap(lingerNone, lingerOn) {
		lingering.Add(-1) // the request ended meanwhile
		return
	}
	time.AfterFunc(grace, cancel)
}

// What a statusWriter's linger holds: whether its upstream exchange goes on after its
// client went away, and is counted in lingering, or its request has ended.
const (
	lingerNone int32 = iota
	lingerOn
	lingerDone
)

// settle marks the request of w ended, and takes it out of lingering if it was counted.
func (w *statusWriter) settle() {
	if w.linger.Swap(lingerDone) == lingerOn {
		lingering.Add(-1)
	}
}

// testHookClientLeft, when set, runs each time clientLeft does.
var testHookClientLeft atomic.Pointer[func()]

// errorText is err's text for the log, without the bytes of an upstream's answer that
// some of Go's transport errors quote (a malformed status line or header): an answer
// that fails to parse may be bytes meant for another request, another user's.
func errorText(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "malformed MIME header line:"); i >= 0 {
		return msg[:i+len("malformed MIME header line")]
	}
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		return strings.TrimSpace(msg[:i])
	}
	return msg
}

// StatusClientClosed is the status the access record and the metrics give a request
// whose client went away before it was answered, as nginx's logs do: no answer is sent,
// and it is not counted as an error of the gateway or of the app.
const StatusClientClosed = 499

// clientGone records that the client of the request w answers went away before its
// answer, and ends the request without one: the connection is closed, or the stream
// reset. A client that only half-closed its connection, which the server takes for
// gone, so learns of the failure too, rather than from the empty 200 that a handler
// returning without an answer would give it.
func (h *Handler) clientGone(w http.ResponseWriter, st *state) {
	if sw, ok := w.(*statusWriter); ok {
		sw.gone = true
	}
	if st != nil && st.reason == "" {
		st.reason = h.goneReason()
	}
	panic(http.ErrAbortHandler)
}

// goneReason is the reason the access record gives a request whose connection ended
// before its answer did: the client's doing, or the server's at the shutdown deadline.
func (h *Handler) goneReason() string {
	if h.cut.done() {
		return "cut at the shutdown deadline"
	}
	return "client went away"
}

// CutInFlight tells h, and the handlers it replaced, that the server is about to close
// the connections of the requests still in flight, at the shutdown deadline: their
// records say so, not that their clients went away. Open websockets, whose connections
// the server no longer tracks, are closed by the gateway itself, as at a sign-out.
func (h *Handler) CutInFlight() { h.cut.close() }

// cutSignal is closed once, at the shutdown deadline.
type cutSignal struct {
	once sync.Once
	ch   chan struct{}
}

func newCutSignal() *cutSignal { return &cutSignal{ch: make(chan struct{})} }

func (c *cutSignal) close() { c.once.Do(func() { close(c.ch) }) }

// done reports whether c is closed.
func (c *cutSignal) done() bool {
	select {
	case <-c.ch:
		return true
	default:
		return false
	}
}

// gatewayCookies are the cookies the gateway sets. They never reach an upstream, and an
// upstream cannot set them.
var gatewayCookies = []string{session.CookieName, loginCookie, deviceCookie,
	hostPrefix + session.CookieName, securePrefix + session.CookieName,
	hostPrefix + loginCookie, hostPrefix + deviceCookie}

// relayed prepares the upstream's answer for the client: without the gateway's cookies,
// and watched for stalls. It refuses a 101 that does not complete the client's websocket
// handshake, with a *switchError.
func (h *Handler) relayed(resp *http.Response) error {
	// A switch of protocols that does not complete the websocket handshake opens no
	// tunnel: the error closes the upstream's connection and answers 502 (upstreamError).
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if err := checkSwitch(resp); err != nil {
			return err
		}
	}
	// A handshake the app answers with anything but 101 is no tunnel: its answer is
	// watched for stalls like any other.
	st, _ := resp.Request.Context().Value(stateKey{}).(*state)
	if st != nil && st.route != nil {
		if loc := resp.Header["Location"]; len(loc) == 1 {
			if public, ok := st.route.publicLocation(loc[0]); ok {
				loc[0] = public
			}
		}
	}
	if st != nil && st.sw != nil {
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			// written on the hijacked connection, past the writer: say so for the record
			st.sw.switched = true
		case h.bodyIdle > 0 && st.sw.stall == 0:
			st.sw.stallAfter(h.bodyIdle)
		}
	}
	if st != nil && st.preflight {
		preflightAnswer(resp)
	}
	if _, typed := resp.Header["Content-Type"]; !typed && st != nil && st.sw != nil {
		// An answer the app sent untyped goes on untyped: the server would otherwise
		// guess a type from its first bytes, and might call it text/html.
		st.sw.Header()["Content-Type"] = nil
	}
	if st != nil && (st.user != nil || st.sw != nil && st.sw.setsCookie()) {
		keepPrivate(resp.Header, resp.Trailer)
		st.private = true
	}
	if st != nil && st.body != nil && st.sw != nil && !st.body.ended.Load() &&
		resp.StatusCode != http.StatusSwitchingProtocols {
		// An answer that came before the whole body: the server would read the rest of
		// the body before sending it, but the read is the transport's, which waits for
		// the client. The answer goes at once, and the connection closes after it.
		closeAfter(resp.Header, st.sw.req)
	}
	if st != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		st.answer.ReadCloser = resp.Body
		resp.Body = &st.answer
	}
	return dropGatewayCookies(resp)
}

// preflightAnswer cuts the app's answer to a CORS preflight, which came without a
// session, down to what a browser reads of one: its status and its Access-Control-
// headers, with Vary, and no body. An app that answers OPTIONS as it answers GET (a CGI
// script, a view that ignores the method) would otherwise hand its page, its cookies and
// its redirects to anyone who sends the two headers of a preflight.
func preflightAnswer(resp *http.Response) {
	for name := range resp.Header {
		if !strings.HasPrefix(name, "Access-Control-") && name != "Vary" {
			delete(resp.Header, name)
		}
	}
	// closed unread, with its connection: an app that streams its answer to OPTIONS
	// would keep a drain waiting
	resp.Body.Close()
	resp.Body, resp.ContentLength, resp.TransferEncoding = http.NoBody, 0, nil
	resp.Trailer = nil
}

// dropGatewayCookies removes any attempt by an upstream to set the gateway's own
// cookies: an app must not be able to plant a session id in the browser. A cookie with
// no name is dropped too: browsers send its value alone, so "=gateway_session=x" comes
// back as the gateway's cookie.
func dropGatewayCookies(resp *http.Response) error {
	dropGatewayCookieLines(resp.Header)
	// A cookie in a trailer is not one browsers take, and none is passed on.
	delete(resp.Trailer, "Set-Cookie")
	return nil
}

// dropGatewayCookieLines removes from h the Set-Cookie lines dropGatewayCookies refuses.
func dropGatewayCookieLines(h http.Header) {
	lines := h["Set-Cookie"]
	if len(lines) == 0 {
		return
	}
	kept := lines[:0:0]
	for _, l := range lines {
		pair, _, _ := strings.Cut(l, ";")
		name, _, hasValue := strings.Cut(pair, "=")
		name = strings.Trim(name, " \t")
		// in any case: browsers read the __Host- and __Secure- prefixes in any case
		if !hasValue || name == "" || slices.ContainsFunc(gatewayCookies, func(c string) bool {
			return strings.EqualFold(c, name)
		}) {
			continue
		}
		kept = append(kept, l)
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = kept
	}
}

// clientIP is the address used in logs: the socket peer, or, when the peer is a trusted
// proxy, the right-most address in X-Forwarded-For that is not a trusted proxy.
func (h *Handler) clientIP(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || len(h.trusted) == 0 || !trusted(peer, h.trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseHop(parts[j])
			if !ok {
				return peer // a malformed hop: trust nothing left of it
			}
			if !trusted(a, h.trusted) {
				return a
			}
			peer = a
		}
	}
	return peer
}

// parseHop reads one address of X-Forwarded-For: an IP address, alone or with the
// port some proxies add (Azure's Application Gateway, IIS's ARR), as 192.0.2.1:443 or
// [2001:db8::1]:443, or an IPv6 address in brackets without one. Taken for a malformed
// hop, an address with a port would have every client behind such a proxy counted as
// the proxy itself, and one guesser's failures throttle them all.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, ok = strings.CutSuffix(inner, "]"); ok {
			if a, err := netip.ParseAddr(inner); err == nil && a.Is6() {
				return a.Unmap(), true
			}
		}
	}
	return netip.Addr{}, false
}

// LevelAudit is the level of audit records (sign-in, failed sign-in, throttle, sign-out,
// the end of a session, revoke). It sits between INFO and WARN, and loggers made by the
// gateway's server write it whatever their level, as "AUDIT": turning the other records
// down never loses an audit record.
const LevelAudit = slog.LevelInfo + 2

// audit writes an audit record, with more attributes after the usual ones, and counts
// it. Audit records are written before the response.
func (h *Handler) audit(r *http.Request, msg, user, reason string, more ...slog.Attr) {
	h.metrics.audit(msg, reason)
	h.logAudit(r, msg, user, reason, more...)
}

// auditThrottled writes the audit record of a sign-in attempt for user that a limit
// refused, as reason, the limit being why. Each attempt is counted, but a client that
// keeps trying would have the gateway write a record for each attempt, as fast as it
// sends them, and fill its disk: a record is written at most once every auditLogEvery
// for each client address (IPv6 by /64, as the throttle counts them), or, when it is
// the username that is being spaced out whoever tries it, for each username, and it
// tells in suppressed how many were held back since the last one.
func (h *Handler) auditThrottled(r *http.Request, user string, why throttle.Reason,
	reason string) {
	key := "address " + clientnet.HostKey(h.clientIP(r))
	if why == throttle.ByUser || why == reasonWrongCodes {
		key = "user " + user
	}
	h.auditThinned(r, "sign-in throttled", user, reason, key)
}

// auditRepeatable writes the audit record of a refusal that any client can have
// repeated as fast as it sends requests, with no password check or throttle to slow it
// (a form without its token, a code with no sign-in waiting for it), thinned as
// auditThrottled thins by address.
func (h *Handler) auditRepeatable(r *http.Request, msg, user, reason string) {
	h.auditThinned(r, msg, user, reason, "address "+clientnet.HostKey(h.clientIP(r)))
}

// auditThinned counts the audit record msg and writes it, with suppressed, at most once
// every auditLogEvery for each kind of record and key.
func (h *Handler) auditThinned(r *http.Request, msg, user, reason, key string) {
	h.metrics.audit(msg, reason)
	n, shared, ok := h.auditThin.Allow(msg + "\x00" + reason + "\x00" + key)
	switch {
	case ok && shared:
		// suppressed counts others' records too: said, so that none is laid at this
		// client's door
		h.logAudit(r, msg, user, reason, slog.Int("suppressed", n),
			slog.Bool("shared", true))
	case ok:
		h.logAudit(r, msg, user, reason, slog.Int("suppressed", n))
	}
}

// maxLoggedOrigin is how much of an Origin a record quotes: more than any real origin.
const maxLoggedOrigin = 256

// clip returns s cut to at most n bytes, at a character's start, marked with "…" and
// s's length when cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutAt(s, n) + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// auditLogEvery is the least time between two records of one kind under one key, and
// auditLogKeys how many keys are kept apart (see logthin.Table): a flood from more
// addresses than that writes at most auditLogKeys+1 records every auditLogEvery.
const (
	auditLogEvery = 10 * time.Second
	auditLogKeys  = 1024
)

// logAudit writes an audit record, uncounted.
func (h *Handler) logAudit(r *http.Request, msg, user, reason string, more ...slog.Attr) {
	h.log.LogAttrs(r.Context(), LevelAudit, msg, append([]slog.Attr{
		slog.String("log", "audit"),
		slog.String("user", user),
		slog.String("reason", reason),
		slog.String("client_ip", h.clientIP(r).String()),
	}, more...)...)
}

// sessionAttr names a session in an audit record by the id listings show.
func sessionAttr(s *session.Session) slog.Attr {
	return slog.String("session", session.ListedID(s.ID))
}

// closeAfter has the connection of r closed after the answer whose headers are h, so that
// what is left of r's body is not read as the next request. On HTTP/2 a body belongs to
// its stream, which ends with the answer, and the connection goes on serving the others.
func closeAfter(h http.Header, r *http.Request) {
	if r.ProtoMajor < 2 {
		h.Set("Connection", "close")
	}
}

// unreadBodyGrace is how long the rest of a refused request's body is read for.
const unreadBodyGrace = time.Second

// statusWriter records the status and size of a response. It unwraps for
// http.ResponseController, so flushing and protocol upgrades still work through it.
//
// It also keeps a request whose body the gateway never read from holding its
// connection: see WriteHeader.
type statusWriter struct {
	http.ResponseWriter
	req   *http.Request
	st    *state // what the access record tells of the request
	code  int
	bytes int64
	rc    *http.ResponseController
	stall time.Duration // when set, each write must finish within this
	// forward is set while the upstream's answer is relayed; read once the gateway
	// started to read the request's body itself (a sign-in form)
	forward, read bool
	// kept holds what the gateway set under keptHeaders before relaying, which
	// ReverseProxy clears from the headers after an interim (1xx) answer; cleared says
	// one came, and kept is to be put back
	kept    [len(keptHeaders)][]string
	cleared bool
	// switched is set once the upstream agreed to switch protocols (101)
	switched bool
	// gone is set when the client went away before an answer was written
	gone bool
	// writeErr is the first error writing the answer to the client: it went away, or
	// stopped reading
	writeErr error
	// left is set when the client went away while the answer was relayed; what comes
	// after is dropped, up to leaveDrain bytes
	left    atomic.Bool
	dropped int
	linger  atomic.Int32 // see clientLeft
}

// setsCookie reports whether the gateway set a cookie on the answer before relaying the
// upstream's (a session cookie re-issued under a newer secret, or cleared), as relay
// found them.
func (w *statusWriter) setsCookie() bool {
	return len(w.kept[0]) > 0
}

// keptHeaders are the headers the gateway may set on an answer before it relays the
// upstream's: a cookie re-issued or cleared, and HSTS.
var keptHeaders = [...]string{"Set-Cookie", "Strict-Transport-Security"}

// relay marks the start of relaying the upstream's answer.
func (w *statusWriter) relay() {
	w.forward = true
	h := w.Header()
	for i, k := range keptHeaders {
		w.kept[i] = h[k]
	}
}

// stallAfter makes every later write push the write deadline stall ahead.
func (w *statusWriter) stallAfter(d time.Duration) {
	w.stall = d
	w.rc = http.NewResponseController(w.ResponseWriter)
}

// WriteHeader passes the status on. An interim (1xx) answer relayed from the upstream
// loses the gateway's cookies, as a final one does in ModifyResponse, and to a preflight
// passed on without a session is not sent at all.
//
// When the gateway answers by itself a request whose body it did not start to read (a
// 401, a 403, a 400, a 502), the connection is closed after the answer rather than kept
// for the next request, and what comes of the body is read for at most unreadBodyGrace:
// otherwise the server would wait for the whole body, which a client may announce and
// never send. The grace lets a client that is sending its body read the answer rather
// than have its connection reset under it.
func (w *statusWriter) WriteHeader(code int) {
	if code < 200 {
		if code != http.StatusSwitchingProtocols {
			dropGatewayCookieLines(w.Header())
			w.cleared = w.forward
			switch {
			case w.st != nil && w.st.preflight:
				// the answer to a preflight without a session is its final status and
				// CORS headers alone (see preflightAnswer): no interim one goes out
				return
			case w.left.Load():
				return // nothing goes to a client that went away
			case w.req != nil && !w.req.ProtoAtLeast(1, 1):
				return // HTTP/1.0 has no interim answers, and its clients take none
			}
		}
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.cleared {
		h := w.Header()
		for i, k := range keptHeaders {
			if len(w.kept[i]) > 0 {
				h[k] = append(slices.Clip(w.kept[i]), h[k]...)
			}
		}
		w.cleared = false
	}
	if w.code == 0 && w.left.Load() {
		// the client went away before the answer: it is read and dropped (see
		// clientLeft), and recorded as never sent
		w.gone = true
		if w.st != nil && w.st.reason == "" {
			w.st.reason = "client went away"
		}
		return
	}
	if w.code == 0 {
		w.code = code
		if !w.forward && !w.read && w.req != nil && w.req.ContentLength != 0 {
			closeAfter(w.Header(), w.req)
			http.NewResponseController(w.ResponseWriter).SetReadDeadline(
				time.Now().Add(unreadBodyGrace))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.left.Load() {
		if w.dropped += len(b); w.dropped > leaveDrain {
			return 0, errClientLeft
		}
		return len(b), nil
	}
	if w.stall > 0 {
		w.rc.SetWriteDeadline(time.Now().Add(w.stall))
	}
	n, err := w.ResponseWriter.Write(b)
	if w.req.Method != http.MethodHead { // the server drops the body of an answer to HEAD
		w.bytes += int64(n)
	}
	if err != nil && w.writeErr == nil {
		w.writeErr = err
	}
	return n, err
}

func (w *statusWriter) Flush() {
	if w.left.Load() {
		// nothing goes out once the client went away: a flush before any answer was
		// written would send the server's own 200 in its place
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	switch {
	case w.code != 0:
		return w.code
	case w.switched:
		return http.StatusSwitchingProtocols
	case w.gone:
		return StatusClientClosed
	}
	return http.StatusOK
}

// slogWriter turns the standard library's log lines into slog records.
type slogWriter struct{ log *slog.Logger }

func (s *slogWriter) Write(p []byte) (int, error) {
	s.log.Warn("http", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}

// Inherit takes over, from old, the handler h is to replace after a reload, what old
// learned of sign-ins: the throttle's counts (unless its limits changed), where users
// signed in from, the one-time codes they used or got wrong and the Basic credentials
// it checked. A reload, which a change of the config file brings, must not wipe a
// guesser's count or let a used code be used again. h also takes over old's connections
// to the apps (see adoptTransports). Call it before h serves; old may go on serving
// meanwhile, into the same records.
func (h *Handler) Inherit(old *Handler) {
	h.adoptTransports(old)
	h.bindApps(old.apps)
	h.keepFormerIdentity(old)
	if old.limits == h.limits {
		h.throttle = old.throttle
	}
	h.places, h.codes, h.strikes, h.basic = old.places, old.codes, old.strikes, old.basic
	h.cut, h.storeThin, h.forgedThin = old.cut, old.storeThin, old.forgedThin
	h.loopThin = old.loopThin
	h.auditThin = old.auditThin
	// the secrets earlier reloads removed, whose sessions a later pass may still meet
	if err := h.sessions.Retire(old.sessions.Retired()); err != nil {
		h.log.Error("keeping the removed session secrets failed", "error", err)
	}
}

// Supersede records that n replaces h, after a reload: what h still watches (open
// websockets) is judged by n's users, sessions and rules from then on.
func (h *Handler) Supersede(n *Handler) { h.next.Store(n) }

// latest returns the handler that serves now: h, or the last of those that replaced it.
func (h *Handler) latest() *Handler {
	for n := h.next.Load(); n != nil; n = n.next.Load() {
		h = n
	}
	return h
}

// Sessions returns the handler's session manager.
func (h *Handler) Sessions() *session.Manager { return h.sessions }

// EndSessions deletes from the store the sessions of user, or of everyone when user is
// empty, that no longer sign their user in: the user was removed or disabled, their
// password changed, the secret that sealed the session was removed, or the session is
// past a lifetime or idle timeout shortened since it was made. It writes an audit record
// for each and returns how many it ended.
// Requests end such sessions too, but only when their browser comes back: this leaves
// nothing in the store meanwhile.
func (h *Handler) EndSessions(ctx context.Context, user string) (int, error) {
	list, err := h.sessions.Stored(ctx, user)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range list {
		var reason string
		switch {
		case h.sessions.Sealed(e.Key, &e.Session):
			reason = h.sessionEnded(&e.Session, h.auth.Users().Lookup(e.Session.User))
		case !h.sessions.Shared() || h.sessions.SealedRetired(e.Key, &e.Session):
			reason = "secret removed"
		default:
			// In a store other gateways share, a record under a secret this one never
			// had is theirs, sealed under a secret it has yet to be given, or a forgery
			// nobody can use: it is left to expire.
			continue
		}
		if reason == "" && !h.sessions.Live(&e.Session) {
			// past a lifetime or idle timeout shortened since it was made
			reason = "expired"
		}
		if reason == "" {
			continue
		}
		if err := h.sessions.RevokeKey(ctx, e.Key); err != nil {
			return n, err
		}
		n++
		h.metrics.audit("session ended", reason)
		h.log.LogAttrs(ctx, LevelAudit, "session ended", slog.String("log", "audit"),
			slog.String("user", e.Session.User), slog.String("reason", reason),
			slog.String("session", e.Key[:min(len(e.Key), session.ListedIDLength)]))
	}
	return n, nil
}

// ReloadUsers re-reads the users file once it holds still (see
// authn.FileStore.ReloadWhenStill). On error the previous users keep serving.
func (h *Handler) ReloadUsers() error { return h.auth.Users().ReloadWhenStill() }

// Users returns the users the Handler signs in against.
func (h *Handler) Users() *authn.FileStore { return h.auth.Users() }
