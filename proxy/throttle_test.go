package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session/boltstore"
	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/proxy"
)

// direct drives the handler in-process from a chosen client address.
type direct struct {
	t       *testing.T
	e       *env
	addr    string
	cookies map[string]string
}

func (e *env) from(t *testing.T, addr string) *direct {
	return &direct{t: t, e: e, addr: addr, cookies: map[string]string{}}
}

func (d *direct) do(method, path string, form url.Values) *http.Response {
	d.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, "http://gw.example.test"+path, body)
	req.RemoteAddr = d.addr + ":40000"
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range d.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	d.e.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(d.cookies, c.Name)
		} else {
			d.cookies[c.Name] = c.Value
		}
	}
	return res
}

func (d *direct) login(user, pass string) *http.Response {
	d.t.Helper()
	form := readAll(d.do("GET", "/.gateway/login", nil))
	return d.do("POST", "/.gateway/login", url.Values{
		"username": {user}, "password": {pass}, "csrf_token": {field(d.t, csrfRe, form)},
	})
}

func readAll(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestKnownDeviceIsNotSlowedByStrangers(t *testing.T) {
	e := newEnv(t, "")
	owner := aliceSignedIn(t, e)
	delete(owner.cookies, "gateway_session")

	// Strangers from many networks guess at alice's password.
	for i := 0; i < 40; i++ {
		e.from(t, fmt.Sprintf("198.51.%d.1", i)).login("alice", "guess")
	}
	stranger := e.from(t, "203.0.113.5")
	r := stranger.login("alice", alicePass)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("new browser during the attack: status %d, Retry-After %q; want 429 with "+
			"Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := owner.login("alice", alicePass); r.StatusCode != http.StatusSeeOther {
		t.Errorf("owner's known browser during the attack: status %d, want 303", r.StatusCode)
	}
	// Where alice signed in from is remembered for the head start under a flood; where
	// she only failed, or someone else guessed, is not.
	for addr, want := range map[string]bool{"192.0.2.10": true, "203.0.113.5": false,
		"198.51.1.1": false} {
		if got := e.h.SignedInFrom("alice", netip.MustParseAddr(addr)); got != want {
			t.Errorf("signed in from %s: %v, want %v", addr, got, want)
		}
	}
}

func TestThrottledAnswerSameForUnknownUser(t *testing.T) {
	e := newEnv(t, "")
	var pages []string
	for _, user := range []string{"alice", "nobody-here"} {
		c := e.from(t, "192.0.2.20")
		if user != "alice" {
			c = e.from(t, "192.0.2.21")
		}
		var r *http.Response
		for i := 0; i < 6; i++ {
			r = c.login(user, "wrong")
		}
		if r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s: sixth failure: status %d, want 429", user, r.StatusCode)
		}
		body := strings.ReplaceAll(readAll(r), user, "USER")
		pages = append(pages, stripTokens(body))
	}
	if pages[0] != pages[1] {
		t.Errorf("throttled pages differ for a real and an unknown user:\n%s\n---\n%s",
			pages[0], pages[1])
	}
}

// TestStolenDeviceCookieGetsFewGuesses: the device cookie exempts the browser the owner
// signed in with from the per-username spacing, but only for a few failures: a thief who
// holds it, asking from a new network each time, gets those few and is then spaced out
// as strangers are.
func TestStolenDeviceCookieGetsFewGuesses(t *testing.T) {
	e := newEnv(t, "")
	owner := aliceSignedIn(t, e)
	device := owner.cookies["gateway_device"]
	if device == "" {
		t.Fatal("no device cookie after signing in")
	}
	// strangers from many networks fill alice's spacing
	fillSpacing(t, e)
	if got, want := thiefGuesses(t, device, e), fewGuesses(); got != want {
		t.Errorf("guesses with the owner's device cookie from new networks: %v, want %v",
			got, want)
	}
}

// thiefGuesses makes two guesses more than a device cookie's exemption allows at alice's
// password with the cookie device, each from a new network, taking turns at the gateways
// envs, and returns their statuses.
func thiefGuesses(t *testing.T, device string, envs ...*env) string {
	t.Helper()
	var got []int
	for i := range proxy.DeviceStrikes + 2 {
		thief := envs[i%len(envs)].from(t, fmt.Sprintf("203.0.%d.7", i))
		thief.cookies["gateway_device"] = device
		got = append(got, thief.login("alice", "guess").StatusCode)
	}
	return fmt.Sprint(got)
}

