package proxy_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/proxy"
)

// davePass and daveSecret are the credentials of dave, who signs in with a one-time code.
const (
	davePass   = "dave-correct-horse"
	daveSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
)

// totpEnv is an env whose users file has dave, with a TOTP secret, beside alice and bob,
// and a basic_auth route /api/.
func totpEnv(t *testing.T) *env {
	t.Helper()
	up := newEcho(t)
	e := newEnvWithUpstream(t, up, "  - path: /api/\n    upstream: \""+up.URL+"\"\n"+
		"    basic_auth: true\n")
	writeDave(t, e, daveSecret)
	return e
}

// writeDave writes the users file with alice, bob and dave, whose TOTP secret is secret
// (none when empty), and reloads it.
func writeDave(t *testing.T, e *env, secret string) {
	t.Helper()
	dave := "  dave:\n    password: \"" + mustHash(t, davePass) + "\"\n"
	if secret != "" {
		dave += "    totp_secret: " + secret + "\n"
	}
	writeUsers(t, e.usersFile, map[string]string{"alice": alicePass, "bob": bobPass}, dave)
	reload(t, e)
}

// code returns the code the secret shows at t.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	s, err := totp.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s.Code(at)
}

// passwordStep signs b in as dave up to the code: the answer must be the code page,
// with no session yet.
func passwordStep(t *testing.T, b *browser, next string) resp {
	t.Helper()
	r := b.login("dave", davePass, next)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `name="code"`) ||
		!strings.Contains(r.body, `autocomplete="one-time-code"`) {
		t.Fatalf("password step: status %d, want 200 with the code form\n%s", r.StatusCode,
			r.body)
	}
	if b.cookie("gateway_session") != "" {
		t.Fatal("a session was set before the code")
	}
	return r
}

// daveSignedInBehindProxy returns an env that believes X-Forwarded-For from the test,
// and a browser in which dave signed in with password and code.
func daveSignedInBehindProxy(t *testing.T) (*env, *browser) {
	t.Helper()
	e := newEnvWithUpstream(t, newEcho(t), "trusted_proxies: [\"127.0.0.1/32\"]\n")
	writeDave(t, e, daveSecret)
	owner := e.browser()
	page := passwordStep(t, owner, "/")
	if r := postCode(owner, page, code(t, daveSecret, time.Now())); r.StatusCode !=
		http.StatusSeeOther {
		t.Fatalf("dave's first sign-in: status %d", r.StatusCode)
	}
	return e, owner
}

func postCode(b *browser, page resp, c string) resp {
	return b.post(proxy.LoginPath, url.Values{"code": {c},
		"csrf_token": {field(b.t, csrfRe, page.body)}})
}

// TestTOTPSignIn: a user with a TOTP secret signs in with password and code, in that
// order; a wrong code, or a code used before, signs nobody in; and no session exists
// before the code checks out.
func TestTOTPSignIn(t *testing.T) {
	e := totpEnv(t)
	b := e.browser()
	page := passwordStep(t, b, "/app/x?y=1")

	r := postCode(b, page, "000000")
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Invalid code") ||
		!strings.Contains(r.body, `role="alert"`) || b.cookie("gateway_session") != "" {
		t.Fatalf("wrong code: status %d, session %q\n%s", r.StatusCode,
			b.cookie("gateway_session"), r.body)
	}
	now := time.Now()
	c := code(t, daveSecret, now)
	r = postCode(b, r, strings.Join([]string{c[:3], c[3:]}, " ")) // typed with a space
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/app/x?y=1" {
		t.Fatalf("right code: status %d, Location %q; want 303 to the page first asked for",
			r.StatusCode, r.Header.Get("Location"))
	}
	if got := b.get("/app/whoami"); got.StatusCode != 200 ||
		e.up.last(t).Header.Get("X-Forwarded-User") != "dave" {
		t.Fatalf("after the code: status %d, user %q", got.StatusCode,
			e.up.last(t).Header.Get("X-Forwarded-User"))
	}

	// the same code again, in another browser that has the password too, signs no one in
	other := e.browser()
	page = passwordStep(t, other, "/")
	if r := postCode(other, page, c); r.StatusCode != http.StatusUnauthorized ||
		other.cookie("gateway_session") != "" {
		t.Errorf("a code used before: status %d, want 401 and no session", r.StatusCode)
	}
	// the next period's code does
	if r := postCode(other, page, code(t, daveSecret, now.Add(totp.Period))); r.StatusCode !=
		http.StatusSeeOther {
		t.Errorf("the next period's code: status %d, want 303", r.StatusCode)
	}

	// a user without a secret signs in with the password alone, as before
	if r := e.browser().login("alice", alicePass, "/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("alice, without a secret: status %d, want 303", r.StatusCode)
	}
}

