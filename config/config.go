// Package config loads and validates the gateway's YAML configuration.
//
// The file is decoded strictly: an unknown key, a value of the wrong type, a second YAML
// document or an invalid setting is an [*Error] that names the file, the line and the
// key. ${NAME} inside a scalar reads the environment variable NAME after the YAML has
// been parsed, so the environment can supply values but never YAML structure; $${ is a
// literal ${. YAML anchors and aliases are refused. Relative paths are resolved against
// the folder of the config file.
//
// [Load] returns a Config with every default filled in and every value parsed into its
// typed form, so the rest of the gateway never parses configuration text again.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"time"
)

// Config is the whole gateway configuration. The zero value is not usable; obtain one
// from [Load] or [Parse], which fill in defaults and validate.
type Config struct {
	// Listen is the address the gateway serves on, as host:port with a numeric port; an
	// empty host listens on every interface. Default: "127.0.0.1:8080".
	Listen string `yaml:"listen"`

	// HTTPListen is the plain-HTTP address used when TLS is on: it answers ACME HTTP-01
	// challenges and redirects everything else to HTTPS. Empty means none. Default: none.
	HTTPListen string `yaml:"http_listen"`

	// TLS configures HTTPS on Listen.
	TLS TLS `yaml:"tls"`

	// StateDir holds state the gateway generates, such as a session secret when none is
	// configured. Relative to the config file's folder; Load makes it absolute.
	// Default: "./data".
	StateDir string `yaml:"state_dir"`

	// TrustedProxies lists the networks, in CIDR form, whose X-Forwarded-* and similar
	// headers are believed. A bare address stands for itself alone (/32 or /128). An
	// entry with bits set past its prefix length, such as 10.0.0.1/8, is refused.
	// Default: none, so no forwarded header is ever believed.
	TrustedProxies []string `yaml:"trusted_proxies"`

	// AllowedRedirectHosts lists hosts that an absolute https redirect target may name
	// after sign-in or sign-out. An entry is an exact host name, or ".example.com" for
	// its subdomains at a dot boundary; no scheme, port, path or "*". Load lowercases
	// them. Default: none, so only local paths are followed.
	AllowedRedirectHosts []string `yaml:"allowed_redirect_hosts"`

	// Users configures the user store.
	Users Users `yaml:"users"`

	// Session configures sessions and the session cookie.
	Session Session `yaml:"session"`

	// IdentityHeaders names the request headers that carry the signed-in user's identity
	// to the upstream.
	IdentityHeaders IdentityHeaders `yaml:"identity_headers"`

	// IdentityAliases configures the other header names that are removed from client
	// requests because apps commonly read them as the signed-in user.
	IdentityAliases IdentityAliases `yaml:"identity_aliases"`

	// Routes maps request paths to upstreams. At least one is required.
	Routes []Route `yaml:"routes"`

	// Assertion configures the signed identity assertions routes may send.
	Assertion Assertion `yaml:"assertion"`

	// Timeouts bound how long clients may take.
	Timeouts Timeouts `yaml:"timeouts"`

	// Throttle limits failed sign-in attempts.
	Throttle Throttle `yaml:"throttle"`

	// Limits bound what one client may hold of the gateway.
	Limits Limits `yaml:"limits"`

	// Pages brands the gateway's own pages.
	Pages Pages `yaml:"pages"`

	// Admin configures the operator's listener: metrics and health checks.
	Admin Admin `yaml:"admin"`

	// Log configures the gateway's log output.
	Log Log `yaml:"log"`

	// File is the absolute path of the file the config was loaded from; empty when it was
	// parsed from memory. Not a YAML key.
	File string `yaml:"-"`

	// Trusted is TrustedProxies parsed. Not a YAML key.
	Trusted []netip.Prefix `yaml:"-"`

	lines map[string]int // line of each key read, for errors found after loading

	// literal holds, by key, the variable name of each value written as $NAME: the text
	// itself, which was most likely meant as ${NAME}
	literal map[string]string
	// expanded holds, by key, each value that read environment variables and the text the
	// file wrote, so that errors found after loading quote the text, not the value
	expanded map[string][2]string
	// vars holds the value of each environment variable read, by name, hidden as well
	vars map[string]string

	// located marks a Config from Locate, with unset the variables it could not read,
	// by the key that refers to each.
	located bool
	unset   map[string]string
	// broken is the first problem Locate let pass, which Load would have failed on
	broken *Error
}

