package server

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/frontgate/gateway/config"
)

// tlsSetup is how the gateway serves HTTPS: the listener's TLS config, and the handler
// for the plain-HTTP listener, which answers ACME challenges and redirects the rest.
type tlsSetup struct {
	config *tls.Config
	http   http.Handler
	// ready reports why HTTPS cannot serve yet, or nil: a configured name without a
	// certificate, or one that expired, or, from files, one not valid yet
	ready func() error
}

// setupTLS prepares HTTPS for cfg, or returns nil when TLS is off. Certificates are
// managed in the background until ctx ends.
// httpsPort is the port HTTPS is served on, for redirects to it.
func setupTLS(ctx context.Context, cfg *config.Config, lg *slog.Logger,
	storage certmagic.Storage, httpsPort string) (*tlsSetup, error) {
	switch cfg.TLS.Mode {
	case "files":
		return filesTLS(ctx, cfg, lg, httpsPort)
	case "acme":
		return acmeTLS(ctx, cfg, lg, storage, httpsPort)
	}
	return nil, nil
}

// baseTLS is what every TLS listener of the gateway offers: TLS 1.2 at least, with
// forward secrecy and authenticated encryption alone (TLS 1.3's suites, and TLS 1.2's
// ECDHE ones with GCM or ChaCha20-Poly1305, as Mozilla's intermediate profile has it:
// no CBC with SHA-1, which HTTP/2 forbids too), and HTTP/2.
func baseTLS(t *tls.Config) *tls.Config {
	t.MinVersion = tls.VersionTLS12
	t.CipherSuites = tls12Suites
	for _, p := range []string{"h2", "http/1.1"} {
		if !slices.Contains(t.NextProtos, p) {
			t.NextProtos = append(t.NextProtos, p)
		}
	}
	return t
}

// tls12Suites are the TLS 1.2 cipher suites the gateway accepts; TLS 1.3 has its own.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// certFiles serves a certificate from files and loads it again when they change, so a
// renewed certificate is picked up without a restart.
type certFiles struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
	stamp             string
}

