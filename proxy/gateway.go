package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/proxy/page"
)

// loginCookie carries pre-login state: the sign-in form's CSRF token, the target to
// return to, and a one-time notice. Keeping it in a signed cookie rather than the store
// means an anonymous visitor never causes a store write.
const loginCookie = "gateway_login"

// deviceCookie marks a browser that has signed in as a user before. Strangers guessing
// at an account slow down its sign-ins; a browser with this cookie for the account is not
// slowed, so the owner is never locked out by someone else's guessing. It is not a
// credential: it never signs anyone in.
const deviceCookie = "gateway_device"

// deviceTTL is how long a browser stays known as a user's.
const deviceTTL = 30 * 24 * time.Hour

// loginStateTTL bounds how long a sign-in form stays usable.
const loginStateTTL = time.Hour

// maxLoginBody bounds a sign-in or sign-out form; larger bodies are refused unread.
const maxLoginBody = 16 << 10

// Messages shown to people.
const (
	msgInvalid      = "Invalid credentials"
	msgLoggedOut    = "You have been logged out"
	msgLoggedOutAll = "You have been logged out on every device"
	msgFormExpire   = "The form expired. Please try again."
	msgThrottled    = "Too many failed attempts. Try again in a moment."
	msgBadCode      = "Invalid code"
	msgCodeLate     = "This sign-in has ended. Please sign in again."
	msgCannotSignIn = "Signing in is not possible right now. Try again in a moment."
	msgBusy         = "Too many sign-ins at once. Try again in a moment."
)

// codeWait is how long a sign-in whose password checked out waits for its code. The
// ledger of codes must remember the last code of a user longer (totp.Remember), or a
// copy of the sign-in could outlive the record of the code that used it up.
const codeWait = 5 * time.Minute

// serveGateway serves the gateway's own pages under Prefix, at path on the normalised
// host.
func (h *Handler) serveGateway(w http.ResponseWriter, r *http.Request, host, path string) {
	pageHeaders(w.Header(), h.csp)
	if (path == LoginPath || path == LogoutPath) && !h.servesHost(host) {
		// Signing in is for the hosts the routes serve. On any other name, which a DNS
		// rebinding attack gives a hostile page, the form would be that page's to read
		// and post: its visitors' browsers would guess passwords for it, from their
		// addresses.
		h.errorPage(w, r, http.StatusNotFound, "There is nothing here.")
		return
	}
	switch path {
	case LoginPath:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.loginForm(w, r)
		case http.MethodPost:
			h.login(w, r)
		default:
			h.methodNotAllowed(w, r, "GET, HEAD, POST")
		}
	case LogoutPath:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.logoutForm(w, r)
		case http.MethodPost:
			h.logout(w, r)
		default:
			h.methodNotAllowed(w, r, "GET, HEAD, POST")
		}
	case page.LogoPath, page.CustomCSSPath:
		body, ctype := h.logo, h.logoType
		if path == page.CustomCSSPath {
			body, ctype = h.customCSS, "text/css; charset=utf-8"
		}
		if body == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			h.errorPage(w, r, http.StatusNotFound, "There is nothing here.")
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(body)
	case JWKSPath:
		if h.signer == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			h.errorPage(w, r, http.StatusNotFound, "There is nothing here.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(h.signer.JWKS())
	case AuthPath:
		// The front proxy asks with the method of the request it describes.
		h.forwardAuth(w, r)
	case page.StylesheetPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(page.Stylesheet)
	default:
		h.errorPage(w, r, http.StatusNotFound, "There is nothing here.")
	}
}

// loginForm shows the sign-in form, or sends a signed-in user on to their target.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if s, _, _ := h.identify(w, r); s != nil {
		redirectTo(w, h.redirects.Target(next), http.StatusFound)
		return
	}
	st := h.readLoginState(r)
	notice := st.Notice
	st.Notice = "" // shown once
	if st.CSRF == "" {
		st.CSRF = session.NewToken()
	}
	if next != "" {
		st.Next = next
	}
	st.Next = h.redirects.Target(st.Next)
	h.writeLoginState(w, r, st)
	h.render(w, r, http.StatusOK, page.Login{
		Site: h.site, CSRFToken: st.CSRF, Next: st.Next, Notice: notice,
		RememberMe: h.rememberMe,
	})
}

