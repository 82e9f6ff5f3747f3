package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/boltstore"
	"github.com/frontgate/gateway/authn/session/redisstore"
	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/authn/throttle/redistally"
	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/authn/totp/redisledger"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/config/watch"
	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/assertion"
	"github.com/frontgate/gateway/proxy/connlimit"
)

// gateway is a running gateway whose handler can be replaced by a reloaded config. The
// session store, listeners and metrics stay; routes, rules, users, secrets and the rest
// take effect at once.
type gateway struct {
	ctx     context.Context
	lg      *slog.Logger
	metrics *proxy.Metrics
	store   session.Store

	file string // the config file; it never changes

	mu      sync.Mutex     // serialises reloads, and guards cfg, users and stopWatch
	cfg     *config.Config // the config served now
	started *config.Config // the config the listeners and the store were made from
	// stateDirAs is state_dir as the config names it; started names the folder it led
	// to at start, which a reload of the same config keeps
	stateDirAs  string
	users       *authn.FileStore
	stopWatch   context.CancelFunc
	cur         atomic.Pointer[proxy.Handler]
	stampConfig string // the config file as last read; guarded by mu

	// change follows the config file while it differs from the version in use;
	// unreadable is why the file could not be read, while it cannot. Only the watcher
	// touches them.
	change     watch.Change
	unreadable string

	// inFlight counts the requests being served, open websockets among them
	inFlight atomic.Int64

	// tlsReady, once TLS is set up, tells whether HTTPS has a certificate to serve
	tlsReady atomic.Pointer[func() error]

	// shutdown is timeouts.shutdown of the config served now, read without mu: a stop
	// must not wait for a reload that is slow or stuck
	shutdown atomic.Int64

	ending sync.Mutex // held by a pass of endSessions

	// what limits each client's connections to the gateway's listeners, given the
	// limit of each config served; guarded by mu
	limiter *connlimit.Limiter
}

// ServeHTTP implements http.Handler with the current handler.
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	g.cur.Load().ServeHTTP(w, r)
}

// settle waits, at most for limit, until no request is being served: requests cut at
// the shutdown deadline end, and write their access records, before the process does.
func (g *gateway) settle(limit time.Duration) {
	for end := time.Now().Add(limit); g.inFlight.Load() > 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
}