// Errorf returns an *Error for key, at the line the key was read from (or its nearest
// parent's), for problems found after loading, such as a users file that cannot be read.
// Where err quotes a value read from an environment variable, the error quotes the text
// the file wrote (${NAME}): the value may be a secret.
func (c *Config) Errorf(key string, err error) *Error {
	v := validator{file: c.File, lines: c.lines}
	if name, ok := c.literal[key]; ok {
		// a file or address written $NAME, read as those characters, is most likely why
		err = fmt.Errorf("%w; to read the environment variable %s, write ${%s}", err,
			name, name)
	}
	e := &Error{File: c.File, Line: v.line(key), Key: key, Err: err}
	return hideValues(c.expanded, c.vars, e)
}

// Hide returns err with the value of each environment variable the config read, at
// least a few characters long, written as ${NAME} wherever its message quotes it: for
// problems found after loading that name no key of the config, such as one inside the
// users file, whose path may hold a variable's value.
func (c *Config) Hide(err error) error {
	if err == nil {
		return nil
	}
	e := hideValues(nil, c.vars, &Error{Err: err})
	if e.Err == err {
		return err
	}
	return e.Err
}

// Set reports whether key, such as "tls.domains", was set in the config file, rather
// than left to its default.
func (c *Config) Set(key string) bool {
	_, ok := c.lines[key]
	return ok
}

// TLS configures HTTPS. With Mode "off", Listen serves plain HTTP.
type TLS struct {
	// Mode is "off", "files" (a certificate and key from files, picked up again when
	// they change) or "acme" (certificates from an ACME CA for Domains). Default: "off".
	Mode string `yaml:"mode"`
	// Domains are the names certificates are obtained for, in acme mode. A handshake
	// for any other name gets no certificate and starts no order. Required for acme.
	Domains []string `yaml:"domains"`
	// Email is the ACME account's contact address. Default: none.
	Email string `yaml:"email"`
	// CA is the ACME directory URL; "staging" means Let's Encrypt's staging CA.
	// Default: Let's Encrypt.
	CA string `yaml:"ca"`
	// CARoot is a PEM file of the root that signs the CA's own HTTPS, for private CAs.
	// Default: the system's roots.
	CARoot string `yaml:"ca_root"`
	// Storage is where certificates and ACME accounts are kept: "file" (under
	// StateDir) or "redis" (the session store's Redis, shared by several gateways).
	// Default: "file".
	Storage string `yaml:"storage"`
	// CertFile and KeyFile are the PEM certificate chain and key, in files mode.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// HSTS sends Strict-Transport-Security on HTTPS answers. Default: true.
	HSTS *bool `yaml:"hsts"`
}

// Users configures the user store.
type Users struct {
	// File is the path of an Authelia-compatible users file, relative to the config
	// file's folder; Load makes it absolute. Required.
	File string `yaml:"file"`
}

