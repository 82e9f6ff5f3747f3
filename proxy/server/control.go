package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/config"
)

// controlSocket is the name, under state_dir, of the unix socket through which the
// gateway command talks to a running gateway. Only the gateway's own user can use it.
const controlSocket = "control.sock"

// SessionInfo describes one session for listings. It never holds the session id: ID is
// the start of the digest the store keys the session by, enough to revoke it by, useless
// to sign in with.
type SessionInfo struct {
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	Expires  time.Time `json:"expires"`
	ClientIP string    `json:"client_ip"`
	Remember bool      `json:"remember"`
}

func infos(list []session.Entry) []SessionInfo {
	out := make([]SessionInfo, 0, len(list))
	for _, e := range list {
		s := e.Session
		id := e.Key
		if len(id) > session.ListedIDLength {
			id = id[:session.ListedIDLength]
		}
		out = append(out, SessionInfo{ID: id, User: s.User, Created: s.Created,
			LastSeen: s.LastSeen, Expires: s.Expires, ClientIP: s.ClientIP, Remember: s.Remember})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].User != out[j].User {
			return out[i].User < out[j].User
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out
}

// sessionAdmin lists and revokes sessions, in a running gateway or directly in a store.
type sessionAdmin interface {
	List(ctx context.Context, user string) ([]session.Entry, error)
	Revoke(ctx context.Context, user string) (int, error)
	RevokeKey(ctx context.Context, key string) error
}

// adminSessions is the session admin of whatever handler serves now.
type adminSessions struct{ g *gateway }

func (a adminSessions) List(ctx context.Context, user string) ([]session.Entry, error) {
	return a.g.handler().Sessions().List(ctx, user)
}

func (a adminSessions) Revoke(ctx context.Context, user string) (int, error) {
	return a.g.handler().Sessions().Revoke(ctx, user)
}

func (a adminSessions) RevokeKey(ctx context.Context, key string) error {
	return a.g.handler().Sessions().RevokeKey(ctx, key)
}

// revokeID ends the one session whose key starts with id, and returns its user and
// its id as listings show it.
func revokeID(ctx context.Context, a sessionAdmin, id string) (user, listed string,
	err error) {
	if len(id) < 8 {
		return "", "", errors.New("session id must be at least 8 characters")
	}
	list, err := a.List(ctx, "")
	if err != nil {
		return "", "", err
	}
	var match []session.Entry
	for _, e := range list {
		if strings.HasPrefix(e.Key, id) {
			match = append(match, e)
		}
	}
	switch len(match) {
	case 0:
		return "", "", fmt.Errorf("no session has an id starting with %s", id)
	case 1:
		k := match[0].Key
		return match[0].Session.User, k[:min(len(k), session.ListedIDLength)],
			a.RevokeKey(ctx, k)
	}
	return "", "", fmt.Errorf("session id %s matches %d sessions; give more of it", id,
		len(match))
}

// revoked is what a revoke ended: how many sessions of user, and, of a revoke by id,
// the one session's id as listings show it.
type revoked struct {
	user, listed string
	n            int
}

// revoke ends every session of user, or the one whose id starts with id, one of the two
// given.
func revoke(ctx context.Context, a sessionAdmin, user, id string) (revoked, error) {
	switch {
	case user != "" && id != "":
		return revoked{}, errors.New("give a user or an id, not both")
	case user != "":
		n, err := a.Revoke(ctx, user)
		return revoked{user: user, n: n}, err
	case id != "":
		user, listed, err := revokeID(ctx, a, id)
		if err != nil {
			return revoked{}, err
		}
		return revoked{user: user, listed: listed, n: 1}, nil
	}
	return revoked{}, errors.New("give a user or an id")
}

// controlHandler serves the control socket. rereadUsers reads the users file at once.
func controlHandler(a sessionAdmin, configFile string, lg *slog.Logger,
	rereadUsers func(reason string) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"config": configFile})
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		q, ok := controlQuery(w, r)
		if !ok {
			return
		}
		list, err := a.List(r.Context(), q.Get("user"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(infos(list))
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		q, ok := controlQuery(w, r)
		if !ok {
			return
		}
		done, err := revoke(r.Context(), a, q.Get("user"), q.Get("id"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		auditRevoke(lg, done)
		json.NewEncoder(w).Encode(map[string]int{"revoked": done.n})
	})
	mux.HandleFunc("POST /users/reread", func(w http.ResponseWriter, r *http.Request) {
		if err := rereadUsers("asked on the control socket"); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		json.NewEncoder(w).Encode(map[string]bool{"read": true})
	})
	return mux
}

// controlQuery returns r's query, or answers 400 when it does not parse whole: a
// parameter dropped for a bad escape would turn a listing of one user's sessions into
// one of everyone's.
func controlQuery(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, "malformed query: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return q, true
}

// listenControl opens the control socket under stateDir. A socket left by a gateway
// that is gone is replaced; one a running gateway answers on is left alone, and the
// error says so.
func listenControl(stateDir string) (net.Listener, error) {
	path := filepath.Join(stateDir, controlSocket)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another gateway is running with this "+
			"state_dir", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing stale control socket: %w", err)
	}
	// The socket is created with the process umask; tighten it before anyone can connect
	// by creating it inside a private umask window.
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("opening control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("opening control socket: %w", err)
	}
	return ln, nil
}

// controlClient returns an HTTP client speaking to the control socket of cfg's
// gateway, or nil when no gateway answers there. It fails when the gateway there runs
// another config file, so a command never acts on the wrong gateway.
func controlClient(ctx context.Context, cfg *config.Config) (*http.Client, error) {
	dir, err := checkStateDirPath(cfg.StateDir, false)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, controlSocket)
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, nil
	}
	err = checkControlPeer(c, dir)
	c.Close()
	if err != nil {
		return nil, err
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				c, err := d.DialContext(ctx, "unix", path)
				if err != nil {
					return nil, err
				}
				if err := checkControlPeer(c, dir); err != nil {
					c.Close()
					return nil, err
				}
				return c, nil
			},
		},
	}
	var info struct{ Config string }
	if err := control(ctx, client, http.MethodGet, "/info", nil, &info); err != nil {
		return nil, err
	}
	if info.Config != cfg.File {
		return nil, fmt.Errorf("the gateway running with state_dir %s uses %s, not %s",
			cfg.StateDir, info.Config, cfg.File)
	}
	return client, nil
}
