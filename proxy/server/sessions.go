package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/boltstore"
	"github.com/frontgate/gateway/authn/session/redisstore"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
)

// ErrNoGateway means no gateway is running for a config whose sessions live only inside
// the gateway (the memory store), so there is nothing to list or revoke.
var ErrNoGateway = errors.New("no gateway is running with this config, and its memory " +
	"store keeps sessions only inside a running gateway")

// ListSessions returns the live sessions of user (everyone's when user is empty): from
// the running gateway through its control socket, or, when none runs, straight from the
// store. With no gateway running, what the store reports while it is read (a record that
// does not decode, and is deleted) is written to log in the config's log format (nil
// discards it).
func ListSessions(ctx context.Context, cfg *config.Config, user string,
	log io.Writer) ([]SessionInfo, error) {
	c, err := controlClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if c != nil {
		var out []SessionInfo
		err := control(ctx, c, http.MethodGet, "/sessions", url.Values{"user": {user}}, &out)
		return out, err
	}
	a, done, err := directAdmin(cfg, log)
	if err != nil {
		return nil, err
	}
	defer done()
	list, err := a.List(ctx, user)
	if err != nil {
		return nil, err
	}
	return infos(list), nil
}

// RevokeSessions ends every session of user, or the one session whose listed id is id,
// and returns how many ended. Like ListSessions it works with or without a running
// gateway. The revoke is an audit record: in the running gateway's log, or, with none
// running, written to log in the config's log format (nil discards it), with what the
// store reports while it is used.
func RevokeSessions(ctx context.Context, cfg *config.Config, user, id string,
	log io.Writer) (int, error) {
	if (user == "") == (id == "") {
		return 0, errors.New("give either a user or a session id")
	}
	c, err := controlClient(ctx, cfg)
	if err != nil {
		return 0, err
	}
	if c != nil {
		var out struct{ Revoked int }
		err := control(ctx, c, http.MethodPost, "/revoke",
			url.Values{"user": {user}, "id": {id}}, &out)
		return out.Revoked, err
	}
	a, done, err := directAdmin(cfg, log)
	if err != nil {
		return 0, err
	}
	defer done()
	r, err := revoke(ctx, a, user, id)
	if err != nil {
		return r.n, err
	}
	lg := cliLogger(cfg, log)
	auditRevoke(lg, r)
	FlushLog(lg)
	return r.n, nil
}

// RereadUsers asks the gateway running with cfg, if one does, to read its users file at
// once, ending the sessions of users whose password changed or who were disabled or
// removed, and reports whether one did. A gateway that refused the file keeps the last
// good version, and the error says why.
func RereadUsers(ctx context.Context, cfg *config.Config) (bool, error) {
	c, err := controlClient(ctx, cfg)
	if err != nil || c == nil {
		return false, err
	}
	var out struct{ Read bool }
	if err := control(ctx, c, http.MethodPost, "/users/reread", nil, &out); err != nil {
		return false, err
	}
	return out.Read, nil
}

// auditRevoke writes the audit record of a revoke. One of a single session names it by
// its listed id, as the records of its sign-in and requests do.
func auditRevoke(lg *slog.Logger, done revoked) {
	attrs := []any{"log", "audit", "user", done.user}
	if done.listed != "" {
		attrs = append(attrs, "session", done.listed)
	}
	attrs = append(attrs, "count", done.n, "reason", "revoke")
	lg.Log(context.Background(), proxy.LevelAudit, "sessions revoked", attrs...)
}

// cliLogger is the logger of a command that uses the store without a gateway: it writes
// audit records, warnings and errors to log in cfg's log format, or nowhere when log is
// nil. What a starting gateway notes at info level is not news to the command's user.
func cliLogger(cfg *config.Config, log io.Writer) *slog.Logger {
	if log == nil {
		log = io.Discard
	}
	c := cfg.Log
	if c.Level != "error" {
		c.Level = "warn"
	}
	return NewLogger(log, c)
}

// directAdmin opens cfg's store itself, for when no gateway runs. The store logs to log
// (see cliLogger), so that a record it deletes as it reads is not deleted unsaid.
func directAdmin(cfg *config.Config, log io.Writer) (sessionAdmin, func(), error) {
	if cfg.Session.Store == "memory" {
		return nil, nil, ErrNoGateway
	}
	if err := cfg.Partial(); err != nil {
		return nil, nil, fmt.Errorf("no gateway answers at state_dir %s, and opening its "+
			"store needs the whole config: %w", cfg.StateDir, err)
	}
	// A store file that is not there was never a gateway's: opening it would make an
	// empty one, and report on it, while the gateway runs with another state_dir (one
	// changed in the config, waiting for a restart).
	if cfg.Session.Store == "bolt" {
		path := filepath.Join(cfg.StateDir, boltFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no gateway answers at state_dir %s, and it holds "+
				"no session store (%s): no gateway has run with it; one that runs with "+
				"another state_dir is reached with the config it started with",
				cfg.StateDir, boltFile)
		}
	}
	lg := cliLogger(cfg, log)
	mgr, closeStore, err := newSessions(cfg, lg)
	if err != nil {
		return nil, nil, err
	}
	return mgr, func() {
		closeStore()
		FlushLog(lg)
	}, nil
}