// Session configures sessions and the session cookie.
type Session struct {
	// Secrets sign and encrypt session cookies, newest first: the first one signs, all
	// of them verify, so a secret can be rotated by putting a new one in front. Each must
	// be at least 32 bytes. Default: none, in which case the gateway generates one under
	// StateDir.
	Secrets []string `yaml:"secrets"`

	// Store names where sessions are kept: "memory" (lost on restart, for tests),
	// "bolt" (a file under StateDir) or "redis" (shared by several gateways).
	// Default: "bolt".
	Store string `yaml:"store"`

	// Redis configures the Redis store, used when Store is "redis".
	Redis Redis `yaml:"redis"`

	// Secure decides the session cookie's Secure flag: "auto" sets it when the request
	// came over TLS (or from a trusted proxy that says so), "true" and "false" force it.
	// Default: "auto".
	Secure string `yaml:"secure"`

	// IdleTimeout ends a session that has not been used for this long. Durations are
	// written as in Go, such as "90s", "30m" or "1h30m", and must be greater than zero.
	// It must not be longer than Lifetime. Default: 30m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`

	// Lifetime ends a session this long after sign-in, however active. It must not be
	// longer than 87600h (10 years), nor must IdleTimeout and RememberFor: a session's
	// end is kept in nanoseconds since 1970, which run out in 2262. Default: 12h.
	Lifetime time.Duration `yaml:"lifetime"`

	// RememberMe offers a "Remember me" box on the sign-in form. Default: true.
	RememberMe *bool `yaml:"remember_me"`

	// RememberFor is how long a remembered session lasts, in place of Lifetime; only
	// then is the cookie kept when the browser closes. At most 87600h (10 years).
	// Default: 720h (30 days).
	RememberFor time.Duration `yaml:"remember_for"`

	// CookieDomain, when set, makes the session cookie cover this domain and its
	// subdomains, for one sign-in across the apps behind one gateway. Default: none, a
	// host-only cookie.
	CookieDomain string `yaml:"cookie_domain"`
}

// Redis configures the Redis session store. Sentinel and cluster use the same settings:
// set MasterName for sentinel, or several Addresses for a cluster.
type Redis struct {
	// Addresses lists host:port of the server, the sentinels or the cluster nodes.
	// Default: ["127.0.0.1:6379"].
	Addresses []string `yaml:"addresses"`
	// MasterName names the sentinel master; empty means no sentinel. Default: none.
	MasterName string `yaml:"master_name"`
	// Username and Password authenticate to Redis, and to the sentinels when MasterName
	// is set. Default: none.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DB selects the database (standalone and sentinel only). Default: 0.
	DB DBIndex `yaml:"db"`
	// TLS connects over TLS, verified against the system's roots. Default: false.
	TLS bool `yaml:"tls"`
	// KeyPrefix starts every key the gateway writes. Default: "gateway:".
	KeyPrefix string `yaml:"key_prefix"`
}

// DBIndex is a Redis database number, from 0.
type DBIndex int

// ByteSize is a size in bytes, written with a unit: "512KB", "10MB", "1GiB", or plain
// bytes. KB, MB and GB are powers of 1000; KiB, MiB and GiB of 1024.
type ByteSize int64

// IdentityHeaders names the headers that tell the upstream who the user is. Any header a
// client sends under one of these names, in any spelling, is removed before forwarding.
// The names must be valid HTTP header names, distinct from each other even when case is
// ignored and '_' and '.' are read as '-', and not a header with a meaning of its own
// such as Host, Cookie, Authorization, Connection or X-Forwarded-For.
type IdentityHeaders struct {
	// User carries the username. Default: "X-Forwarded-User".
	User string `yaml:"user"`
	// Email carries the user's email address. Default: "X-Forwarded-Email".
	Email string `yaml:"email"`
	// Groups carries the user's groups, comma-separated. Default: "X-Forwarded-Groups".
	Groups string `yaml:"groups"`
	// Name carries the user's display name, as UTF-8. Default: "X-Forwarded-Name".
	Name string `yaml:"name"`
}

// IdentityAliases lists header names that are not the gateway's identity headers but that
// apps and other gateways read as the signed-in user (Remote-User, X-Remote-User,
// X-Auth-Request-*, X-Webauth-*, and more). A client's copy of any of them is removed,
// in every spelling, like a copy of an identity header.
type IdentityAliases struct {
	// Builtin removes the gateway's built-in list of aliases. Default: true.
	Builtin *bool `yaml:"builtin"`
	// Extra adds names to remove. A name ending in "*" removes every header that starts
	// with it. Default: none.
	Extra []string `yaml:"extra"`
}