// login signs a user in. Only after the password checks out is a session created, under
// a new id; whatever session the browser arrived with is deleted first.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	st := h.readLoginState(r)
	// Login CSRF: the form's token must match the one in this browser's pre-login cookie,
	// and the request must not come from another origin.
	forged := func(next string) {
		h.auditRepeatable(r, "sign-in refused", "", "csrf")
		st = loginState{CSRF: session.NewToken(), Next: next}
		h.writeLoginState(w, r, st)
		// The username is not shown again: another site may have posted it, to put
		// words of its choosing on the gateway's page.
		h.render(w, r, http.StatusForbidden, page.Login{
			Site: h.site, CSRFToken: st.CSRF, Next: next, Error: msgFormExpire,
			RememberMe: h.rememberMe,
		})
	}
	// What the headers decide is decided before the form is asked for.
	if !h.formFits(w, r) {
		return
	}
	if err := h.checkOrigin(r); err != nil || st.CSRF == "" {
		forged(h.redirects.Target(st.Next))
		return
	}
	if !h.readForm(w, r) {
		return
	}
	name := authn.NormalizeName(r.PostForm.Get("username"))
	next := r.PostForm.Get("next")
	if next == "" {
		next = st.Next
	}
	next = h.redirects.Target(next)
	if !tokenEqual(st.CSRF, r.PostForm.Get("csrf_token")) {
		forged(next)
		return
	}
	if r.PostForm.Has("code") {
		h.loginCode(w, r, st)
		return
	}

	// Throttling comes before any password check, and answers the same whether or not the
	// user exists. A browser the user signed in with is exempt from the per-username
	// spacing for a few failures, no more: it may be a thief's.
	known, device := h.knownDevice(r, name)
	var strike exemption
	if known {
		var err error
		if strike, known, err = h.strikes.take(r.Context(), name, device,
			time.Now()); err != nil {
			h.storeError("counting a device cookie's failure failed", err, h.auditName(name))
		}
	}
	undoStrike := func() {
		if !known {
			return
		}
		if err := h.strikes.undo(r.Context(), strike); err != nil {
			h.storeError("taking back a device cookie's failure failed", err,
				h.auditName(name))
		}
	}
	attempt, wait, why, err := h.throttle.Begin(r.Context(), name, h.clientIP(r), known)
	if err != nil || wait > 0 {
		undoStrike()
	}
	if err != nil {
		h.countsDown(w, r, name, err)
		return
	}
	throttled := func(wait time.Duration, why throttle.Reason) {
		h.auditThrottled(r, h.auditName(name), why, string(why))
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		h.render(w, r, http.StatusTooManyRequests, page.Login{
			Site: h.site, CSRFToken: st.CSRF, Next: next, Error: msgThrottled,
			Username: displayName(name), RememberMe: h.rememberMe,
		})
	}
	if wait > 0 {
		throttled(wait, why)
		return
	}

	// A browser, or an address, the user signed in from before goes first under a flood,
	// and one from a network that has not failed lately goes ahead of the rest. The
	// attempt is counted where gateways share the counts once its check is next.
	prio := authn.Stranger
	switch {
	case known || h.places.has(name, h.clientIP(r), time.Now()):
		prio = authn.Known
	case attempt.QuietNetwork():
		prio = authn.Quiet
	}
	// The wait for a check ends in time to answer before the page's deadline: past it,
	// the answer could no longer be written, and a check made then would be wasted.
	waiting, stop := h.signInWait(r.Context())
	defer stop()
	u, err := h.auth.AuthenticateGated(waiting, name, r.PostForm.Get("password"), prio,
		func(context.Context) error { return attempt.Claim(r.Context()) })
	var refused *throttle.Refused
	switch {
	case errors.As(err, &refused):
		undoStrike()
		throttled(refused.Wait, refused.Reason)
		return
	case errors.Is(err, throttle.ErrUnavailable):
		undoStrike()
		h.countsDown(w, r, name, err)
		return
	case !authn.Checked(err) && waiting.Err() != nil:
		// The password was never checked, but the attempt counts as a failure all the
		// same, as one whose client went away does: were it free, guessers could hold
		// places in the queue, and their networks the lane of fresh ones, at no cost.
		if r.Context().Err() != nil {
			return // the client went away
		}
		h.auditThrottled(r, h.auditName(name), reasonBusy, reasonBusy)
		w.Header().Set("Retry-After", strconv.Itoa(int(busyRetry/time.Second)))
		h.render(w, r, http.StatusServiceUnavailable, page.Login{
			Site: h.site, CSRFToken: st.CSRF, Next: next, Error: msgBusy,
			Username: displayName(name), RememberMe: h.rememberMe,
		})
		return
	}
	if authn.Checked(err) {
		h.metrics.passwordCheck(prio)
	}
	if err != nil {
		reason := err.Error()
		var ae *authn.AuthError
		if errors.As(err, &ae) {
			reason = ae.Reason
		}
		h.audit(r, "sign-in failed", h.auditName(name), reason)
		h.render(w, r, http.StatusUnauthorized, page.Login{
			Site: h.site, CSRFToken: st.CSRF, Next: next, Error: msgInvalid,
			Username: displayName(name), RememberMe: h.rememberMe,
		})
		return
	}

	remember := h.rememberMe && rememberTicked(r.PostForm.Get("remember"))
	if u.TOTP != nil {
		// The password is right, but the sign-in is not done: the attempt counts neither
		// as a failure nor as a success, which would clear the counts of the codes
		// guessed so far. The code step is throttled as the password is.
		h.cancel(r.Context(), attempt, u.Name)
		last, err := h.codes.Last(r.Context(), u.Name)
		if err != nil {
			h.storeError("reading the last one-time code failed", err, u.Name)
			w.Header().Set("Retry-After", "5")
			h.cannotSignIn(w, r)
			return
		}
		st.Next, st.Notice = next, ""
		st.Pending = &pendingLogin{User: u.Name, Bound: h.sessions.Keys().AuthHash(
			u.Binding()), Remember: remember, Until: time.Now().Add(codeWait).Unix(),
			After: last}
		h.writeLoginState(w, r, st)
		h.audit(r, "sign-in code asked", u.Name, "password")
		h.render(w, r, http.StatusOK, page.Code{Site: h.site, CSRFToken: st.CSRF})
		return
	}
	h.succeeded(r.Context(), attempt, u.Name)
	h.signIn(w, r, u, remember, next, "password")
}

