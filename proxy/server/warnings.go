package server

import (
	"cmp"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/config/yamlerr"
	"github.com/frontgate/gateway/proxy"
)

// Warnings returns what in cfg and its users file is valid but most likely a mistake,
// each naming the file, line and key: a value written as $NAME rather than ${NAME}
// (see config.Config.LiteralVariables); an allow rule that names a user the users file
// does not have, or a group no user is in, or, on a basic_auth route, a user who signs
// in with a one-time code; a users file nobody can sign in with; a route whose upstream
// is the gateway's own address; an allow rule that names nobody, or a method no standard
// defines; password hashes too slow for timeouts.page; and TLS settings that serve, but
// not as meant (see tlsWarnings). Users are added and groups given while the gateway
// runs, so none of these keeps it from starting. A users file that does not load gives
// no user warnings; loading it is the error then.
func Warnings(cfg *config.Config) []error {
	users, err := authn.ReadUsersFile(cfg.Users.File)
	if err != nil {
		users = nil
	}
	return warningsWith(cfg, users)
}

// warningsWith returns Warnings with users as the users file holds them, or with no
// user warnings when users is nil: a running gateway passes those it has read rather
// than have the file, which may be large, read and parsed again.
func warningsWith(cfg *config.Config, users map[string]*authn.User) []error {
	out := append(cfg.LiteralVariables(), tlsWarnings(cfg)...)
	out = append(out, stateDirWarnings(cfg)...)
	out = append(out, fileWarnings(cfg)...)
	out = append(out, secretWarnings(cfg)...)
	out = append(out, loopWarnings(cfg)...)
	out = append(out, overlapWarnings(cfg)...)
	out = append(out, sharedStoreWarnings(cfg)...)
	out = append(out, ruleWarnings(cfg)...)
	if users != nil {
		out = append(out, userWarnings(cfg, users)...)
	}
	return inFileOrder(out)
}

// inFileOrder sorts warnings by the line of the config they name, so that they read
// along with the file; a warning that names no line goes after them, and warnings of
// one line keep their order.
func inFileOrder(warnings []error) []error {
	line := func(err error) int {
		var e *config.Error
		if errors.As(err, &e) {
			return e.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(warnings, func(a, b error) int {
		return cmp.Compare(line(a), line(b))
	})
	return warnings
}

// secretWarnings returns a warning for each session secret listed before: most likely
// a rotation that meant to put a new secret first.
func secretWarnings(cfg *config.Config) []error {
	var out []error
	for i, s := range cfg.Session.Secrets {
		if j := slices.Index(cfg.Session.Secrets[:i], s); j >= 0 {
			out = append(out, cfg.Errorf(fmt.Sprintf("session.secrets[%d]", i),
				fmt.Errorf("the same secret as session.secrets[%d]; a rotation puts a "+
					"new one first", j)))
		}
	}
	return out
}

// usersFileDoubt returns the first of userWarnings' doubts about the users file at path
// itself: someone else could change it, or others may read it. One that anyone may
// write is refused, which says so alone.
func usersFileDoubt(path string) error {
	if WritableByAnyone(path) != nil {
		return nil
	}
	if err := othersMayChange(path); err != nil {
		return fmt.Errorf("someone else could add themselves as a user: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o004 != 0 {
		return fmt.Errorf("%s may be read by others (mode %v), and holds password hashes "+
			"and one-time-code secrets; chmod 600 it, or 640 when its group is the "+
			"gateway's alone", path, fi.Mode().Perm())
	}
	return nil
}

// knownMethods are the methods HTTP (RFC 9110, RFC 5789) and WebDAV with its extensions
// (RFC 4918, 3253, 3744, 4791, 5323) define, and PURGE, which caches take.
var knownMethods = []string{"get", "head", "post", "put", "delete", "connect", "options",
	"trace", "patch", "propfind", "proppatch", "mkcol", "copy", "move", "lock", "unlock",
	"report", "checkout", "checkin", "uncheckout", "version-control", "mkworkspace",
	"update", "label", "merge", "mkactivity", "baseline-control", "acl", "mkcalendar",
	"search", "orderpatch", "bind", "unbind", "rebind", "mkredirectref",
	"updateredirectref", "purge"}

// ruleWarnings returns a warning for each allow rule that lists users or groups but
// names none, which lets any signed-in user pass, and for each method a rule names that
// no standard defines, most likely a typing mistake that lets no request pass.
func ruleWarnings(cfg *config.Config) []error {
	var out []error
	for i, p := range cfg.Trusted {
		if p.Addr().Is4() && p.Bits() < minTrustedBits4 ||
			!p.Addr().Is4() && p.Bits() < minTrustedBits6 {
			out = append(out, cfg.Errorf(fmt.Sprintf("trusted_proxies[%d]", i),
				fmt.Errorf("%s holds %s: every client in it may say which address it "+
					"has (X-Forwarded-For), to the logs and the sign-in throttle, and "+
					"whether it came over HTTPS; list the proxies in front of the gateway "+
					"alone", p, spanOf(p))))
		}
	}
	for i, rt := range cfg.Routes {
		for j, p := range rt.Public {
			if proxy.IsScript(p) {
				out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].public[%d]", i, j),
					fmt.Errorf("%s names a PHP script, which may be the app's front "+
						"controller, serving every page of the app: it stays protected "+
						"as those pages are; make public the folders of files the app "+
						"serves as they are", p)))
			}
		}
		key := fmt.Sprintf("routes[%d].allow", i)
		if (cfg.Set(key+".users") || cfg.Set(key+".groups")) &&
			len(rt.Allow.Users) == 0 && len(rt.Allow.Groups) == 0 {
			out = append(out, cfg.Errorf(key, errors.New("names no user and no group, so "+
				"any signed-in user may pass: name who may, or drop the empty lists to "+
				"say so plainly")))
		}
		for j, m := range rt.Allow.Methods {
			if slices.Contains(knownMethods, strings.ToLower(m)) {
				continue
			}
			msg := fmt.Sprintf("%s is a method no HTTP or WebDAV standard defines: only "+
				"requests that use it pass this rule", m)
			if near := yamlerr.Nearest(m, slices.Values(knownMethods)); near != "" {
				msg += fmt.Sprintf("; did you mean %s?", strings.ToUpper(near))
			}
			out = append(out, cfg.Errorf(fmt.Sprintf("%s.methods[%d]", key, j),
				errors.New(msg)))
		}
	}
	return out
}

