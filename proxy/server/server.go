// Package server assembles the gateway from its configuration and runs it: it loads the
// config and users file, prepares session keys and the store, and serves the proxy
// handler until its context ends.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/redisstore"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/assertion"
	"github.com/frontgate/gateway/proxy/tlsstore"
)

// Options configures Run.
type Options struct {
	// ConfigPath is the config file to load. Required.
	ConfigPath string
	// Logger receives every record. Nil means a logger on Stderr built from the config's
	// log settings.
	Logger *slog.Logger
	// Stderr is where the default logger writes. Nil means os.Stderr.
	Stderr io.Writer
	// Listener, when set, is served instead of listening on the config's address.
	Listener net.Listener
	// Ready, when set, is called with the address being served once the gateway accepts
	// connections.
	Ready func(addr net.Addr)
	// ShutdownTimeout bounds how long in-flight requests may finish after ctx ends.
	// Zero means the config's timeouts.shutdown.
	ShutdownTimeout time.Duration
}

// usersPollInterval is how often the users file is checked for changes.
var usersPollInterval = 2 * time.Second

// configPollInterval is how often the config file is checked for changes.
var configPollInterval = 2 * time.Second

// sessionsCountMaxAge is how long one count of the live sessions serves the scrapes of
// /metrics; zero means the collector's default.
var sessionsCountMaxAge time.Duration

// Check loads the config file at path and the users file it names, and returns what would
// keep `gateway run` from starting with them, naming file, line and key: every problem
// of the config file, joined as [config.LoadAll] joins them, or else every problem of the
// users file's users, as [authn.ReadUsersFileAll] joins them, or else, joined, every
// problem of state_dir's mode and the TLS files and the first of the files the handler
// reads (templates, logo, stylesheet, upstream CAs, keys). It writes nothing and opens
// no listener or session store. When the config file itself loads, the config comes
// back with any error, so that its warnings can be told too.
func Check(path string) (*config.Config, error) {
	cfg, err := config.LoadAll(path)
	if err != nil {
		// A variable unset in this shell, though set where the gateway runs, is the
		// usual reason: the users file is checked all the same, so that its problems
		// are not found only once the variable is set.
		if onlyUnsetEnv(err) {
			if loc, lerr := config.Locate(path); lerr == nil {
				if _, uerr := authn.ReadUsersFileAll(loc.Users.File); uerr != nil {
					return nil, errors.Join(err, usersError(loc, uerr))
				}
			}
		}
		return nil, err
	}
	if _, err := authn.ReadUsersFileAll(cfg.Users.File); err != nil {
		return cfg, usersError(cfg, err)
	}
	problems := append(openToAnyone(cfg), preflight(cfg)...)
	if err := checkHandler(cfg); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return cfg, errors.Join(problems...)
	}
	return cfg, nil
}

// onlyUnsetEnv reports whether each problem err joins is a variable that is not set.
func onlyUnsetEnv(err error) bool {
	all := config.Problems(err)
	for _, e := range all {
		if !errors.Is(e, config.ErrUnsetEnv) {
			return false
		}
	}
	return len(all) > 0
}

// preflight returns the problems of what the gateway reads once at start, before
// anything is opened: state_dir and the TLS files.
func preflight(cfg *config.Config) []error {
	var out []error
	if err := checkStateDir(cfg.StateDir); err != nil {
		out = append(out, cfg.Errorf("state_dir", err))
	} else if real, err := checkStateDirPath(cfg.StateDir, false); err != nil {
		out = append(out, cfg.Errorf("state_dir", err))
	} else if err := checkStateDirFiles(real); err != nil {
		out = append(out, cfg.Errorf("state_dir", err))
	} else {
		if len(cfg.Session.Secrets) == 0 {
			// the generated secret, as the start would read it
			_, err := readSecret(filepath.Join(real, secretFile), nil)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				out = append(out, cfg.Errorf("state_dir", err))
			}
		}
		if cfg.Assertion.KeyFile == "" && sendsAssertions(cfg) {
			// the generated key, which the handler check reads from a scratch folder
			if err := assertion.CheckGenerated(real); err != nil {
				out = append(out, cfg.Errorf("state_dir", err))
			}
		}
	}
	switch cfg.TLS.Mode {
	case "files":
		// a missing file is named by its own key, not the pair's first
		_, certErr := os.Stat(cfg.TLS.CertFile)
		if certErr != nil {
			out = append(out, cfg.Errorf("tls.cert_file", certErr))
		}
		_, keyErr := os.Stat(cfg.TLS.KeyFile)
		if keyErr != nil {
			out = append(out, cfg.Errorf("tls.key_file", keyErr))
		}
		if certErr != nil || keyErr != nil {
			break
		}
		if _, err := loadKeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile); err != nil {
			out = append(out, cfg.Errorf("tls.cert_file",
				fmt.Errorf("loading certificate: %w", err)))
		}
	case "acme":
		if cfg.TLS.CARoot != "" {
			if _, err := readCARoot(cfg.TLS.CARoot); err != nil {
				out = append(out, cfg.Errorf("tls.ca_root", err))
			}
		}
	}
	return out
}