// load loads the certificate files again if they changed since the pair served was
// read, and serves the pair they hold now; it reports whether it did. A pair outside its
// validity period at now is refused while the one served is within its own, with an
// *outOfDateError: browsers would refuse the new one, and accept the old one until it
// expires.
func (c *certFiles) load(now time.Time) (bool, error) {
	stamp, err := stampFiles(c.certFile, c.keyFile)
	if err != nil {
		return false, err
	}
	c.mu.RLock()
	same := stamp == c.stamp
	c.mu.RUnlock()
	if same {
		return false, nil
	}
	cert, err := loadKeyPair(c.certFile, c.keyFile)
	if err != nil {
		return false, fmt.Errorf("loading certificate: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if why := outOfDate(cert.Leaf, now); why != nil && c.cert != nil &&
		outOfDate(c.cert.Leaf, now) == nil {
		return false, &outOfDateError{why}
	}
	c.cert, c.stamp = &cert, stamp
	return true, nil
}

// outOfDateError is why load refused a new pair: its certificate is outside its
// validity period, and the one served is not.
type outOfDateError struct {
	why error // what outOfDate said of the new certificate
}

func (e *outOfDateError) Error() string {
	return "new certificate " + e.why.Error()
}

func (e *outOfDateError) Unwrap() error { return e.why }

// loadKeyPair is tls.LoadX509KeyPair with the files read as config.ReadPlain reads
// them: a FIFO in the place of either is refused, not waited on.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := config.ReadPlain(certFile, config.MaxFileSize)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := config.ReadPlain(keyFile, config.MaxFileSize)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// outOfDate returns why leaf is not valid at now, or nil: it expired, or it is not
// valid yet. Browsers refuse it either way.
func outOfDate(leaf *x509.Certificate, now time.Time) error {
	switch {
	case leaf == nil:
		return nil
	case now.After(leaf.NotAfter):
		return fmt.Errorf("expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// minRSABits is the size under which an RSA key is doubted: the least public CAs may
// sign since the end of 2013 (the CA/Browser Forum's Baseline Requirements), and the
// least NIST allows for signatures since then.
const minRSABits = 2048

// weakKey returns why the key of leaf is too weak to serve, or nil: an RSA key under
// minRSABits, which an attacker with enough computing power could factor, and then
// pass for the gateway.
func weakKey(leaf *x509.Certificate) error {
	if leaf == nil {
		return nil
	}
	k, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok || k.N.BitLen() >= minRSABits {
		return nil
	}
	return fmt.Errorf("holds a %d-bit RSA key: under %d bits it is within reach of "+
		"factoring, and no public CA signs it any more; make a new key of %[2]d bits or "+
		"more, or an ECDSA one, and a certificate for it", k.N.BitLen(), minRSABits)
}

// leaf returns the certificate now served, parsed, or nil before one is.
func (c *certFiles) leaf() *x509.Certificate {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cert == nil {
		return nil
	}
	return c.cert.Leaf
}

// names returns the host names and addresses the certificate now served names.
func (c *certFiles) names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cert == nil || c.cert.Leaf == nil {
		return nil
	}
	out := slices.Clone(c.cert.Leaf.DNSNames)
	for _, ip := range c.cert.Leaf.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// certWatch is what the looks at the certificate files remember of the looks before.
type certWatch struct {
	failing int       // looks in a row that found the pair unloadable, or refused it
	lastErr string    // why the last of them failed
	logged  time.Time // when a failure was last logged as an error
}

// look loads the certificate files again if they changed, and logs what came of it:
// a pair that loads is served, with a warning for what is likely mistaken about it (a
// name the last one covered and this one does not, a key others may read or too weak,
// a certificate outside its validity period, as the one before was); one that does not
// is logged, and the last good pair kept. A pair being replaced fails to load for a
// moment, so it is an error only when it stays broken; a whole pair that load refuses
// as out of date is an error at once. Either is logged again when the reason changes and
// every certErrorEvery while it lasts; its end is logged too.
func (c *certFiles) look(w *certWatch, lg *slog.Logger, now time.Time) {
	before := c.names()
	changed, err := c.load(now)
	files := []any{"cert_file", c.certFile, "key_file", c.keyFile}
	switch {
	case err != nil:
		w.failing++
		again := err.Error() != w.lastErr
		w.lastErr = err.Error()
		var refused *outOfDateError
		outdated := errors.As(err, &refused)
		switch {
		case !outdated && w.failing < certFailuresAnError:
			if w.failing == 1 || again {
				lg.Warn("certificate files do not load, keeping the last good pair and "+
					"looking again", append(files, "error", err)...)
			}
		case !outdated && w.failing == certFailuresAnError || again ||
			now.Sub(w.logged) >= certErrorEvery:
			w.logged = now
			d := (time.Duration(w.failing) * certPollInterval).String()
			if outdated {
				lg.Error("certificate files hold a certificate outside its validity "+
					"period, keeping the last good pair", append(files, "reason",
					refused.why, "for", d)...)
				break
			}
			lg.Error("certificate files still do not load, keeping the last good pair",
				append(files, "error", err, "for", d)...)
		}
		return
	case changed:
		lg.Info("certificate reloaded", files...)
		if why := outOfDate(c.leaf(), now); why != nil {
			lg.Warn("certificate reloaded outside its validity period, as the one it "+
				"replaces was", append(files, "reason", why)...)
		}
		after := c.names()
		var dropped []string
		for _, n := range before {
			if !slices.Contains(after, n) {
				dropped = append(dropped, n)
			}
		}
		if len(dropped) > 0 {
			lg.Warn("the certificate reloaded no longer names what the last one did: "+
				"HTTPS fails for them, and http_listen no longer redirects them",
				append(files, "names", dropped)...)
		}
		problems := keyFileProblems(c.keyFile)
		if err := weakKey(c.leaf()); err != nil {
			problems = append(problems, fmt.Errorf("%s %w", c.keyFile, err))
		}
		for _, p := range problems {
			lg.Warn("certificate reloaded with a likely mistake", append(files,
				"problem", p)...)
		}
	case w.failing > 0:
		lg.Info("certificate files load again; the pair is the one served before", files...)
	}
	*w = certWatch{}
}

// stampFiles returns a digest of the contents of the files at paths, to tell their
// versions apart. Size and modification time are not enough: deployments that set fixed
// times (cp -p, rsync -a, tar, image builds) replace a file without changing either.
// Each is read as it comes, without waiting on a FIFO and refusing anything but a
// regular file (see config.OpenPlain), and only up to config.MaxFileSize: past that it
// is the wrong file, which its size and times tell apart well enough, and reading all of
// it every few seconds would cost more than it tells.
func stampFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		if err := stampFile(h, p); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stampFile feeds the file at path to h, as stampFiles reads it.
func stampFile(h io.Writer, path string) error {
	f, fi, err := config.OpenPlain(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	fmt.Fprintf(h, "%d:", fi.Size())
	if fi.Size() > config.MaxFileSize {
		fmt.Fprintf(h, "%d:", fi.ModTime().UnixNano())
	}
	if _, err := io.Copy(h, io.LimitReader(f, config.MaxFileSize)); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// covers reports whether the certificate now served is valid for host, a name or an IP
// address: the hosts that files mode serves over HTTPS.
func (c *certFiles) covers(host string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert != nil && c.cert.Leaf != nil && c.cert.Leaf.VerifyHostname(host) == nil
}

// certPollInterval is how often files mode looks for a replaced certificate.
var certPollInterval = 2 * time.Second

// certFailuresAnError is how many looks in a row must find the certificate files
// unloadable before that is logged as an error rather than a moment of their
// replacement; certErrorEvery is how often the error is logged again while it lasts.
const (
	certFailuresAnError = 5
	certErrorEvery      = time.Hour
)

func filesTLS(ctx context.Context, cfg *config.Config, lg *slog.Logger,
	httpsPort string) (*tlsSetup, error) {
	cf := &certFiles{certFile: cfg.TLS.CertFile, keyFile: cfg.TLS.KeyFile}
	// nothing is served yet, so any pair that loads is: check and the start warn of one
	// out of date
	if _, err := cf.load(time.Now()); err != nil {
		return nil, cfg.Errorf("tls.cert_file", err)
	}
	go func() {
		t := time.NewTicker(certPollInterval)
		defer t.Stop()
		var w certWatch
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				cf.look(&w, lg, now)
			}
		}
	}()
	return &tlsSetup{
		config: baseTLS(&tls.Config{GetCertificate: cf.get}),
		http:   redirectHTTPS(httpsPort, cf.covers),
		ready:  cf.ready,
	}, nil
}

// ready reports an error when the certificate served has expired or is not valid yet:
// browsers refuse it either way.
func (c *certFiles) ready() error {
	if err := outOfDate(c.leaf(), time.Now()); err != nil {
		return fmt.Errorf("the certificate of %s %w", c.certFile, err)
	}
	return nil
}

func acmeTLS(ctx context.Context, cfg *config.Config, lg *slog.Logger,
	storage certmagic.Storage, httpsPort string) (*tlsSetup, error) {
	if storage == nil {
		storage = &certmagic.FileStorage{Path: filepath.Join(cfg.StateDir, "certificates")}
	}
	var magic *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			return magic, nil
		},
		Logger: zapLogger(lg),
	})
	context.AfterFunc(ctx, cache.Stop)
	magic = certmagic.New(cache, certmagic.Config{Storage: storage, Logger: zapLogger(lg)})

	ca := cfg.TLS.CA
	switch ca {
	case "":
		ca = certmagic.LetsEncryptProductionCA
	case "staging":
		ca = certmagic.LetsEncryptStagingCA
	}
	issuer := certmagic.ACMEIssuer{
		CA: ca, TestCA: ca, Email: cfg.TLS.Email, Agreed: true,
		// Without a plain-HTTP listener of its own there is nowhere to answer HTTP-01.
		DisableHTTPChallenge: cfg.HTTPListen == "",
		Logger:               zapLogger(lg),
	}
	if cfg.TLS.CARoot != "" {
		pool, err := readCARoot(cfg.TLS.CARoot)
		if err != nil {
			return nil, cfg.Errorf("tls.ca_root", err)
		}
		issuer.TrustedRoots = pool
	}
	// The challenges are answered on the gateway's own listeners: TLS-ALPN-01 by the
	// TLS config below, HTTP-01 by the plain-HTTP handler; certmagic binds nothing.
	issuer.AltTLSALPNPort = atoiOr(httpsPort, 443)
	if _, port, err := net.SplitHostPort(cfg.HTTPListen); err == nil {
		issuer.AltHTTPPort = atoiOr(port, 80)
	}
	acme := certmagic.NewACMEIssuer(magic, issuer)
	magic.Issuers = []certmagic.Issuer{acme}

	// Only the configured names are managed, and there is no on-demand issuance: a
	// handshake for any other name gets no certificate and never starts an order.
	// ManageAsync, unlike ManageSync, never prompts on the terminal for an email: the
	// gateway starts at once and certificates arrive, and renew, in the background.
	domains := cfg.TLS.Domains
	if err := magic.ManageAsync(ctx, domains); err != nil {
		return nil, cfg.Errorf("tls.domains", err)
	}
	return &tlsSetup{
		config: baseTLS(magic.TLSConfig()),
		http: acme.HTTPChallengeHandler(redirectHTTPS(httpsPort, func(host string) bool {
			return slices.Contains(domains, host)
		})),
		ready: func() error { return acmeReady(cache, domains) },
	}, nil
}

// acmeReady reports the first of domains that cache holds no unexpired certificate for:
// one not obtained yet, as while the CA cannot be reached, or one whose renewals failed
// until it expired.
func acmeReady(cache *certmagic.Cache, domains []string) error {
	unexpired := func(c certmagic.Certificate) bool { return !c.Expired() }
	for _, d := range domains {
		if !slices.ContainsFunc(cache.AllMatchingCertificates(d), unexpired) {
			return fmt.Errorf("no certificate for %s yet", d)
		}
	}
	return nil
}

func atoiOr(s string, def int) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 {
		return def
	}
	return n
}

// readCARoot reads the PEM certificates at path into a pool.
func readCARoot(path string) (*x509.CertPool, error) {
	pem, err := config.ReadPlain(path, config.MaxFileSize)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in the file")
	}
	return pool, nil
}

// redirectHTTPS sends plain-HTTP requests to HTTPS with 308, keeping method and body.
// Only a host that serves reports the gateway serves over HTTPS (one of the ACME domains,
// or one the certificate from files is valid for) is redirected to, and others get 421:
// otherwise a request with a forged Host would get a redirect to any site, which a cache
// could then hand to others.
func redirectHTTPS(port string, serves func(host string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// like every answer the gateway writes itself, kept by no cache
		w.Header().Set("Cache-Control", "no-store")
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(host, ".")
		if !validHostName(host) || !serves(host) {
			http.Error(w, "Misdirected Request", http.StatusMisdirectedRequest)
			return
		}
		target := "https://" + host
		if port != "" && port != "443" {
			target += ":" + port
		}
		// a request for "*" names no resource: there is no URL to send it to
		if !strings.HasPrefix(r.URL.RequestURI(), "/") {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Location", target+r.URL.RequestURI())
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// hsts adds Strict-Transport-Security to every answer sent over TLS.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