// minTrustedBits4 and minTrustedBits6 are the shortest prefixes of trusted_proxies not
// doubted: a CDN's ranges are longer (Cloudflare's are /13 to /22, and /29 to /32), and
// a network shorter than these is more of the internet than any proxy fleet.
const (
	minTrustedBits4 = 8
	minTrustedBits6 = 16
)

// spanOf names how much of the address space the network p is.
func spanOf(p netip.Prefix) string {
	if p.Bits() == 0 {
		return "every address"
	}
	return "a large part of the internet"
}

// userWarnings returns the warnings of Warnings that users, the users file's, give.
func userWarnings(cfg *config.Config, users map[string]*authn.User) []error {
	var out []error
	enabled := 0
	groups := make(map[string]bool)
	for _, u := range users {
		if !u.Disabled {
			enabled++
		}
		for _, g := range u.Groups {
			groups[g] = true
		}
	}
	switch {
	case len(users) == 0:
		out = append(out, cfg.Errorf("users.file",
			fmt.Errorf("%s has no users, so nobody can sign in", cfg.Users.File)))
	case enabled == 0:
		out = append(out, cfg.Errorf("users.file",
			fmt.Errorf("every user in %s is disabled, so nobody can sign in", cfg.Users.File)))
	}
	// it holds password hashes and one-time-code secrets; whoever may change it may
	// make themselves an admin
	if err := usersFileDoubt(cfg.Users.File); err != nil {
		out = append(out, cfg.Errorf("users.file", err))
	}
	for i, rt := range cfg.Routes {
		for j, name := range rt.Allow.Users {
			if users[name] == nil {
				out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].allow.users[%d]", i, j),
					fmt.Errorf("no user %q in %s", name, cfg.Users.File)))
			}
		}
		if rt.BasicAuth {
			if names := codeUsers(users, rt.Allow); len(names) > 0 {
				out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].basic_auth", i),
					fmt.Errorf("a one-time code, which Basic credentials cannot carry, "+
						"is needed to sign in as %s: on this route only a browser's "+
						"session lets them in, and a script sending their password is "+
						"counted as a guesser", strings.Join(names, ", "))))
			}
			if names := colonUsers(users, rt.Allow); len(names) > 0 {
				out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].basic_auth", i),
					fmt.Errorf("a colon, which ends the name in Basic credentials, is "+
						"in the name of %s: on this route they can sign in in a browser "+
						"only", strings.Join(names, ", "))))
			}
		}
		for j, g := range rt.Allow.Groups {
			if !groups[g] {
				out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].allow.groups[%d]", i, j),
					fmt.Errorf("no user in %s is in group %q", cfg.Users.File, g)))
			}
		}
	}
	if w := slowHashWarning(cfg, users); w != nil {
		out = append(out, w)
	}
	out = append(out, weakHashWarnings(cfg, users)...)
	for _, names := range authn.LookAlikes(users) {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = strconv.Quote(n)
		}
		out = append(out, cfg.Errorf("users.file", fmt.Errorf("users %s in %s pass for "+
			"each other at a glance (they differ in case, or in letters drawn alike): one "+
			"may be meant to be taken for another; rename or remove all but one",
			strings.Join(quoted, ", "), cfg.Users.File)))
	}
	if w := mixedCostWarning(cfg, users); w != nil {
		out = append(out, w)
	}
	return out
}