// loginCode takes the one-time code of a sign-in whose password checked out. A wrong
// code counts as a failed sign-in of the user, throttled as a wrong password is; each
// code signs in once.
func (h *Handler) loginCode(w http.ResponseWriter, r *http.Request, st loginState) {
	// The target was checked when the password step stored it, under the rules of then:
	// a reload since may have taken its host off allowed_redirect_hosts. Like every
	// replay of a target, it is checked again.
	st.Next = h.redirects.Target(st.Next)
	now := time.Now()
	p := st.Pending
	var u *authn.User
	if p != nil {
		u = h.auth.Users().Lookup(p.User)
	}
	// the sign-in is over when it waited too long, or its user is gone, disabled or
	// given another password or secret since the password checked out
	why := "code too late"
	over := p == nil || now.Unix() > p.Until || u == nil || u.Disabled || u.TOTP == nil ||
		!h.sessions.Keys().AuthHashMatches(p.Bound, u.Binding())
	ctx := r.Context()
	var last int64
	if !over {
		var err error
		if last, err = h.codes.Last(ctx, u.Name); err != nil {
			h.codesDown(w, r, st, "reading the last one-time code failed", err)
			return
		}
		// or when a code signed the user in since, with this sign-in or a copy of it
		if last > p.After {
			over, why = true, "signed in since the password"
		}
	}
	if over {
		user := ""
		if p != nil {
			user = h.auditName(p.User)
		}
		h.auditRepeatable(r, "sign-in failed", user, why)
		st = loginState{CSRF: session.NewToken(), Next: st.Next}
		h.writeLoginState(w, r, st)
		h.render(w, r, http.StatusUnauthorized, page.Login{
			Site: h.site, CSRFToken: st.CSRF, Next: st.Next, Error: msgCodeLate,
			RememberMe: h.rememberMe,
		})
		return
	}

	// Whoever guesses codes has the password, and may have the user's browser too, its
	// device cookie with it. So codes are spaced out by the wrong codes given for the
	// user, in any browser, from any address, and by nothing else: the spacing of
	// password guesses, which anyone who knows the name can fill, would let a stranger
	// keep the user out at this step. The count belongs to the user's password and
	// secret as they are, so that changing either starts afresh.
	attempt, wait, refused, err := h.throttle.Begin(ctx, u.Name, h.clientIP(r), true)
	if err != nil {
		h.codesDown(w, r, st, "reading failed sign-ins failed", err)
		return
	}
	if wait == 0 {
		left, err := h.codes.Take(ctx, codeKey(u), now)
		if err != nil {
			h.cancel(ctx, attempt, u.Name)
			h.codesDown(w, r, st, "counting a one-time code failed", err)
			return
		}
		if left > 0 {
			h.cancel(ctx, attempt, u.Name)
			wait, refused = left, reasonWrongCodes
		}
	}
	if wait == 0 {
		// counted where gateways share the counts, after the spacing of wrong codes,
		// which bounds how fast it is written
		var rf *throttle.Refused
		switch err := attempt.Claim(ctx); {
		case errors.As(err, &rf):
			wait, refused = rf.Wait, rf.Reason
		case err != nil:
			h.codeTakenBack(ctx, u)
			h.codesDown(w, r, st, "counting a sign-in failed", err)
			return
		}
		if wait > 0 {
			h.codeTakenBack(ctx, u)
		}
	}
	if wait > 0 {
		h.auditThrottled(r, u.Name, refused, string(refused)+", code")
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		h.render(w, r, http.StatusTooManyRequests, page.Code{Site: h.site,
			CSRFToken: st.CSRF, Error: msgThrottled})
		return
	}
	code := strings.NewReplacer(" ", "", "-", "").Replace(r.PostForm.Get("code"))
	step, ok := u.TOTP.Verify(code, now, last)
	if ok {
		var err error
		// another request, here or at another gateway, may have brought the same code
		if ok, err = h.codes.Claim(ctx, u.Name, p.After, step, now); err != nil {
			h.cancel(ctx, attempt, u.Name)
			h.codesDown(w, r, st, "recording a one-time code failed", err)
			return
		}
	}
	if !ok {
		// a right code refused for being used, or older than the last one used, may
		// mean that someone else saw it: the record says so
		reason := "wrong code"
		if _, valid := u.TOTP.Verify(code, now, 0); valid {
			reason = "code used before"
		}
		h.audit(r, "sign-in failed", u.Name, reason)
		h.render(w, r, http.StatusUnauthorized, page.Code{Site: h.site,
			CSRFToken: st.CSRF, Error: msgBadCode})
		return
	}
	h.codeTakenBack(ctx, u)
	h.succeeded(ctx, attempt, u.Name)
	h.signIn(w, r, u, p.Remember, st.Next, "password and code")
}