func control(ctx context.Context, c *http.Client, method, path string, q url.Values,
	out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://gateway"+path+"?"+q.Encode(),
		nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("asking the running gateway: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("asking the running gateway: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the running gateway says: %s", bytesTrim(body))
	}
	return json.Unmarshal(body, out)
}

func bytesTrim(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}

// newSessions opens cfg's session store and returns a Manager over it, and a function
// that closes the store.
func newSessions(cfg *config.Config, lg *slog.Logger) (*session.Manager, func() error,
	error) {
	store, closeStore, err := openStore(cfg, lg)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := managerFor(cfg, lg, store)
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return mgr, closeStore, nil
}

// managerFor returns a Manager over store with cfg's secrets and timeouts.
func managerFor(cfg *config.Config, lg *slog.Logger, store session.Store) (*session.Manager,
	error) {
	secrets, err := loadSecrets(cfg, lg)
	if err != nil {
		return nil, err
	}
	keys, err := session.DeriveKeys(secrets)
	if err != nil {
		return nil, fmt.Errorf("session secrets: %w", err)
	}
	return session.NewManager(session.Options{
		Store:       store,
		Keys:        keys,
		IdleTimeout: cfg.Session.IdleTimeout,
		Lifetime:    cfg.Session.Lifetime,
		RememberFor: cfg.Session.RememberFor,
		RememberOff: !*cfg.Session.RememberMe,
		// gateways share a Redis, and change their secrets one at a time
		Shared: cfg.Session.Store == "redis",
	})
}

// boltFile is the name, under state_dir, of the embedded session store.
const boltFile = "sessions.db"

// openStore opens the session store cfg names, after checking state_dir.
func openStore(cfg *config.Config, lg *slog.Logger) (session.Store, func() error, error) {
	if err := checkStateDir(cfg.StateDir); err != nil {
		return nil, nil, cfg.Errorf("state_dir", err)
	}
	if err := checkStateDirFiles(cfg.StateDir); err != nil {
		return nil, nil, cfg.Errorf("state_dir", err)
	}
	// a session the store drops once its time ran out, with no request to notice it
	expired := func(user string) {
		lg.Log(context.Background(), proxy.LevelAudit, "session ended",
			"log", "audit", "user", user, "reason", "expired")
	}
	switch cfg.Session.Store {
	case "memory":
		st := session.NewMemory()
		st.Expired = expired
		return st, func() error { return nil }, nil
	case "bolt":
		path := filepath.Join(cfg.StateDir, boltFile)
		_, err := os.Lstat(path)
		created := errors.Is(err, fs.ErrNotExist)
		st, err := boltstore.Open(path, boltstore.Options{Logger: lg, Expired: expired})
		if err != nil {
			return nil, nil, err
		}
		if created {
			// on a first start, as expected; on a later one, the file was removed or
			// state_dir moved, and every session made before is gone
			lg.Info("session store file created, empty: any session signed in before "+
				"is unknown to it", "file", path)
		}
		return st, st.Close, nil
	case "redis":
		redisstore.SetLogger(lg)
		st, err := redisstore.New(cfg.Session.Redis)
		if err != nil {
			return nil, nil, cfg.Errorf("session.redis", err)
		}
		// A Redis that is down at start is not fatal: requests fail closed until it is
		// back, as they do when it goes away later.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			attrs := []any{"store", "redis", "error", err}
			if cfg.Session.Redis.TLS && errors.Is(err, context.DeadlineExceeded) {
				// a plain Redis never answers the TLS handshake: the wait is all one sees
				attrs = append(attrs, "hint", "session.redis.tls is on: check that the "+
					"server speaks TLS")
			}
			lg.Error("session store unavailable", attrs...)
		} else if p, err := st.EvictionPolicy(ctx); err != nil {
			lg.Debug("redis eviction policy unknown", "error", err)
		} else if p != "noeviction" {
			lg.Warn("redis may evict sessions, signing their users out early",
				"maxmemory_policy", p, "fix", "set maxmemory-policy noeviction")
		}
		stop := st.StartSweeper(redisstore.SweepInterval, expired, lg)
		return st, func() error { stop(); return st.Close() }, nil
	}
	return nil, nil, fmt.Errorf("session store %q is not available", cfg.Session.Store)
}