// drained waits until no request is in flight, websockets included, or ctx ends, and
// returns ctx's error then.
func (g *gateway) drained(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for g.inFlight.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// handler returns the current handler.
func (g *gateway) handler() *proxy.Handler { return g.cur.Load() }

// newGateway builds the first handler for cfg on store.
func newGateway(ctx context.Context, cfg *config.Config, lg *slog.Logger,
	m *proxy.Metrics, store session.Store) (*gateway, error) {
	g := &gateway{ctx: ctx, lg: lg, metrics: m, store: store, file: cfg.File}
	h, err := g.build(cfg)
	if err != nil {
		return nil, err
	}
	g.cfg, g.started = cfg, cfg
	g.shutdown.Store(int64(cfg.Timeouts.Shutdown))
	g.stampConfig, _ = stampFiles(cfg.File)
	g.cur.Store(h)
	logWarnings(lg, cfg, g.users.Users())
	return g, nil
}

// build makes a handler for cfg, reusing the users store when the file is the same.
func (g *gateway) build(cfg *config.Config) (*proxy.Handler, error) {
	users := g.users
	var cancel context.CancelFunc
	if users == nil || g.cfg == nil || g.cfg.Users.File != cfg.Users.File {
		var err error
		if users, err = authn.OpenFileStore(cfg.Users.File, g.lg); err != nil {
			return nil, usersError(cfg, err)
		}
		// it was judged with the config; what anyone came to be able to write since is
		// not read
		users.Refuse(func(path string) error {
			if err := WritableByAnyone(path); err != nil {
				return fmt.Errorf("anyone could add themselves as a user: %w", err)
			}
			return nil
		})
		users.OnChange(func(names []string) {
			for _, name := range names {
				g.endSessions(name)
			}
		})
		// a rule may name a user or group that the new version adds or takes away
		users.OnReload(func() {
			g.mu.Lock()
			cur := g.cfg
			g.mu.Unlock()
			if cur != nil && cur.Users.File == users.Path() {
				logUserWarnings(g.lg, cur, users.Users())
			}
		})
		var wctx context.Context
		wctx, cancel = context.WithCancel(g.ctx)
		go users.Watch(wctx, usersPollInterval)
	}
	h, err := handlerFor(cfg, g.lg, g.metrics, g.store, users)
	if err != nil {
		if cancel != nil {
			cancel()
		}
		return nil, err
	}
	if cancel != nil {
		if g.stopWatch != nil {
			g.stopWatch()
		}
		g.users, g.stopWatch = users, cancel
	}
	return h, nil
}

// rereadUsers reads the users file at once, for reason, and logs what came of it. The
// sessions of users whose password changed, or who were disabled or removed, are ended
// before it returns.
func (g *gateway) rereadUsers(reason string) error {
	h := g.handler()
	if err := h.ReloadUsers(); err != nil {
		g.lg.Error("users file rejected, keeping the last good version", "reason", reason,
			"error", err)
		return err
	}
	users := h.Users()
	g.lg.Info("users file reloaded", "reason", reason, "file", users.Path(),
		"users", users.Len())
	return nil
}

// endSessions deletes the sessions of user, or of everyone when user is empty, that no
// longer sign their user in, and returns how many it ended, with ok false when it could
// not finish. A failure is logged and costs nothing but the cleanup: a request with such
// a session is refused whatever the store holds.
func (g *gateway) endSessions(user string) (ended int, ok bool) {
	// one pass at a time: two at once would both end, and record, the same sessions
	g.ending.Lock()
	defer g.ending.Unlock()
	who := user
	if who == "" {
		who = "(every user)"
	}
	// a store that fails is tried again, a few times, so that what a change ended does
	// not stay in it, to come back with a later change
	for wait := endRetry; ; wait *= 2 {
		if g.ctx.Err() != nil {
			return 0, false
		}
		n, err := g.handler().EndSessions(g.ctx, user)
		if err == nil {
			return n, true
		}
		if wait > 8*endRetry {
			g.lg.Error("ending sessions that no longer sign their users in failed; they "+
				"are refused all the same", "user", who, "error", err)
			return n, false
		}
		g.lg.Warn("ending sessions that no longer sign their users in failed; trying "+
			"again", "user", who, "error", err, "in", wait.String())
		select {
		case <-g.ctx.Done():
			return 0, false
		case <-time.After(wait):
		}
	}
}

// endRetry is how long endSessions waits before it tries a failed pass again, doubled
// for each next try.
var endRetry = 5 * time.Second

// sendsAssertions reports whether a route of cfg sends signed assertions.
func sendsAssertions(cfg *config.Config) bool {
	return slices.ContainsFunc(cfg.Routes, func(r config.Route) bool { return r.Assertion })
}

// handlerFor assembles a handler for cfg from a store and users that already exist.
func handlerFor(cfg *config.Config, lg *slog.Logger, m *proxy.Metrics,
	store session.Store, users *authn.FileStore) (*proxy.Handler, error) {
	mgr, err := managerFor(cfg, lg, store)
	if err != nil {
		return nil, err
	}
	var signer *assertion.Signer
	if sendsAssertions(cfg) {
		if signer, err = assertion.Open(cfg.Assertion.KeyFile, cfg.StateDir); err != nil {
			key := "assertion.key_file"
			if cfg.Assertion.KeyFile == "" {
				key = "state_dir" // where the key was generated
			}
			return nil, cfg.Errorf(key, err)
		}
	}
	// The record of one-time codes, and the counts of failed sign-ins, live beside the
	// sessions: in Redis, gateways that share sessions share them; in bolt, they outlast
	// a restart.
	var codes totp.Ledger
	var tally throttle.Tally
	switch st := store.(type) {
	case *redisstore.Store:
		// their scripts count: a retry after a timeout could count twice
		codes = redisledger.New(st.OnceClient(), cfg.Session.Redis.KeyPrefix+"totp:")
		tally = redistally.New(st.OnceClient(), cfg.Session.Redis.KeyPrefix)
	case *boltstore.Store:
		codes, tally = st.Codes(), st.Tally()
	}
	return proxy.New(proxy.Options{
		Config:     cfg,
		Auth:       authn.NewAuthenticator(users, 0),
		Sessions:   mgr,
		Logger:     lg,
		Codes:      codes,
		Tally:      tally,
		Assertions: signer,
		Metrics:    m,
	})
}

// keepStarted sets in cur the settings that a reload cannot change back to their values
// in started, the config the gateway was started with, and returns the keys that differed.
// Those settings belong to listeners, the store or files opened once; a handler built
// from a new value of one (a new state_dir, say, with a new generated secret) would not
// match what is running.
func keepStarted(started, cur *config.Config) []string {
	var keys []string
	keep := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			keys = append(keys, key)
		}
	}
	keep("listen", started.Listen, cur.Listen)
	keep("http_listen", started.HTTPListen, cur.HTTPListen)
	keep("tls", started.TLS, cur.TLS)
	keep("state_dir", started.StateDir, cur.StateDir)
	keep("session.store", started.Session.Store, cur.Session.Store)
	keep("session.redis", started.Session.Redis, cur.Session.Redis)
	keep("admin", started.Admin, cur.Admin)
	keep("timeouts.read_header", started.Timeouts.ReadHeader, cur.Timeouts.ReadHeader)
	keep("timeouts.idle", started.Timeouts.Idle, cur.Timeouts.Idle)
	keep("log", started.Log, cur.Log)
	cur.Listen, cur.HTTPListen, cur.TLS = started.Listen, started.HTTPListen, started.TLS
	cur.StateDir, cur.Admin, cur.Log = started.StateDir, started.Admin, started.Log
	cur.Session.Store, cur.Session.Redis = started.Session.Store, started.Session.Redis
	cur.Timeouts.ReadHeader = started.Timeouts.ReadHeader
	cur.Timeouts.Idle = started.Timeouts.Idle
	return keys
}