// reasonBusy is the throttle reason of a sign-in that waited for a password check
// longer than its page may take, and busyRetry the wait its answer asks for.
const (
	reasonBusy = "too many at once"
	busyRetry  = 10 * time.Second
)

// reasonWrongCodes is the throttle reason of a one-time code that waits for the wrong
// codes given for its user before it, from anywhere.
const reasonWrongCodes throttle.Reason = "wrong codes"

// signInWait returns ctx bounded by how long a sign-in may wait for its password check:
// two thirds of timeouts.page, leaving the rest for the check and the answer. Without a
// page deadline it is ctx itself.
func (h *Handler) signInWait(ctx context.Context) (context.Context, context.CancelFunc) {
	if h.pageTime <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, h.pageTime*2/3)
}

// cancel takes attempt back, logging what could not be taken back where the gateways
// share the counts; there, it expires all the same.
func (h *Handler) cancel(ctx context.Context, attempt *throttle.Attempt, user string) {
	if err := attempt.Cancel(ctx); err != nil {
		h.storeError("taking back a sign-in attempt failed", err, h.auditName(user))
	}
}

// codeTakenBack takes back the code of u that Take counted as wrong, as a right one or
// one that was not checked.
func (h *Handler) codeTakenBack(ctx context.Context, u *authn.User) {
	if err := h.codes.Right(ctx, codeKey(u)); err != nil {
		// the code stays counted as wrong: one more than there were, no fewer
		h.storeError("taking back a one-time code failed", err, u.Name)
	}
}

// cannotSignIn answers a sign-in that the store's failure stopped, and counts it.
func (h *Handler) cannotSignIn(w http.ResponseWriter, r *http.Request) {
	h.metrics.signInUnavailable()
	w.Header().Set("Retry-After", "5")
	h.errorPage(w, r, http.StatusServiceUnavailable, msgCannotSignIn)
}