// checkHandler builds a handler for cfg as a reload would, on a memory store and with a
// scratch state directory, so that everything the handler reads is checked and nothing
// is written where the gateway keeps its state.
func checkHandler(cfg *config.Config) error {
	scratch, err := os.MkdirTemp("", "gateway-check-")
	if err != nil {
		return fmt.Errorf("checking config: %w", err)
	}
	defer os.RemoveAll(scratch)
	// the scratch folder is no place of the real one's files: judged apart
	if err := proxy.PrivateBrandFile(cfg, cfg.StateDir); err != nil {
		return err
	}
	c := *cfg
	c.StateDir = scratch
	if len(c.Session.Secrets) == 0 {
		// the gateway would generate one; any valid secret checks the rest
		c.Session.Secrets = []string{rand.Text() + rand.Text()}
	}
	discard := slog.New(slog.DiscardHandler)
	users, err := authn.OpenFileStore(c.Users.File, discard)
	if err != nil {
		return usersError(cfg, err)
	}
	_, err = handlerFor(&c, discard, proxy.NewMetrics(newRegistry()), session.NewMemory(),
		users)
	return err
}

// usersError names the config key behind a users file that cannot be opened; a problem
// inside the file already names its own file, line and key.
func usersError(cfg *config.Config, err error) error {
	var fe *authn.FileError
	if errors.As(err, &fe) {
		return cfg.Hide(err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w; make it, with a first user, by gateway passwd -config %s "+
			"-add NAME", err, cfg.File)
	}
	return cfg.Errorf("users.file", err)
}