// minChecksWaited is how many password checks the wait of a sign-in under a flood
// should hold at least; with fewer, users signing in at a browser new to the gateway
// are often turned away.
const minChecksWaited = 4

// slowHashWarning returns a warning when checking the slowest kind of password hash of
// users takes so long, on this machine, that the wait a sign-in is given for its check
// (two thirds of timeouts.page) holds fewer than minChecksWaited of them; nil otherwise.
func slowHashWarning(cfg *config.Config, users map[string]*authn.User) error {
	page := cfg.Timeouts.Page
	if page <= 0 {
		return nil
	}
	wait := page * 2 / 3
	slow := authn.SlowestCheck(users, wait)
	if slow.Took*minChecksWaited <= wait {
		return nil
	}
	fit := "less than one check"
	switch n := int(wait / slow.Took); {
	case slow.Unfinished:
	case n == 1:
		fit = "one check"
	case n > 1:
		fit = fmt.Sprintf("%d checks", n)
	}
	took := slow.Took.Round(time.Millisecond).String()
	if slow.Unfinished {
		took = "more than " + took
	}
	return cfg.Errorf("timeouts.page", fmt.Errorf("a password check against a hash "+
		"like %s's (%s) took %s here, and a sign-in waits at most %v, two thirds of "+
		"timeouts.page, for its check: room for %s, so under a flood of sign-ins users at "+
		"a browser new to the gateway get 503, and a sign-in checked late in its wait "+
		"may not be answered at all; lengthen timeouts.page, or rehash with cheaper "+
		"parameters", slow.User, slow.Kind, took, wait.Round(time.Millisecond), fit))
}

// logWarnings logs each of cfg's warnings, with users as the gateway read them.
func logWarnings(lg *slog.Logger, cfg *config.Config, users map[string]*authn.User) {
	for _, w := range warningsWith(cfg, users) {
		lg.Warn("config is likely mistaken", "problem", w)
	}
}

// logUserWarnings logs the warnings that users, the users file of cfg as the gateway
// read it, give.
func logUserWarnings(lg *slog.Logger, cfg *config.Config, users map[string]*authn.User) {
	for _, w := range inFileOrder(userWarnings(cfg, users)) {
		lg.Warn("config is likely mistaken", "problem", w)
	}
}