// fewGuesses is what thiefGuesses returns when the exemption holds for what it allows
// and no more: that many checked guesses, then refusals.
func fewGuesses() string {
	want := make([]int, 0, proxy.DeviceStrikes+2)
	for range proxy.DeviceStrikes {
		want = append(want, http.StatusUnauthorized)
	}
	return fmt.Sprint(append(want, http.StatusTooManyRequests, http.StatusTooManyRequests))
}

// gatewaysSharingAStore returns two gateways that share one users file, one session
// store and its counts of failed sign-ins (a bolt file), as gateways sharing a Redis do.
func gatewaysSharingAStore(t *testing.T) (a, b *env) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "sessions.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	up := newEcho(t)
	routes := fmt.Sprintf("routes:\n  - upstream: %q\n", up.URL)
	a = newEnvByHand(t, up, routes, handParts{store: st, tally: st.Tally()})
	b = newEnvByHand(t, up, routes, handParts{store: st, tally: st.Tally(),
		users: a.usersFile})
	return a, b
}

// TestDeviceExemptionCountedTogether: gateways that share a store count the failures of
// a device cookie together, so a thief of the owner's cookie gets the few guesses it
// allows in all, not at each gateway; and a copy retired at one is retired at all.
func TestDeviceExemptionCountedTogether(t *testing.T) {
	a, b := gatewaysSharingAStore(t)
	owner := aliceSignedIn(t, a)
	device := owner.cookies["gateway_device"]
	fillSpacing(t, a)
	if got, want := thiefGuesses(t, device, a, b), fewGuesses(); got != want {
		t.Errorf("guesses with the owner's device cookie, spread over two gateways: %v, "+
			"want %v", got, want)
	}

}

// TestDeviceRetiredAtEveryGateway: when the owner signs in again at one gateway, a copy
// of the old device cookie is exempt from nothing at the others that share its store.
func TestDeviceRetiredAtEveryGateway(t *testing.T) {
	a, b := gatewaysSharingAStore(t)
	owner := aliceSignedIn(t, a)
	copied := owner.cookies["gateway_device"]
	again := b.from(t, "192.0.2.10")
	again.cookies["gateway_device"] = copied
	if r := again.login("alice", alicePass); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner's sign-in at the second gateway: status %d", r.StatusCode)
	}
	fillSpacing(t, a)
	thief := a.from(t, "203.0.200.7")
	thief.cookies["gateway_device"] = copied
	if r := thief.login("alice", "guess"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the old cookie at the first gateway after the owner signed in at the "+
			"second: status %d, want 429", r.StatusCode)
	}
}

// TestOwnerSignInRetiresACopiedDeviceCookie: when the owner signs in again, their
// browser gets a cookie of a new id, and a copy of the old one, which a thief may hold,
// is exempt from nothing from then on, rather than getting its guesses back.
func TestOwnerSignInRetiresACopiedDeviceCookie(t *testing.T) {
	e := newEnv(t, "")
	owner := aliceSignedIn(t, e)
	copied := owner.cookies["gateway_device"]
	for i := range proxy.DeviceStrikes {
		thief := e.from(t, fmt.Sprintf("203.0.%d.7", i))
		thief.cookies["gateway_device"] = copied
		if r := thief.login("alice", "guess"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("thief's guess %d: status %d, want 401", i+1, r.StatusCode)
		}
	}
	delete(owner.cookies, "gateway_session")
	if r := owner.login("alice", alicePass); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner's second sign-in: status %d", r.StatusCode)
	}
	if owner.cookies["gateway_device"] == copied {
		t.Error("the owner's browser kept the device cookie a thief may have copied")
	}
	// strangers fill the spacing; the copy gets nothing, the owner's new cookie passes
	fillSpacing(t, e)
	thief := e.from(t, "203.0.100.7")
	thief.cookies["gateway_device"] = copied
	if r := thief.login("alice", "guess"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the copied cookie after the owner signed in again: status %d, want 429",
			r.StatusCode)
	}
	delete(owner.cookies, "gateway_session")
	if r := owner.login("alice", alicePass); r.StatusCode != http.StatusSeeOther {
		t.Errorf("owner's browser, new cookie, during the guessing: status %d, want 303",
			r.StatusCode)
	}
}