// countsDown answers a sign-in whose attempt could not be counted where the gateways
// share the counts of failed sign-ins: no password is checked unthrottled.
func (h *Handler) countsDown(w http.ResponseWriter, r *http.Request, name string,
	err error) {
	h.storeError("counting failed sign-ins failed", err, h.auditName(name))
	w.Header().Set("Retry-After", "5")
	h.cannotSignIn(w, r)
}

// succeeded clears the counts of failed sign-ins that attempt, whose credentials were
// right, ends. Those the gateways share expire by themselves if they cannot be cleared.
func (h *Handler) succeeded(ctx context.Context, attempt *throttle.Attempt, user string) {
	if err := attempt.Succeeded(ctx); err != nil {
		h.storeError("clearing failed sign-ins failed", err, user)
	}
}

// codesDown refuses a one-time code of the sign-in st that could not be checked, as
// msg, because the ledger of codes failed with err: a code is never taken on a ledger
// that could not say whether it was used. The code page stays, for another try.
func (h *Handler) codesDown(w http.ResponseWriter, r *http.Request, st loginState,
	msg string, err error) {
	h.storeError(msg, err, st.Pending.User)
	h.metrics.signInUnavailable()
	w.Header().Set("Retry-After", "5")
	h.render(w, r, http.StatusServiceUnavailable, page.Code{Site: h.site,
		CSRFToken: st.CSRF, Error: msgCannotSignIn})
}

// codeKey is what the wrong codes given for u count under: a digest of the user's
// password hash and secret, which does not change when the session secrets rotate.
func codeKey(u *authn.User) string {
	sum := sha256.Sum256([]byte("one-time codes\x00" + u.Name + "\x00" + u.Binding()))
	return string(sum[:])
}

// signIn ends the sign-in of u, whose credentials checked out, by how (the audit
// record's reason): a new session under a new id, whatever session the browser arrived
// with deleted, and the browser sent on to next.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, u *authn.User,
	remember bool, next, how string) {
	ctx := r.Context()
	brought := cookieValues(r, h.cookieName(r, session.CookieName))
	if err := h.sessions.DeleteCookies(ctx, brought); err != nil {
		h.storeError("deleting previous session failed", err, u.Name)
		h.cannotSignIn(w, r)
		return
	}
	sess, value, err := h.sessions.Create(ctx, session.Login{
		User: u.Name, Backend: authn.Backend, PasswordHash: u.Binding(),
		Remember: remember, ClientIP: h.clientIP(r).String(),
	})
	if err != nil {
		h.storeError("creating session failed", err, u.Name)
		h.cannotSignIn(w, r)
		return
	}
	h.storeWorked(true)
	h.audit(r, "sign-in", u.Name, how, sessionAttr(sess))
	noteUser(w, u)
	h.setSessionCookie(w, r, value, h.sessions.CookieMaxAge(sess))
	// the browser proved itself: it gets a cookie of a new id, with no failures, and
	// copies of its old one, which a thief may hold, are exempt from nothing any more
	if known, device := h.knownDevice(r, u.Name); known {
		if err := h.strikes.retire(r.Context(), u.Name, device, time.Now()); err != nil {
			h.storeError("retiring a device cookie failed", err, u.Name)
		}
	}
	h.rememberDevice(w, r, u)
	h.places.add(u.Name, h.clientIP(r), time.Now())
	h.clearCookie(w, r, loginCookie)
	redirectTo(w, next, http.StatusSeeOther)
}

// logoutForm shows the sign-out confirmation. It changes nothing.
func (h *Handler) logoutForm(w http.ResponseWriter, r *http.Request) {
	s, u, err := h.identify(w, r)
	if err != nil {
		h.storeDown(w, r)
		return
	}
	d := page.Logout{Site: h.site}
	if s != nil {
		d.User, d.CSRFToken = u.Name, s.CSRFToken
	}
	h.render(w, r, http.StatusOK, d)
}

// errOriginRepeated refuses a form post that names its origin more than once.
var errOriginRepeated = errors.New("Origin or Sec-Fetch-Site sent more than once")