// tlsWarnings returns the TLS settings that serve, but not as meant: cookies without
// Secure over HTTPS, Secure cookies over plain HTTP with nothing trusted in front, an
// http_listen that nothing listens on, keys that only another tls.mode reads, a
// certificate that names no host where browsers look (its subjectAltName), so that
// browsers refuse it and http_listen redirects no host, one that has expired or is not
// valid yet, an RSA key under 2048 bits, and a private key that others may read.
func tlsWarnings(cfg *config.Config) []error {
	var out []error
	if cfg.TLS.Mode != "off" && cfg.Session.Secure == "false" {
		out = append(out, cfg.Errorf("session.secure", errors.New("false while the "+
			"gateway serves HTTPS: its cookies go without Secure, under names other "+
			"sites can plant")))
	}
	if cfg.TLS.Mode == "off" && cfg.Session.Secure == "true" && len(cfg.TrustedProxies) == 0 {
		out = append(out, cfg.Errorf("session.secure", errors.New("true while tls.mode is "+
			"off and no trusted_proxies are set: browsers keep a Secure cookie only from "+
			"https:// pages (and localhost), so sign-in comes back to the form unless "+
			"something in front terminates TLS; list that proxy in trusted_proxies and "+
			"leave session.secure on auto")))
	}
	if cfg.TLS.Mode == "off" && cfg.HTTPListen != "" {
		out = append(out, cfg.Errorf("http_listen", errors.New("set while tls.mode is "+
			"off: nothing listens there")))
	}
	out = append(out, unusedTLS(cfg)...)
	if cfg.TLS.Mode != "files" {
		return out
	}
	if pair, err := loadKeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile); err == nil &&
		pair.Leaf != nil {
		out = append(out, certWarnings(cfg, pair.Leaf, time.Now())...)
	}
	for _, p := range keyFileProblems(cfg.TLS.KeyFile) {
		out = append(out, cfg.Errorf("tls.key_file", p))
	}
	return out
}

// certWarnings returns what tlsWarnings doubts of leaf, the certificate of files mode,
// at now: that it names no host where browsers look, that it is not valid at now, and
// that its key is too weak.
func certWarnings(cfg *config.Config, leaf *x509.Certificate, now time.Time) []error {
	var out []error
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		out = append(out, cfg.Errorf("tls.cert_file", fmt.Errorf("%s names no host in "+
			"its subjectAltName: browsers refuse it, and http_listen redirects no host to "+
			"it", cfg.TLS.CertFile)))
	}
	// a warning, not an error: a gateway that starts on it picks up the renewed pair
	// once written, where one that refused to start would serve nothing until started
	// again
	if err := outOfDate(leaf, now); err != nil {
		out = append(out, cfg.Errorf("tls.cert_file", fmt.Errorf("%s %w: browsers "+
			"refuse it", cfg.TLS.CertFile, err)))
	}
	if err := weakKey(leaf); err != nil {
		out = append(out, cfg.Errorf("tls.key_file", fmt.Errorf("%s %w", cfg.TLS.KeyFile,
			err)))
	}
	return out
}

// keyFileProblems returns what is likely mistaken about the private key file of files
// mode: that others may read it.
func keyFileProblems(path string) []error {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return []error{fmt.Errorf("%s may be read by others (mode %04o); run chmod 600 "+
			"on it", path, fi.Mode().Perm())}
	}
	return nil
}

// tlsKeysOf names the keys of tls that only one mode reads.
var tlsKeysOf = []struct{ mode, key string }{
	{"acme", "domains"}, {"acme", "email"}, {"acme", "ca"}, {"acme", "ca_root"},
	{"acme", "storage"}, {"files", "cert_file"}, {"files", "key_file"},
}

// unusedTLS returns a warning for each key set under tls that the mode set does not
// read: an operator who moved from one mode to another may think it still applies.
func unusedTLS(cfg *config.Config) []error {
	var out []error
	for _, k := range tlsKeysOf {
		if cfg.TLS.Mode != k.mode && cfg.Set("tls."+k.key) {
			out = append(out, cfg.Errorf("tls."+k.key, fmt.Errorf("set while tls.mode is "+
				"%s: only %s mode reads it, so it does nothing", cfg.TLS.Mode, k.mode)))
		}
	}
	if cfg.TLS.Mode == "off" && cfg.Set("tls.hsts") {
		out = append(out, cfg.Errorf("tls.hsts", errors.New("set while tls.mode is off: "+
			"Strict-Transport-Security is sent only over HTTPS")))
	}
	return out
}