// TestRefusedAttemptsSpendNoDeviceExemption: attempts the throttle refuses before any
// password check (an address that others made fail) are no failures, and leave the
// device cookie's exemption as it was.
func TestRefusedAttemptsSpendNoDeviceExemption(t *testing.T) {
	e := newEnv(t, "")
	owner := aliceSignedIn(t, e)
	delete(owner.cookies, "gateway_session")
	// a neighbour behind the same address fails for other names until it is refused
	for i := range 25 {
		e.from(t, "192.0.2.10").login(fmt.Sprintf("user%d", i), "guess")
	}
	for range proxy.DeviceStrikes + 1 {
		if r := owner.login("alice", alicePass); r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("owner at the refused address: status %d, want 429", r.StatusCode)
		}
	}
	// at home, with strangers filling the spacing, the cookie still exempts the owner
	fillSpacing(t, e)
	owner.addr = "192.0.2.77"
	if r := owner.login("alice", alicePass); r.StatusCode != http.StatusSeeOther {
		t.Errorf("owner's browser at home after refused attempts: status %d, want 303",
			r.StatusCode)
	}
}

// aliceSignedIn returns a client at 192.0.2.10 in which alice has signed in, so that it
// holds her device cookie.
func aliceSignedIn(t *testing.T, e *env) *direct {
	t.Helper()
	owner := e.from(t, "192.0.2.10")
	if r := owner.login("alice", alicePass); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner's first sign-in: status %d", r.StatusCode)
	}
	return owner
}

// fillSpacing has strangers from 40 networks guess at alice's password, which fills its
// per-username spacing.
func fillSpacing(t *testing.T, e *env) {
	t.Helper()
	for i := range 40 {
		e.from(t, fmt.Sprintf("198.51.%d.1", i)).login("alice", "guess")
	}
}

// heldTally is a store's tally whose Claim waits for release once held is closed: a
// sign-in that reaches it keeps its password-check slot until then.
type heldTally struct {
	throttle.Tally
	held    chan struct{} // closed by the first Claim
	once    sync.Once
	release chan struct{}
}

func (h *heldTally) Claim(ctx context.Context, keys []string, rules []throttle.Rule,
	now time.Time, keep time.Duration) (throttle.Claimed, error) {
	first := false
	h.once.Do(func() { first = true; close(h.held) })
	if first {
		<-h.release
	}
	return h.Tally.Claim(ctx, keys, rules, now, keep)
}

// TestSignInWaitEndsBeforeThePage: a sign-in that waits for a password check longer than
// two thirds of timeouts.page gets 503 with the form again and Retry-After, in time for
// its page, rather than a check nobody can get the answer of. The attempt counts as a
// failure, so that guessers cannot hold places in the queue for free: more of them than
// the throttle allows failures are throttled.
func TestSignInWaitEndsBeforeThePage(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "sessions.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tally := &heldTally{Tally: st.Tally(), held: make(chan struct{}),
		release: make(chan struct{})}
	up := newEcho(t)
	e := newEnvByHand(t, up, fmt.Sprintf("routes:\n  - upstream: %q\n"+
		"timeouts:\n  page: 900ms\n", up.URL), handParts{store: st, tally: tally, slots: 1})
	free := sync.OnceFunc(func() { close(tally.release) })
	t.Cleanup(free) // before the server closes, which waits for alice's sign-in
	// alice's sign-in holds the one slot, past its own page's deadline: her answer is
	// never written, and only its end is waited for
	alice := e.browser()
	token := field(t, csrfRe, alice.get(proxy.LoginPath).body)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := alice.c.PostForm(e.gw.URL+proxy.LoginPath, url.Values{
			"username": {"alice"}, "password": {alicePass}, "csrf_token": {token}})
		if err == nil {
			res.Body.Close()
		}
	}()
	<-tally.held

	// An answer written past the page's deadline would not arrive at all: bob's
	// requests go on connections of their own, which no earlier deadline can have cut.
	bob := e.browser()
	bob.c.Transport = &http.Transport{DisableKeepAlives: true}
	bob.c.Timeout = 10 * time.Second // rather than wait for a slot that never comes
	// as many as the failures a user may make from one address
	for i := range 5 {
		r := bob.login("bob", bobPass, "/")
		if r.StatusCode != http.StatusServiceUnavailable ||
			r.Header.Get("Retry-After") != "10" ||
			!strings.Contains(r.body, "Too many sign-ins at once") ||
			!strings.Contains(r.body, `value="bob"`) {
			t.Fatalf("waiting sign-in %d: %d, Retry-After %q, body %q; want 503, 10 and "+
				"the form with the name and a message", i+1, r.StatusCode,
				r.Header.Get("Retry-After"), r.body)
		}
	}
	if r := bob.login("bob", bobPass, "/"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("bob after five waits: %d, want 429", r.StatusCode)
	}
	free()
	<-done
}