// checkOrigin refuses a form post from another origin. Browsers send Origin and
// Sec-Fetch-Site once; a request with two of either is no browser's, and is refused
// rather than judged by the first.
func (h *Handler) checkOrigin(r *http.Request) error {
	if len(r.Header["Origin"]) > 1 || len(r.Header["Sec-Fetch-Site"]) > 1 {
		return errOriginRepeated
	}
	return h.origins.Check(r)
}

// logout ends the session: deleted from the store, cookie expired, and a notice for the
// sign-in page it sends the browser to. With the form's "everywhere" box ticked it ends
// every session of the user, as for a device that was lost.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	// What the headers decide is decided before the form is asked for.
	if !h.formFits(w, r) {
		return
	}
	if err := h.checkOrigin(r); err != nil {
		h.auditRepeatable(r, "sign-out refused", "", "cross-origin")
		h.errorPage(w, r, http.StatusForbidden, msgFormExpire)
		return
	}
	s, u, err := h.identify(w, r)
	if err != nil {
		h.storeDown(w, r)
		return
	}
	if s == nil {
		// A cookie this gateway cannot read may be one another gateway on the same store
		// reads, sealed under a secret this one has yet to be given: asked to sign out,
		// the browser lets go of it, so that the user is signed out where it would work.
		h.clearSessionCookie(w, r)
		redirectTo(w, LoginPath, http.StatusSeeOther)
		return
	}
	if !h.readForm(w, r) {
		return
	}
	if !tokenEqual(s.CSRFToken, r.PostForm.Get("csrf_token")) {
		h.auditRepeatable(r, "sign-out refused", u.Name, "csrf")
		h.errorPage(w, r, http.StatusForbidden, msgFormExpire)
		return
	}
	everywhere := r.PostForm.Get("everywhere") != ""
	var ended int
	if everywhere {
		ended, err = h.sessions.Revoke(r.Context(), u.Name)
		// Revoke lists, then deletes: the session in hand goes whatever it found
		if err == nil {
			err = h.sessions.Delete(r.Context(), s)
		}
	} else {
		err = h.sessions.Delete(r.Context(), s)
	}
	if err != nil {
		h.storeError("deleting session failed", err, u.Name)
		h.errorPage(w, r, http.StatusServiceUnavailable, "Signing out is not possible "+
			"right now. Try again in a moment.")
		return
	}
	notice := msgLoggedOut
	if everywhere {
		notice = msgLoggedOutAll
		h.audit(r, "sign-out", u.Name, "user", sessionAttr(s),
			slog.Bool("everywhere", true), slog.Int("count", max(ended, 1)))
	} else {
		h.audit(r, "sign-out", u.Name, "user", sessionAttr(s))
	}
	h.clearSessionCookie(w, r)
	h.writeLoginState(w, r, loginState{CSRF: session.NewToken(), Notice: notice})
	redirectTo(w, LoginPath, http.StatusSeeOther)
}

// deviceMark is the content of the device cookie: the user, a digest of the password
// hash it was issued under, so that changing a password forgets every device, and a
// random id, under which the browser's failed sign-ins are counted (see strikes).
type deviceMark struct {
	User     string `json:"u"`
	AuthHash string `json:"h"`
	ID       string `json:"d,omitempty"` // empty in cookies made before ids were
}

// rememberDevice gives the browser a device cookie for u, of a new id.
func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, u *authn.User) {
	raw, _ := json.Marshal(deviceMark{User: u.Name, AuthHash: h.sessions.Keys().AuthHash(
		u.Binding()), ID: session.NewToken()})
	v, err := h.deviceCk.Encode(raw)
	if err != nil {
		h.log.Error("encoding device cookie failed", "error", err)
		return
	}
	h.setCookie(w, r, deviceCookie, v, int(deviceTTL/time.Second))
}

// maxDeviceCookies is how many gateway_device cookies of a request are looked at. A
// browser sends one; more would only make each attempt cost more.
const maxDeviceCookies = 2

// unknownUserHash stands in for the password hash of a name no user has, so that
// knownDevice does the same work for every name.
const unknownUserHash = "$argon2id$v=19$m=19456,t=2,p=1$unknown$unknown"