// loopWarnings returns a warning for each route whose upstream is an address the gateway
// itself listens on: its requests would come back to the gateway, which answers them
// with 508 once it sees its own hop token.
func loopWarnings(cfg *config.Config) []error {
	var out []error
	for i, rt := range cfg.Routes {
		u := rt.UpstreamURL
		if u == nil {
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		for _, key := range []string{"listen", "http_listen"} {
			addr := cfg.Listen
			if key == "http_listen" {
				addr = cfg.HTTPListen
			}
			host, lport, err := net.SplitHostPort(addr)
			if err != nil || lport != port || !sameMachine(u.Hostname(), host) {
				continue
			}
			out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].upstream", i),
				fmt.Errorf("%s is the gateway's own %s address (%s): its requests would "+
					"come back to the gateway, which answers 508", rt.Upstream, key, addr)))
		}
	}
	return out
}

// overlapWarnings returns a warning for each route through which requests reach the
// places of the app that another route serves under other rules: two routes to one
// upstream, one of them with strip_prefix or another upstream path (/app/ to
// http://app/base, and / to http://app), where /base/secret through the second is the
// first one's /app/secret, judged by the second one's rules.
func overlapWarnings(cfg *config.Config) []error {
	var out []error
	// each upstream parsed once: a config of thousands of routes makes millions of pairs
	type reached struct {
		origin, reach string
		ok            bool
	}
	reaches := make([]reached, len(cfg.Routes))
	for i, rt := range cfg.Routes {
		r := &reaches[i]
		r.origin, r.reach, r.ok = upstreamReach(rt)
	}
	for j, via := range cfg.Routes {
		originJ, reachJ, ok := reaches[j].origin, reaches[j].reach, reaches[j].ok
		if !ok {
			continue
		}
		for i, rt := range cfg.Routes {
			origin, reach, ok := reaches[i].origin, reaches[i].reach, reaches[i].ok
			if i == j || !ok || origin != originJ || !strings.HasPrefix(reach, reachJ) {
				continue
			}
			// Through a route for another host the app sees another Host, and may serve
			// another site, unless neither route passes the client's Host on.
			host, hostly := rt.Host, false
			if via.Host != "" && !strings.EqualFold(via.Host, rt.Host) {
				host, hostly = via.Host, *via.PreserveHost || *rt.PreserveHost
			}
			// the path through via that reaches rt's places, and whether via serves it
			path := strings.TrimSuffix(via.Path, "/") + "/" + reach[len(reachJ):]
			if servedBy(cfg.Routes, host, path) != j ||
				reflect.DeepEqual(rt.Allow, via.Allow) && slices.Equal(rt.Public, via.Public) {
				continue
			}
			if hostly {
				// An app that serves a site per Host keeps them apart; one that serves
				// the same pages whatever the Host, as most apps without a login of
				// their own do, would hand the protected places to anyone here.
				if c, place, at, ok := publicOverlap(via, rt, path, reach); ok {
					out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].public", j),
						fmt.Errorf("%s on this route is public and is the app's %s, which "+
							"routes[%d] serves at %s behind a sign-in, unless the app serves "+
							"another site for %s than for other hosts: give each route an "+
							"app of its own, or both the same rules", c, place, i, at,
							via.Host)))
				}
				continue
			}
			out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].upstream", j),
				fmt.Errorf("%s on this route is the app's %s, which routes[%d] serves at "+
					"%s under other rules: this route's rules decide there; give each route "+
					"a place of its own in the app, or both the same rules", path, reach, i,
					rt.Path)))
		}
	}
	return out
}

// publicOverlap finds the first path c under path, through which via reaches the app's
// reach, that via makes public and rt, which reaches the same places, protects: the
// app's place there, and rt's path to it.
func publicOverlap(via, rt config.Route, path, reach string) (c, place, at string,
	ok bool) {
	for _, c := range append([]string{path}, via.Public...) {
		if !strings.HasPrefix(c, path) || !publicAt(via.Public, c) {
			continue
		}
		rest := c[len(path):]
		at := strings.TrimSuffix(rt.Path, "/") + "/" + rest
		if !publicAt(rt.Public, at) {
			return c, reach + rest, at, true
		}
	}
	return "", "", "", false
}