// shutdownTimeout returns timeouts.shutdown of the config served now.
func (g *gateway) shutdownTimeout() time.Duration {
	return time.Duration(g.shutdown.Load())
}

// reload loads the config file again and, if it is valid, serves with it. A config that
// does not load is logged with its file, line and key, and the old one keeps serving.
func (g *gateway) reload(reason string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// what is read now is what the file watcher need not read again
	if stamp, err := stampFiles(g.file); err == nil {
		g.stampConfig = stamp
	}
	cfg, err := config.LoadAll(g.file)
	if err == nil {
		if errs := openToAnyone(cfg); len(errs) > 0 {
			err = errors.Join(errs...)
		}
	}
	if err != nil {
		// a record for each problem, as check prints a line for each
		for _, e := range config.Problems(err) {
			g.lg.Error("config rejected, keeping the running one", "reason", reason,
				"error", e)
		}
		return err
	}
	if cfg.StateDir == g.stateDirAs {
		cfg.StateDir = g.started.StateDir
	}
	keys := keepStarted(g.started, cfg)
	h, err := g.build(cfg)
	if err != nil {
		g.lg.Error("config rejected, keeping the running one", "reason", reason,
			"error", err)
		return err
	}
	if len(keys) > 0 {
		g.lg.Warn("config changes that need a restart were not applied", "keys", keys)
	}
	h.Inherit(g.cur.Load())
	old := g.cfg
	if err := h.Sessions().Retire(removedSecrets(old, cfg)); err != nil {
		g.lg.Error("keeping the removed session secrets failed", "error", err)
	}
	g.cfg = cfg
	g.shutdown.Store(int64(cfg.Timeouts.Shutdown))
	g.cur.Swap(h).Supersede(h)
	if g.limiter != nil {
		g.limiter.SetPolicy(connPolicy(cfg))
	}
	logWarnings(g.lg, cfg, g.users.Users())
	attrs := []any{"reason", reason, "file", cfg.File, "changed", changedKeys(old, cfg)}
	if len(keys) > 0 {
		// so that the record alone says why a change made is not among those applied
		attrs = append(attrs, "not_applied", keys)
	}
	g.lg.Info("config reloaded", attrs...)
	// Sessions sealed only under a secret that was removed can never be used again,
	// those past a lifetime or idle timeout shortened now have ended, and so have those
	// of users another users file does not hold, or holds with another password: all go
	// from the store at once, so that no later change brings them back.
	o, n := old.Session, cfg.Session
	if old.Users.File != cfg.Users.File ||
		!slices.Equal(o.Secrets, n.Secrets) || o.Lifetime != n.Lifetime ||
		o.IdleTimeout != n.IdleTimeout || o.RememberFor != n.RememberFor ||
		*o.RememberMe != *n.RememberMe {
		go g.endSessions("")
	}
	// The sessions alive now but stored for the longer limits pass the shorter ones
	// later: all of them by the time one of the new limits has gone by, unless used
	// meanwhile, which stores them for the new limits. They are ended then.
	if n.IdleTimeout < o.IdleTimeout || n.Lifetime < o.Lifetime ||
		n.RememberFor < o.RememberFor || *o.RememberMe && !*n.RememberMe {
		limits := []time.Duration{n.IdleTimeout, n.Lifetime, n.RememberFor}
		slices.Sort(limits)
		for _, d := range slices.Compact(limits) {
			time.AfterFunc(d+time.Second, func() { g.endSessions("") })
		}
	}
	return nil
}

// watchConfig reloads when the config file changes, checking every interval.
func (g *gateway) watchConfig(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
		}
		g.checkConfig()
	}
}

// checkConfig reloads the config if its file changed since it was last read, and has
// held still since the check before (a file caught half written is not taken for the
// new version) or, changing at every check, has changed for long enough and then holds
// still a moment. A file that cannot be read is logged once for as long as it cannot.
func (g *gateway) checkConfig() {
	stamp, err := stampFiles(g.file)
	if err != nil {
		if err.Error() != g.unreadable {
			g.unreadable = err.Error()
			g.lg.Error("config file unreadable, keeping the running config", "error", err)
		}
		return
	}
	if g.unreadable != "" {
		g.unreadable = ""
		g.lg.Info("config file readable again", "file", g.file)
	}
	g.mu.Lock()
	same := stamp == g.stampConfig
	g.mu.Unlock()
	if same {
		g.change.Same()
		return
	}
	look := func() (string, time.Time, error) {
		again, err := stampFiles(g.file)
		return again, authn.ChangeTime(g.file), err
	}
	if g.change.Ready(stamp, authn.ChangeTime(g.file), look) {
		g.reload("file changed")
	}
}

// removedSecrets returns the session secrets of old that cur no longer has.
func removedSecrets(old, cur *config.Config) [][]byte {
	var out [][]byte
	for _, s := range old.Session.Secrets {
		if !slices.Contains(cur.Session.Secrets, s) {
			out = append(out, []byte(s))
		}
	}
	return out
}