// knownDevice reports whether the browser has signed in as name before, under the
// user's current password, and returns its cookie's id, under which its failures count
// (cookies made before ids were share the empty one). It does
// the same work whether or not name is a user: it runs before the throttle answers, and
// its time must not tell which names exist.
func (h *Handler) knownDevice(r *http.Request, name string) (bool, string) {
	u := h.auth.Users().Lookup(name)
	hash := unknownUserHash
	if u != nil {
		hash = u.Binding()
	}
	values := cookieValues(r, h.cookieName(r, deviceCookie))
	if len(values) > maxDeviceCookies {
		values = values[:maxDeviceCookies]
	}
	known, id := false, ""
	for _, v := range values {
		raw, _, err := h.deviceCk.Decode(v)
		if err != nil {
			continue
		}
		var m deviceMark
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		matches := h.sessions.Keys().AuthHashMatches(m.AuthHash, hash)
		if matches && u != nil && m.User == name && !known {
			known, id = true, m.ID
		}
	}
	return known, id
}

// redirectTo answers with a redirect to target exactly as validated. http.Redirect would
// clean the path again, which can turn a checked value into one that was never checked.
func redirectTo(w http.ResponseWriter, target string, code int) {
	w.Header().Set("Location", target)
	w.WriteHeader(code)
}

// formFits answers 413 and returns false when r announces a form body too large to
// read; it is refused before a byte of it is read, and the answer closes the connection.
func (h *Handler) formFits(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength > maxLoginBody {
		h.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
		return false
	}
	return true
}

// readForm parses a form body of bounded size, once formFits let its announced size
// through. It answers 413 or 400 and returns false when the body turns out too large,
// or malformed.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) bool {
	// ParseForm reads a body of this type only; one of any other type stays unread,
	// and the answer must not wait for it.
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if sw, ok := w.(*statusWriter); ok && ct == "application/x-www-form-urlencoded" {
		sw.read = true // within timeouts.page, whatever comes of it
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
			return false
		}
		h.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	h.errorPage(w, r, http.StatusMethodNotAllowed, "This method is not allowed here.")
}

// errorPage answers with status and a message: a page for browsers, plain text for
// everything else. It never carries internals. The page links to the sign-in page, or,
// for a request the gateway knows a signed-in user made, to the start page.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if st, _ := r.Context().Value(stateKey{}).(*state); st != nil && st.user != nil {
		h.errorPageLink(w, r, status, msg, "/", "Go to the start page")
		return
	}
	h.errorPageLink(w, r, status, msg, LoginPath, "Go to the sign-in page")
}

// errorPageLink is errorPage with a link of its own.
func (h *Handler) errorPageLink(w http.ResponseWriter, r *http.Request, status int,
	msg, link, linkText string) {
	pageHeaders(w.Header(), h.csp)
	if !acceptsHTML(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		w.Write([]byte(http.StatusText(status) + ": " + msg + "\n"))
		return
	}
	h.render(w, r, status, page.Error{
		Site: h.site, Title: http.StatusText(status), Message: msg,
		Link: link, LinkText: linkText,
	})
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := h.pages.Render(w, status, v); err != nil {
		h.log.Error("page failed", "error", err)
	}
}

// Cookie name prefixes a browser enforces. It takes a "__Secure-" cookie only from an
// HTTPS page, with Secure set, and a "__Host-" cookie only so and host-only, with
// Path=/. So no other site, not even a sibling subdomain that can set cookies for the
// parent domain, can plant one of the gateway's cookies in a user's browser under the
// name the gateway reads.
const (
	securePrefix = "__Secure-"
	hostPrefix   = "__Host-"
)

// cookieName is the name under which r carries, and is sent, the gateway's cookie
// named base: with the "__Host-" prefix when the cookie is Secure and host-only, with
// "__Secure-" when it is Secure and has a domain, and as base over plain HTTP, where a
// browser honours neither.
func (h *Handler) cookieName(r *http.Request, base string) string {
	switch {
	case !h.secureCookie(r):
		return base
	case base == session.CookieName && h.domainFor(r) != "":
		return securePrefix + base
	}
	return hostPrefix + base
}

// SessionCookieName is the name under which r would carry the session cookie.
func (h *Handler) SessionCookieName(r *http.Request) string {
	return h.cookieName(r, session.CookieName)
}

// setCookie sets one of the gateway's cookies: host-only, Path=/, HttpOnly,
// SameSite=Lax, and Secure as the config decides. maxAge 0 makes a browser-session
// cookie.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string,
	maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r, name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secureCookie(r),
	})
}