// TestTOTPCodeNeedsItsPasswordStep: a code is taken only for a sign-in whose password
// checked out in the same browser, for the user it checked out for, as they still are.
func TestTOTPCodeNeedsItsPasswordStep(t *testing.T) {
	e := totpEnv(t)

	// a browser that never gave the password
	b := e.browser()
	form := b.get(proxy.LoginPath)
	r := postCode(b, form, code(t, daveSecret, time.Now()))
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "has ended") ||
		b.cookie("gateway_session") != "" {
		t.Errorf("code without a password step: status %d\n%s", r.StatusCode, r.body)
	}

	// the password step, then dave's password changes before the code
	b = e.browser()
	page := passwordStep(t, b, "/")
	writeUsers(t, e.usersFile, map[string]string{"alice": alicePass, "bob": bobPass},
		"  dave:\n    password: \""+mustHash(t, "new-pass")+"\"\n    totp_secret: "+
			daveSecret+"\n")
	reload(t, e)
	if r := postCode(b, page, code(t, daveSecret, time.Now())); r.StatusCode !=
		http.StatusUnauthorized || b.cookie("gateway_session") != "" {
		t.Errorf("code after a password change: status %d, want 401", r.StatusCode)
	}

	// the code form's token is checked like the sign-in form's
	writeDave(t, e, daveSecret)
	b = e.browser()
	passwordStep(t, b, "/")
	r = b.post(proxy.LoginPath, url.Values{"code": {code(t, daveSecret, time.Now())},
		"csrf_token": {"x"}})
	if r.StatusCode != http.StatusForbidden || b.cookie("gateway_session") != "" {
		t.Errorf("code with a wrong token: status %d, want 403", r.StatusCode)
	}
}

// TestTOTPSignInIsUsedUpByItsCode: a copy of the sign-in between password and code,
// taken from the browser's cookie, signs no one in once a code has signed the user in,
// not even with a later code.
func TestTOTPSignInIsUsedUpByItsCode(t *testing.T) {
	e := totpEnv(t)
	now := periodStart(t)
	b := e.browser()
	page := passwordStep(t, b, "/")
	u, _ := url.Parse(e.gw.URL)
	stolen := b.jar.Cookies(u)

	if r := postCode(b, page, code(t, daveSecret, now.Add(-totp.Period))); r.StatusCode !=
		http.StatusSeeOther {
		t.Fatalf("dave's code: status %d, want 303", r.StatusCode)
	}
	for _, at := range []time.Time{now, now.Add(totp.Period)} {
		thief := e.browser()
		thief.jar.SetCookies(u, stolen)
		r := postCode(thief, page, code(t, daveSecret, at))
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "has ended") ||
			thief.cookie("gateway_session") != "" {
			t.Errorf("the copied sign-in with the code of %v later: status %d, want 401\n%s",
				at.Sub(now)+totp.Period, r.StatusCode, r.body)
		}
	}

	// two sign-ins begun at once, in two browsers: the first code ends the other too
	b1, b2 := e.browser(), e.browser()
	p1, p2 := passwordStep(t, b1, "/"), passwordStep(t, b2, "/")
	if r := postCode(b1, p1, code(t, daveSecret, now)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first browser's code: status %d, want 303", r.StatusCode)
	}
	if r := postCode(b2, p2, code(t, daveSecret, now.Add(totp.Period))); r.StatusCode !=
		http.StatusUnauthorized || !strings.Contains(r.body, "has ended") {
		t.Errorf("the second browser's code: status %d, want 401", r.StatusCode)
	}
	passwordStep(t, b2, "/") // which starts again from the password
}

// periodStart returns now, after waiting for the next code's period when this one has
// less than 5 s left, so that a test that uses the codes of the periods about now is
// done before they move on.
func periodStart(t *testing.T) time.Time {
	t.Helper()
	now := time.Now()
	if left := totp.Period - now.Sub(time.Unix(totp.Step(now)*30, 0)); left < 5*time.Second {
		time.Sleep(left)
		now = time.Now()
	}
	return now
}