// Run serves the gateway until ctx ends, then lets in-flight requests finish. It returns
// nil after a clean shutdown, or the error that stopped it.
func Run(ctx context.Context, o Options) error {
	hup, stopHangups := hangups()
	defer stopHangups()
	cfg, err := config.LoadAll(o.ConfigPath)
	if err != nil {
		return err
	}
	lg := o.Logger
	if lg == nil {
		w := o.Stderr
		if w == nil {
			w = os.Stderr
		}
		lg = NewLogger(w, cfg.Log)
	}
	defer FlushLog(lg)
	prev := log.Writer()
	log.SetOutput(stdLog{lg})
	defer log.SetOutput(prev)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if errs := openToAnyone(cfg); len(errs) > 0 {
		return errors.Join(errs...)
	}
	// A users file that cannot be read stops the start before state_dir is made or
	// locked, so that its problem is the one named.
	if _, err := authn.ReadUsersFile(cfg.Users.File); err != nil {
		return usersError(cfg, err)
	}
	// from here on the gateway uses the folder state_dir led to when it was judged,
	// following no link again (and a reload keeps it, see gateway.stateDirAs)
	stateDirAs := cfg.StateDir
	real, err := prepareStateDir(cfg.StateDir)
	if err != nil {
		return cfg.Errorf("state_dir", err)
	}
	cfg.StateDir = real
	lock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return cfg.Errorf("state_dir", err)
	}
	defer lock.Close()

	// The store and what watches files live until Run returns, past the end of ctx:
	// requests in flight during the drain still read and write sessions.
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	reg := newRegistry()
	g, err := openGateway(life, cfg, lg, proxy.NewMetrics(reg))
	if err != nil {
		return err
	}
	g.stateDirAs = stateDirAs
	if c, ok := g.store.(session.Counter); ok {
		reg.MustRegister(proxy.NewLiveSessions(c, proxy.LiveSessionsOptions{
			MaxAge: sessionsCountMaxAge, Margin: session.ExpiryGrace, Logger: lg}))
	}
	reloadOnHangup(ctx, g, hup)
	go g.watchConfig(configPollInterval)
	// sessions of users removed, disabled or given a new password while it was stopped
	// (a memory store starts empty: there is nothing to check)
	if cfg.Session.Store != "memory" {
		go func() {
			// a pass that failed to the end has said so
			if ended, ok := g.endSessions(""); ok {
				lg.Info("stored sessions checked", "ended", ended)
			}
		}()
	}

	// The control socket lets the gateway command list and revoke sessions in this
	// process, whose store (memory, or a locked file) it could not open itself.
	// A second gateway on the same state_dir would share its generated secret and its
	// store file, and the command could not tell the two apart: refuse to start. It is
	// made before any listener, so that a state_dir the gateway cannot write stops the
	// start before anything is said to serve.
	cln, err := listenControl(cfg.StateDir)
	if err != nil {
		return err
	}
	defer cln.Close() // which removes the socket file too
	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return cfg.Errorf("listen", fmt.Errorf("listening on %s: %w", cfg.Listen, err))
		}
	}
	// With TLS, a plain-HTTP listener answers ACME challenges and redirects to HTTPS. It
	// is bound before certificates are managed: certmagic's solver binds the HTTP-01 port
	// itself, on every interface, when it finds it free, and the gateway would then fail
	// to listen on it.
	var hln net.Listener
	if cfg.HTTPListen != "" && cfg.TLS.Mode != "off" {
		if hln, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			ln.Close()
			return cfg.Errorf("http_listen", fmt.Errorf("listening on %s: %w",
				cfg.HTTPListen, err))
		}
	}
	// each client holds at most limits.client_connections of the gateway's connections,
	// on both listeners together
	limiter := g.limitConns(cfg, newRefusals(lg, reg))
	ln = limiter.Listener(ln)
	if hln != nil {
		hln = limiter.Listener(hln)
	}
	closeListeners := func() {
		ln.Close()
		if hln != nil {
			hln.Close()
		}
	}
	// the admin listener is opened after the gateway's own, so that a port already taken
	// there is reported before the admin listener is logged as started
	if cfg.Admin.Listen != "" {
		stop, err := serveAdmin(cfg.Admin.Listen, adminHandler(reg, g, cfg.Admin.Pprof), lg)
		if err != nil {
			closeListeners()
			return cfg.Errorf("admin.listen", fmt.Errorf("listening on %s: %w",
				cfg.Admin.Listen, err))
		}
		defer stop()
	}

	var handler http.Handler = g
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	certStore, closeCerts, err := certStorage(cfg)
	if err != nil {
		closeListeners()
		return err
	}
	defer closeCerts()
	ts, err := setupTLS(ctx, cfg, lg, certStore, port)
	if err != nil {
		closeListeners()
		return err
	}
	if ts != nil && *cfg.TLS.HSTS {
		handler = hsts(g)
	}
	if ts != nil {
		g.tlsReady.Store(&ts.ready)
	}
	srv := &http.Server{
		// HTTP/2 carries many requests on a connection: they count too
		Handler:           limiter.Handler(handler),
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		// OPTIONS * too goes to the gateway, which answers it as it answers any other
		// request: Go's own answer would keep an HTTP/1.0 connection open
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     log.New(serverLog{lg}, "", 0),
	}
	errc := make(chan error, 2)
	if ts == nil {
		go func() { errc <- srv.Serve(ln) }()
	} else {
		srv.TLSConfig = ts.config
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	}

	if hln != nil {
		plain := &http.Server{Handler: ts.http, ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
			IdleTimeout: cfg.Timeouts.Idle, ErrorLog: log.New(serverLog{lg}, "", 0),
			DisableGeneralOptionsHandler: true}
		go plain.Serve(hln)
		defer plain.Close()
	}

	ctl := &http.Server{Handler: controlHandler(adminSessions{g}, cfg.File, lg, g.rereadUsers),
		ReadHeaderTimeout: 10 * time.Second}
	go ctl.Serve(cln)
	defer func() {
		ctl.Close()
		os.Remove(cln.Addr().String())
	}()
	httpListen := ""
	if hln != nil {
		httpListen = hln.Addr().String()
	}
	lg.Info("gateway started", "listen", ln.Addr().String(), "http_listen", httpListen,
		"tls", cfg.TLS.Mode, "config", cfg.File, "routes", len(cfg.Routes))
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = g.shutdownTimeout() // a reload may have changed it
	}
	sctx, scancel := context.WithTimeout(context.Background(), timeout)
	defer scancel()
	lg.Info("gateway stopping", "deadline", timeout.String())
	err = srv.Shutdown(sctx)
	if err == nil {
		// The server does not wait for connections it handed over (websockets): they
		// are in flight too, and get the same deadline.
		err = g.drained(sctx)
	}
	if err != nil {
		// Past the deadline what is still in flight is cut, not left to run on: the
		// deadline did its work, and the stop is no failure. The requests cut are given
		// a moment to end and be recorded, as a client gone (499).
		cut := g.inFlight.Load()
		g.handler().CutInFlight()
		srv.Close()
		lg.Warn("requests still in flight at the shutdown deadline were cut",
			"deadline", timeout.String(), "requests", cut)
		g.settle(time.Second)
		lg.Info("gateway stopped")
		return nil
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	lg.Info("gateway stopped")
	return nil
}