// setSessionCookie sets the session cookie, with the configured domain if any.
func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, value string,
	maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r, session.CookieName), Value: value, Path: "/",
		Domain: h.sessionDomain(r), MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: h.secureCookie(r),
	})
}

// clearSessionCookie expires the session cookie with the attributes it was set with.
func (h *Handler) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r, session.CookieName), Value: "", Path: "/",
		Domain: h.sessionDomain(r), MaxAge: -1, Expires: time.Unix(1, 0), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: h.secureCookie(r),
	})
}

// sessionDomain is the Domain of the session cookie for r: the configured cookie_domain
// when the request's host lies within it; otherwise none, a host-only cookie, since a
// browser drops a cookie for a domain that does not cover the page and the user would
// be sent back to sign in forever.
func (h *Handler) sessionDomain(r *http.Request) string {
	d := h.domainFor(r)
	if d == "" && h.cookieDomain != "" {
		h.log.Warn("request host is outside session.cookie_domain; using a host-only "+
			"cookie", "host", r.Host, "cookie_domain", h.cookieDomain)
	}
	return d
}

// domainFor is sessionDomain without the warning.
func (h *Handler) domainFor(r *http.Request) string {
	if h.cookieDomain == "" {
		return ""
	}
	host := strings.ToLower(r.Host)
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.TrimSuffix(host, ".")
	if host == h.cookieDomain || strings.HasSuffix(host, "."+h.cookieDomain) {
		return h.cookieDomain
	}
	return ""
}

// clearCookie expires a cookie with the same attributes it was set with.
func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r, name), Value: "", Path: "/", MaxAge: -1,
		Expires: time.Unix(1, 0), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.secureCookie(r),
	})
}

// secureCookie decides the Secure flag: forced by config, or in "auto" mode set when the
// request came over TLS, directly or through a trusted proxy that says so.
func (h *Handler) secureCookie(r *http.Request) bool {
	switch h.secure {
	case "true":
		return true
	case "false":
		return false
	}
	if r.TLS != nil {
		return true
	}
	peer := peerAddr(r.RemoteAddr)
	return peer.IsValid() && trusted(peer, h.trusted) &&
		strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// cookieValues returns every value sent for the named cookie.
func cookieValues(r *http.Request, name string) []string {
	cs := r.CookiesNamed(name)
	if len(cs) == 0 {
		return nil
	}
	vs := make([]string, len(cs))
	for i, c := range cs {
		vs[i] = c.Value
	}
	return vs
}

func tokenEqual(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// auditName is how a sign-in attempt's username appears in the log: as typed when it
// names a user, else as "unknown-" and a keyed digest of it. People type passwords into
// the username field, and a name no user has may well be one; the digest still tells
// repeated attempts with one name apart from attempts with many.
func (h *Handler) auditName(name string) string {
	if h.auth.Users().Lookup(name) != nil {
		return name
	}
	return "unknown-" + h.sessions.Keys().AuthHash("audit name\x00" + name)[:16]
}

// displayName is the username as it may be shown back on the form: bounded in length.
func displayName(name string) string { return cutAt(name, authn.MaxUsernameLength) }

// cutAt returns the longest start of s of at most n bytes that does not end in the
// middle of a character.
func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// pageHeaders sets the headers every response the gateway writes itself carries.
func pageHeaders(h http.Header, csp string) {
	noStore(h)
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
}

// noStore marks a response as private to this browser and this moment.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// contentSecurityPolicy allows the gateway's pages their own stylesheet and nothing else.
// Form submissions may lead only to the gateway itself, or after sign-in to the hosts
// that redirects are allowed to.
func contentSecurityPolicy(hosts []string) string {
	action := "'self'"
	for _, h := range hosts {
		if strings.HasPrefix(h, ".") {
			action += " https://*" + h
		} else {
			action += " https://" + h
		}
	}
	return "default-src 'none'; style-src 'self'; img-src 'self'; form-action " + action +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// rememberTicked reports whether the form's remember field asks for a long session: the
// "1" of the built-in page, the "on" of a box without a value in a template of one's
// own, or a script's "true" or "yes". Any other value, "0" and "false" among them, is
// the shorter session.
func rememberTicked(v string) bool {
	for _, yes := range []string{"1", "on", "true", "yes"} {
		if strings.EqualFold(v, yes) {
			return true
		}
	}
	return false
}