// Assertion configures X-Gateway-Assertion: a short-lived JWT (EdDSA) naming the user,
// which an app can verify against the keys at /.gateway/jwks.json to know a request came
// through the gateway.
type Assertion struct {
	// KeyFile is a PEM PKCS#8 Ed25519 private key, mode 0600. Default: generated once
	// into state_dir/assertion-key.pem.
	KeyFile string `yaml:"key_file"`
	// TTL is how long an assertion is valid. Default: 60s.
	TTL time.Duration `yaml:"ttl"`
}

// Timeouts bound how long a client may hold a connection without making progress, so
// that slow or stalled clients cannot tie up the gateway or its upstreams.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers. Default: 10s.
	ReadHeader time.Duration `yaml:"read_header"`
	// Idle bounds how long a kept-alive connection waits for its next request.
	// Default: 2m.
	Idle time.Duration `yaml:"idle"`
	// Page bounds reading a request to the gateway's own pages and writing the answer.
	// Default: 30s.
	Page time.Duration `yaml:"page"`
	// BodyIdle ends a proxied request or response body, or a stream, that makes no
	// progress for this long. A body that keeps moving is never cut. Default: 60s.
	BodyIdle time.Duration `yaml:"body_idle"`
	// Shutdown bounds how long in-flight requests may finish when the gateway stops.
	// Default: 10s.
	Shutdown time.Duration `yaml:"shutdown"`
}

// Limits bound what one client may hold of the gateway, so that no single address takes
// what every other client needs.
type Limits struct {
	// ClientConnections is how many connections one client address (IPv6: its /64) may
	// hold open at once; a connection past it is closed as soon as it is accepted.
	// Addresses in trusted_proxies are exempt, as their connections carry many clients'
	// requests. At least 16. Default: 1024.
	ClientConnections int `yaml:"client_connections"`
}

// Throttle limits failed sign-ins. Failures are counted per client address (IPv6 by
// /64), per username and address, and per username. Past the first two limits an
// address is refused for a growing time; past the third, attempts for the username are
// only spaced out, so an attacker can slow an account but never lock its owner out.
type Throttle struct {
	// AddressFailures is how many failures one address may have within Window before it
	// is refused. Default: 20.
	AddressFailures int `yaml:"address_failures"`
	// UserAddressFailures is how many failures for one username from one address are
	// allowed within Window before that pair is refused. Default: 5.
	UserAddressFailures int `yaml:"user_address_failures"`
	// UserFailures is how many failures for one username, from anywhere, are allowed
	// within Window before attempts for it are spaced out. Default: 10.
	UserFailures int `yaml:"user_failures"`
	// Window is how long a failure counts. Default: 15m.
	Window time.Duration `yaml:"window"`
	// MaxEntries bounds the memory the throttle uses: it tracks at most this many
	// addresses and usernames each, dropping the least recent. Default: 100000.
	MaxEntries int `yaml:"max_entries"`
}

