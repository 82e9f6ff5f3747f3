package proxy

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/config"
)

// tunnelCheck is how often an open websocket's sign-in is checked again, in handlers
// made from now on. A websocket
// outlives the request that opened it, and nothing it carries passes the gateway's
// checks, so without this a sign-out, a revoke, an expiry or a password change would
// leave it open for as long as the browser liked.
var tunnelCheck = 15 * time.Second

// watchTunnel checks at once, then every h.tunnelCheck until ctx ends, that what let r
// open its tunnel (what: a websocket, or a stream of an answer) still holds, and calls
// end when it does not, which closes it. A session in use is renewed as it would be by
// requests, since traffic on an open websocket or stream is use. path is the request's
// path as the rules read it; u is nil for a request without a sign-in, which a public
// path let through; values are the request's session cookie values, and none means u
// came with Basic credentials, and it is the password that must stay the same.
func (h *Handler) watchTunnel(ctx context.Context, end func(), what string,
	r *http.Request, path string, u *authn.User, values []string) {
	t := time.NewTicker(h.tunnelCheck)
	defer t.Stop()
	for {
		// after a reload, the users, sessions and rules that serve now decide
		reason, fresh := h.latest().tunnelEnded(ctx, r, path, u, values)
		if fresh != "" {
			values = []string{fresh}
		}
		if reason != "" {
			if ctx.Err() != nil {
				return // closed by itself meanwhile
			}
			if u == nil {
				h.log.Info(what+" closed", "reason", reason, "path", r.URL.EscapedPath(),
					"client_ip", h.clientIP(r).String())
			} else {
				h.audit(r, what+" closed", u.Name, reason)
			}
			end()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-h.cut.ch:
			h.log.Info(what+" closed", "reason", "cut at the shutdown deadline", "path",
				r.URL.EscapedPath(), "client_ip", h.clientIP(r).String())
			end()
			return
		case <-t.C:
		}
	}
}

// watchRequest starts, for a request, the check an open websocket gets: from
// h.tunnelCheck on, and until the request is answered, it is cut (st.end) once the
// sign-in behind it ends, or, without a sign-in, once its path needs one, which cancels
// the request to the upstream and so stops what it still sends and what it receives.
// Most requests are answered long before; the ones this is for last: uploads, answers
// the app holds back (long polls), streams (server-sent events) and long downloads,
// whatever length they announce. The caller stops the returned timer once the request
// is answered.
func (h *Handler) watchRequest(ctx context.Context, r *http.Request, st *state) *time.Timer {
	values := h.sessionValues(r, st)
	return time.AfterFunc(h.tunnelCheck, func() {
		h.watchTunnel(ctx, st.end, "request", r, st.dpath, st.user, values)
	})
}

// sessionValues returns the session cookie values r signed in with, or none when it came
// with Basic credentials or without a sign-in.
func (h *Handler) sessionValues(r *http.Request, st *state) []string {
	if st.basic || st.user == nil {
		return nil
	}
	return cookieValues(r, h.cookieName(r, session.CookieName))
}

// tunnelEnded returns why u may no longer use the tunnel r opened, or "" if u still may:
// as a new handshake would be, it is judged by the route's rule, with the user as the
// users file has them now. When the store cannot answer, the tunnel ends: it fails
// closed, as a request would. For a session that goes on it also returns a cookie value
// naming it under the newest secret, for the next check: the browser's own is re-issued
// so on its next request, which moves the session onto that secret, and the value the
// tunnel opened with stops working once its secret goes. The tunnel does not move the
// session itself: a session the browser has not used since the rotation has no cookie
// the browser holds once the old secret goes, and ends then, tunnel and all.
func (h *Handler) tunnelEnded(ctx context.Context, r *http.Request, path string,
	u *authn.User, values []string) (reason, fresh string) {
	if u == nil {
		return h.tunnelRefused(r, path, nil, false), ""
	}
	cur := h.auth.Users().Lookup(u.Name)
	if len(values) == 0 {
		// Basic credentials: the user and the password are all there is to check
		switch {
		case cur == nil:
			return "user removed", ""
		case cur.Disabled:
			return "user disabled", ""
		case cur.Binding() != u.Binding():
			return "password changed", ""
		}
		return h.tunnelRefused(r, path, cur, true), ""
	}
	s, err := h.sessions.Resolve(ctx, values)
	switch {
	case errors.Is(err, session.ErrNotFound):
		return "session ended", ""
	case err != nil:
		h.storeError("session store unavailable", err, u.Name)
		return "session store unavailable", ""
	case s.User != u.Name:
		return "session ended", ""
	}
	if reason := h.sessionEnded(s, cur); reason != "" {
		return reason, ""
	}
	if reason := h.tunnelRefused(r, path, cur, false); reason != "" {
		return reason, ""
	}
	if err := h.sessions.Renew(ctx, s); err != nil {
		if errors.Is(err, session.ErrNotFound) {
			return "session ended", ""
		}
		h.storeError("session store unavailable", err, u.Name)
		return "session store unavailable", ""
	}
	fresh, _ = h.sessions.CookieValue(s) // without one, the values it has serve on
	return "", fresh
}

// tunnelRefused returns why the rules h has now would refuse the request r, whose path
// the rules read as path, or "": to u, or without a sign-in when u is nil, and to
// Basic credentials when basic is set.
func (h *Handler) tunnelRefused(r *http.Request, path string, u *authn.User,
	basic bool) string {
	host := config.NormalizeHost(r.Host)
	gw, rt, public, ok := h.decide(host, path)
	if !ok || gw || rt == nil {
		return "no route"
	}
	also := h.otherReadings(host, path, rt, public)
	switch {
	case u == nil && (!public || also.overflow || also.signInNeeded(false)):
		return "sign-in needed"
	case u == nil:
		return ""
	case basic && !rt.basic:
		return "route takes no Basic credentials"
	case !public && !rt.allows(u, r.Method, r.URL.RawQuery):
		return "not allowed"
	case also.overflow || also.refusing(u, r.Method, r.URL.RawQuery, false) != nil:
		return "not allowed"
	}
	return ""
}