// Build prepares the gateway's handler for cfg: users (watched for changes until ctx
// ends), session keys and store (closed when ctx ends). Tests use it to drive the real
// handler in-process.
func Build(ctx context.Context, cfg *config.Config, lg *slog.Logger) (*proxy.Handler, error) {
	return build(ctx, cfg, lg, nil)
}

func build(ctx context.Context, cfg *config.Config, lg *slog.Logger, m *proxy.Metrics) (
	*proxy.Handler, error) {
	g, err := openGateway(ctx, cfg, lg, m)
	if err != nil {
		return nil, err
	}
	return g.handler(), nil
}

// openGateway opens cfg's store, closed when ctx ends, and builds the first handler.
func openGateway(ctx context.Context, cfg *config.Config, lg *slog.Logger,
	m *proxy.Metrics) (*gateway, error) {
	store, closeStore, err := openStore(cfg, lg)
	if err != nil {
		return nil, err
	}
	g, err := newGateway(ctx, cfg, lg, m, store)
	if err != nil {
		closeStore()
		return nil, err
	}
	context.AfterFunc(ctx, func() { closeStore() })
	return g, nil
}

// certStorage returns where certmagic keeps certificates: nil for its file storage
// under state_dir, or the session store's Redis, shared by every gateway on it, so that
// they obtain one certificate between them and never order it twice.
func certStorage(cfg *config.Config) (certmagic.Storage, func() error, error) {
	if cfg.TLS.Mode != "acme" || cfg.TLS.Storage != "redis" {
		return nil, func() error { return nil }, nil
	}
	st, err := redisstore.New(cfg.Session.Redis)
	if err != nil {
		return nil, nil, cfg.Errorf("session.redis", err)
	}
	return tlsstore.New(st.Client(), cfg.Session.Redis.KeyPrefix+"tls:"), st.Close, nil
}

// NewLogger returns a logger writing c's format at c's level to w, and audit records
// ([proxy.LevelAudit]) at every level. Access records (the
// first attribute log=access) are buffered for up to accessFlushDelay; every other
// record is written at once, after any access records before it. FlushLog writes out
// what is buffered.
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	switch c.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{
		// the handlers see only what splitHandler.Enabled let through
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey && len(groups) == 0 &&
				a.Value.Any() == any(proxy.LevelAudit) {
				return slog.String(slog.LevelKey, "AUDIT")
			}
			return a
		},
	}
	handler := func(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
		if c.Format == "json" {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	// Access records are never audit records: their handler has no ReplaceAttr, which
	// slog would call for each of their attributes, on every request.
	access := &slog.HandlerOptions{Level: opts.Level}
	sink := newLogSink(w)
	return slog.New(&splitHandler{access: handler(sink.buffered(), access),
		rest: handler(sink.direct(), opts), sink: sink, level: level})
}

// serverLog routes the http.Server's own log lines to slog.
type serverLog struct{ lg *slog.Logger }

// stdLog carries into the gateway's log what the standard library writes to its
// default logger. Go's HTTP transport does, when an upstream sends bytes no request
// asked for, and quotes them: they may be an answer meant for another user, cookies and
// all, so the record tells of them without them.
type stdLog struct{ lg *slog.Logger }

func (s stdLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "Unsolicited response received on idle HTTP channel") {
		s.lg.Warn("upstream sent bytes no request asked for; its connection is closed")
	} else {
		s.lg.Warn("go", "message", msg)
	}
	return len(p), nil
}

func (d serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	// A recovered panic is a bug to fix; TLS handshake noise and the like are not.
	if strings.Contains(msg, "panic") {
		d.lg.Error("http server", "message", msg)
	} else {
		d.lg.Debug("http server", "message", msg)
	}
	return len(p), nil
}