// TestTOTPGuessesAreThrottled: wrong codes count as failed sign-ins of the user, so a
// guesser who has the password is stopped as a password guesser is; and giving the
// password again does not start the count afresh.
func TestTOTPGuessesAreThrottled(t *testing.T) {
	e := totpEnv(t)
	b := e.browser()
	page := passwordStep(t, b, "/")
	var last resp
	for i := range 8 {
		last = postCode(b, page, "00000"+string(rune('0'+i)))
		if i == 2 { // the password again, between guesses
			page = passwordStep(t, b, "/")
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("eight wrong codes: status %d, want 429 with Retry-After", last.StatusCode)
	}
	if r := postCode(b, page, code(t, daveSecret, time.Now())); r.StatusCode !=
		http.StatusTooManyRequests {
		t.Errorf("the right code while throttled: status %d, want 429", r.StatusCode)
	}
}

// TestTOTPSecretEndsSessions: giving a user a secret, or changing it, ends the sessions
// made without it, as a password change does.
func TestTOTPSecretEndsSessions(t *testing.T) {
	e := totpEnv(t)
	writeDave(t, e, "")
	dave := e.session("dave", davePass)
	if r := e.raw("GET", "/app/", dave, nil); r.StatusCode != 200 {
		t.Fatalf("dave without a secret: status %d", r.StatusCode)
	}
	writeDave(t, e, daveSecret)
	if r := e.raw("GET", "/app/", dave, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("dave's session after a secret was added: status %d, want 401",
			r.StatusCode)
	}
}

// TestTOTPUserHasNoBasicAccess: Basic credentials carry no code, so a user with a secret
// is refused on a basic_auth route with the answer a wrong password gets.
func TestTOTPUserHasNoBasicAccess(t *testing.T) {
	e := totpEnv(t)
	basic := func(user, pass string) *http.Response {
		req, _ := http.NewRequest("GET", e.gw.URL+"/api/x", nil)
		req.Header.Set("Authorization", "Basic "+
			base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	right, wrong := basic("dave", davePass), basic("dave", "wrong")
	if right.StatusCode != http.StatusUnauthorized ||
		right.Header.Get("WWW-Authenticate") != wrong.Header.Get("WWW-Authenticate") {
		t.Errorf("dave's right password over Basic: status %d, challenge %q; want the "+
			"wrong password's 401", right.StatusCode, right.Header.Get("WWW-Authenticate"))
	}
	if r := basic("alice", alicePass); r.StatusCode != 200 {
		t.Errorf("alice over Basic: status %d, want 200", r.StatusCode)
	}
}

// TestTOTPWrongCodesBackOff: whoever guesses codes has the password, so beyond the
// throttle, which many addresses share out, each wrong code past the third makes the
// next wait longer, from any address and in any browser, the user's own included, since
// a guesser may hold it. A right code does not clear the count; a new password does.
func TestTOTPWrongCodesBackOff(t *testing.T) {
	e, owner := daveSignedInBehindProxy(t)

	guess := func(i int) resp {
		t.Helper()
		from := fmt.Sprintf("198.51.100.%d", i+1) // an address of its own each time
		b := e.browser()
		form := b.get(proxy.LoginPath, "X-Forwarded-For", from)
		b.post(proxy.LoginPath, url.Values{"username": {"dave"}, "password": {davePass},
			"csrf_token": {field(t, csrfRe, form.body)}}, "X-Forwarded-For", from)
		return b.post(proxy.LoginPath, url.Values{"code": {"000000"},
			"csrf_token": {field(t, csrfRe, form.body)}}, "X-Forwarded-For", from)
	}
	// three wrong codes pass without a wait; the owner's right one did not count
	for i := range 3 {
		if r := guess(i); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: status %d, want 401", i+1, r.StatusCode)
		}
	}
	r := guess(3)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
		t.Errorf("a fourth code at once, from a new address: status %d, Retry-After %q; "+
			"want 429 and 1", r.StatusCode, r.Header.Get("Retry-After"))
	}

	// the browser dave signed in with is held back too: a thief may hold it
	owner.post(proxy.LogoutPath, url.Values{"csrf_token": {field(t, csrfRe,
		owner.get(proxy.LogoutPath).body)}})
	next := code(t, daveSecret, time.Now().Add(totp.Period))
	page := passwordStep(t, owner, "/")
	if r := postCode(owner, page, next); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the owner's browser during the guessing: status %d, want 429",
			r.StatusCode)
	}
	// a new password ends the guessing, and the wait with it
	writeUsers(t, e.usersFile, map[string]string{"alice": alicePass, "bob": bobPass},
		"  dave:\n    password: \""+mustHash(t, "dave-new-pass")+"\"\n    totp_secret: "+
			daveSecret+"\n")
	reload(t, e)
	form := owner.get(proxy.LoginPath)
	owner.post(proxy.LoginPath, url.Values{"username": {"dave"}, "password": {"dave-new-pass"},
		"csrf_token": {field(t, csrfRe, form.body)}})
	if r := postCode(owner, form, next); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after a new password: status %d, want 303", r.StatusCode)
	}
}

// TestTOTPStrangersCannotHoldTheCodeBack: strangers who know only the name fill its
// spacing of password guesses; the owner, past the password in a browser they signed in
// with, is not held back at the code by them.
func TestTOTPStrangersCannotHoldTheCodeBack(t *testing.T) {
	e, owner := daveSignedInBehindProxy(t)
	now := time.Now()
	owner.post(proxy.LogoutPath, url.Values{"csrf_token": {field(t, csrfRe,
		owner.get(proxy.LogoutPath).body)}})

	refused := false
	for i := range 40 {
		from := fmt.Sprintf("198.51.%d.1", i)
		b := e.browser()
		form := b.get(proxy.LoginPath, "X-Forwarded-For", from)
		r := b.post(proxy.LoginPath, url.Values{"username": {"dave"}, "password": {"guess"},
			"csrf_token": {field(t, csrfRe, form.body)}}, "X-Forwarded-For", from)
		refused = refused || r.StatusCode == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("40 password guesses from new networks were never spaced out")
	}
	page := passwordStep(t, owner, "/")
	if r := postCode(owner, page, code(t, daveSecret, now.Add(totp.Period))); r.StatusCode !=
		http.StatusSeeOther {
		t.Errorf("the owner's code during the guessing: status %d, want 303", r.StatusCode)
	}
}