// publicAt reports whether a public prefix of prefixes covers path, by whole segments.
func publicAt(prefixes []string, path string) bool {
	for _, p := range prefixes {
		p = strings.TrimSuffix(p, "/")
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// upstreamReach returns the scheme and address of rt's upstream and the path under which
// lie the upstream's places that rt sends requests to; ok is false without an upstream.
func upstreamReach(rt config.Route) (origin, reach string, ok bool) {
	u := rt.UpstreamURL
	if u == nil {
		return "", "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	origin = u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
	reach = strings.TrimSuffix(u.Path, "/") + "/"
	if !rt.StripPrefix {
		reach = strings.TrimSuffix(u.Path, "/") + strings.TrimSuffix(rt.Path, "/") + "/"
	}
	return origin, reach, true
}

// servedBy returns the index in routes of the route that serves path on host, as the
// gateway picks it (a route for host before one for any host, then the longest path),
// or -1.
func servedBy(routes []config.Route, host, path string) int {
	best, bestLen := -1, -1
	for i, rt := range routes {
		if rt.Host != host && rt.Host != "" {
			continue
		}
		prefix := strings.TrimSuffix(rt.Path, "/")
		if path != prefix && !strings.HasPrefix(path, prefix+"/") {
			continue
		}
		n := len(prefix)
		if rt.Host != "" {
			n += 1 << 20 // a route for the host comes first, whatever its path
		}
		if n > bestLen {
			best, bestLen = i, n
		}
	}
	return best
}

// sameMachine reports whether upstream, the host of an upstream URL, names an address
// that a listener on host (empty or unspecified for every address) takes: the same
// address, or a loopback one when the listener takes loopback or every address.
func sameMachine(upstream, host string) bool {
	if strings.EqualFold(upstream, host) {
		return true
	}
	// localhost is 127.0.0.1 and ::1
	named := func(h string) bool { return h == "127.0.0.1" || h == "::1" }
	if strings.EqualFold(upstream, "localhost") && named(host) ||
		strings.EqualFold(host, "localhost") && named(upstream) {
		return true
	}
	every := host == ""
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		every = true
	}
	// a dial to the unspecified address reaches this machine, as one to loopback does
	ip, err := netip.ParseAddr(upstream)
	local := err == nil && (ip.Unmap().IsLoopback() || ip.IsUnspecified())
	if local && ip.IsUnspecified() {
		return true // every listener on the port takes it, whatever its address
	}
	return every && (local || strings.EqualFold(upstream, "localhost"))
}

// codeUsers returns, sorted, the enabled users with a one-time-code secret whom the rule
// a admits.
func codeUsers(users map[string]*authn.User, a config.Allow) []string {
	return admitted(users, a, func(_ string, u *authn.User) bool { return u.TOTP != nil })
}

// colonUsers returns, sorted, the enabled users a lets in whose names hold a colon, which
// ends the name in HTTP Basic credentials (RFC 7617), so they cannot sign in with them.
func colonUsers(users map[string]*authn.User, a config.Allow) []string {
	return admitted(users, a, func(name string, _ *authn.User) bool {
		return strings.Contains(name, ":")
	})
}

// admitted returns, sorted, the names of the enabled users that a lets in, for some
// method, and that pick reports.
func admitted(users map[string]*authn.User, a config.Allow,
	pick func(string, *authn.User) bool) []string {
	var names []string
	for name, u := range users {
		if u.Disabled || !pick(name, u) {
			continue
		}
		in := len(a.Users) == 0 && len(a.Groups) == 0 || slices.Contains(a.Users, name)
		for _, g := range u.Groups {
			in = in || slices.Contains(a.Groups, g)
		}
		if in {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// mixedCostWarning warns when the users' password hashes have more than one cost. An
// unknown name is checked against a hash of some user's cost, chosen in proportion to
// the users, so the costs of unknown names are spread as the users' are; but a name
// whose wrong password takes the time of a cost few users have is more likely to be one
// of them than an unknown name is, by as many times as there are users per user of that
// cost. One cost for every user leaves nothing to tell.
func mixedCostWarning(cfg *config.Config, users map[string]*authn.User) error {
	kinds := authn.HashKinds(users)
	if len(kinds) < 2 {
		return nil
	}
	want := authn.DefaultHashKind()
	var rest []string
	for k, names := range kinds {
		if k != want {
			rest = append(rest, names...)
		}
	}
	slices.Sort(rest)
	named := strings.Join(rest[:min(len(rest), 5)], ", ")
	if len(rest) > 5 {
		named += fmt.Sprintf(" and %d more", len(rest)-5)
	}
	return cfg.Errorf("users.file", fmt.Errorf("password hashes of %d costs: a name whose "+
		"wrong password takes as long as a cost few users have can be told from a missing "+
		"user by the odds; give %s a hash from gateway hash-password, so that every "+
		"user's is of one cost", len(kinds), named))
}

// weakHashes finds the users whose password hashes are cheap to crack; tests, whose
// users have cheap hashes so that they run fast, replace it.
var weakHashes = authn.WeakHashes

// weakHashWarnings warns of password hashes cheap to crack should the users file leak,
// one warning for each kind: an import from htpasswd, whose bcrypt is cost 5 unless told
// otherwise, brings them in.
func weakHashWarnings(cfg *config.Config, users map[string]*authn.User) []error {
	weak := weakHashes(users)
	reasons := slices.Sorted(maps.Keys(weak))
	var out []error
	for _, why := range reasons {
		names := weak[why]
		named := strings.Join(names[:min(len(names), 5)], ", ")
		if len(names) > 5 {
			named += fmt.Sprintf(" and %d more", len(names)-5)
		}
		out = append(out, cfg.Errorf("users.file", fmt.Errorf("password hashes cheap to "+
			"crack should the file leak: %s (%s); give them hashes from gateway "+
			"hash-password as they next change their passwords", named, why)))
	}
	return out
}

// sharedStoreWarnings warns of what each gateway makes for itself, in state_dir, while
// its sessions live in a Redis that other gateways may share: a generated session secret,
// under which the others can open none of its cookies, and a generated assertion key,
// whose key set an app would fetch from whichever gateway answers.
func sharedStoreWarnings(cfg *config.Config) []error {
	if cfg.Session.Store != "redis" {
		return nil
	}
	var out []error
	if len(cfg.Session.Secrets) == 0 {
		out = append(out, cfg.Errorf("session.secrets", errors.New("empty with the redis "+
			"store: each gateway generates a secret of its own, and gateways that share "+
			"the Redis cannot open each other's cookies; give them one secret")))
	}
	if cfg.Assertion.KeyFile == "" && sendsAssertions(cfg) {
		out = append(out, cfg.Errorf("assertion.key_file", errors.New("empty with the "+
			"redis store: each gateway generates an assertion key of its own, and an app "+
			"behind several gets the key set of whichever answers; give them one key file")))
	}
	return out
}

// access is access(2), which tests replace: root, as which tests often run, may do
// anything.
var access = syscall.Access

// stateDirWarnings returns a warning for each place in state_dir that the user this
// runs as could not use as the gateway must: the folder itself (or, when it is yet to
// be made, the folder it would be made in), and the session store and generated secret
// in it. These are warnings, not errors: check may run as another user than the
// gateway, and the gateway, which cannot start without them, says so itself.
func stateDirWarnings(cfg *config.Config) []error {
	const r, w, x = 4, 2, 1 // access(2)'s R_OK, W_OK and X_OK
	var out []error
	who := fmt.Sprintf("this user (uid %d)", os.Getuid())
	dir := cfg.StateDir
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	if access(dir, w|x) != nil {
		what := dir
		if dir != cfg.StateDir {
			what = fmt.Sprintf("%s, where state_dir %s would be made,", dir, cfg.StateDir)
		}
		return append(out, cfg.Errorf("state_dir", fmt.Errorf("%s cannot be written by "+
			"%s; the gateway keeps its sessions, secret and control socket there", what,
			who)))
	}
	files := []string{secretFile}
	if cfg.Session.Store == "bolt" {
		files = append(files, boltFile)
	}
	for _, name := range files {
		path := filepath.Join(cfg.StateDir, name)
		if _, err := os.Stat(path); err == nil && access(path, r|w) != nil {
			out = append(out, cfg.Errorf("state_dir", fmt.Errorf("%s cannot be read and "+
				"written by %s, as the gateway must", path, who)))
		}
	}
	return out
}