// Route sends requests whose path falls under Path to Upstream. Paths match by segment:
// "/admin/" covers "/admin" and "/admin/x" but not "/administrator". The route with the
// longest matching Path wins.
type Route struct {
	// Host is the host the route serves: an exact name, or "*.example.com" for its
	// subdomains. Compared case-insensitively, without port or trailing dot. Empty
	// matches any host. Among routes that match, an exact host beats a wildcard, which
	// beats none; then the longest path wins. Default: any host.
	Host string `yaml:"host"`

	// Path is the path prefix the route covers. It must start with "/" and hold no "..",
	// "//", "?", "#", "%", "\\", control characters or "." segments. Two routes of one
	// host may not cover the same path; "/a" and "/a/" count as the same. Default: "/".
	Path string `yaml:"path"`

	// Upstream is the base URL of the app: an absolute http or https URL with a host,
	// and without user info, query or fragment. Required.
	Upstream string `yaml:"upstream"`

	// Public lists path prefixes, matched by segment like Path, that are served without
	// a session. A signed-in user's identity is still passed on them. Each follows the
	// rules of Path. Default: none.
	Public []string `yaml:"public"`

	// Allow says who may use the route's protected paths. Empty: any signed-in user.
	Allow Allow `yaml:"allow"`

	// PreserveHost passes the client's Host header to the upstream when true, and the
	// upstream's own host when false. Default: true.
	PreserveHost *bool `yaml:"preserve_host"`

	// Assertion adds X-Gateway-Assertion to this route's upstream requests of signed-in
	// users. Default: false.
	Assertion bool `yaml:"assertion"`

	// BasicAuth lets API clients send HTTP Basic credentials, checked against the users
	// file with the same throttling as the sign-in form. The Authorization header is
	// then not forwarded. Default: false.
	BasicAuth bool `yaml:"basic_auth"`

	// StripPrefix removes Path from the request path before forwarding, so an app
	// mounted at /app/ sees /x for /app/x. Rules still judge the full path.
	// Default: false.
	StripPrefix bool `yaml:"strip_prefix"`

	// MaxBody limits the size of request bodies, such as "10MB" or "512KiB"; larger ones
	// get 413. Default: no limit.
	MaxBody ByteSize `yaml:"max_body"`

	// IdentityHeaders, when set, replace the global identity header names on this
	// route. Default: the global ones.
	IdentityHeaders IdentityHeaders `yaml:"identity_headers"`

	// UpstreamCA is a PEM file of the roots to trust for an https upstream, in place of
	// the system's. Default: the system's roots.
	UpstreamCA string `yaml:"upstream_ca"`

	// UpstreamServerName is the name the https upstream's certificate must carry, when
	// it is not the upstream URL's host. Default: the URL's host.
	UpstreamServerName string `yaml:"upstream_server_name"`

	// UpstreamTimeout bounds waiting for the upstream's response headers. Default: none,
	// for apps that think long.
	UpstreamTimeout time.Duration `yaml:"upstream_timeout"`

	// CORSPreflight is "pass" to forward CORS preflights (OPTIONS with Origin and
	// Access-Control-Request-Method) without a session, and without identity, for apps
	// that serve cross-origin APIs. Default: "" (preflights need a session like any
	// request).
	CORSPreflight string `yaml:"cors_preflight"`

	// UpstreamURL is Upstream parsed. Not a YAML key.
	UpstreamURL *url.URL `yaml:"-"`
}

// Allow is a route's access rule. A signed-in user passes when Users and Groups are both
// empty, or the user is named in Users, or is in one of Groups; and, when Methods is set,
// the request uses one of them. Anyone else who is signed in gets 403.
type Allow struct {
	// Users names users who may pass. Default: none.
	Users []string `yaml:"users"`
	// Groups names groups whose members may pass. Default: none.
	Groups []string `yaml:"groups"`
	// Methods, when set, limits the route to these request methods, compared in upper
	// case. Default: any method.
	Methods []string `yaml:"methods"`
}

// Pages brands the sign-in, sign-out and error pages.
type Pages struct {
	// Title names the site in page titles and beside the logo. Default: "Gateway".
	Title string `yaml:"title"`
	// Logo is an image file (PNG, JPEG, SVG or WebP, at most 1 MiB) shown above each
	// page's heading. Default: none.
	Logo string `yaml:"logo"`
	// Stylesheet is a CSS file linked after the built-in one. Default: none.
	Stylesheet string `yaml:"stylesheet"`
	// Templates is a folder whose .html files replace the built-in templates of the
	// same name: layout.html (blocks "top" and "bottom"), login.html, logout.html and
	// error.html. Default: the built-in ones.
	Templates string `yaml:"templates"`
}

// Admin configures the admin listener, which serves /metrics (Prometheus), /healthz
// (the process is up) and /readyz (config loaded, session store reachable).
type Admin struct {
	// Listen is the admin address, on loopback only. Default: none, no admin listener.
	Listen string `yaml:"listen"`
	// Pprof serves Go's profiles under /debug/pprof/ on the admin listener, to see where
	// a running gateway spends its time. Default: false.
	Pprof bool `yaml:"pprof"`
}

// Log configures logging.
type Log struct {
	// Level is one of "debug", "info", "warn" or "error". Default: "info".
	Level string `yaml:"level"`
	// Format is "text" or "json". Default: "text".
	Format string `yaml:"format"`
}
