package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/config"
)

// TestSecretRotationKeepsUsersSignedIn rotates session secrets on a running gateway, as
// an operator would: the new secret first, then, once the users have been back, the old
// one removed. A user who came back in between stays signed in; one who did not is
// signed out.
func TestSecretRotationKeepsUsersSignedIn(t *testing.T) {
	pollConfigFast(t)
	const (
		secretA = "rotation-test-secret-A-0123456789abcdef"
		secretB = "rotation-test-secret-B-0123456789abcdef"
	)
	up := newUpstream(t)
	path := writeConfig(t, up)
	orig, _ := os.ReadFile(path)
	setSecrets := func(secrets ...string) {
		q := make([]string, len(secrets))
		for i, s := range secrets {
			q[i] = fmt.Sprintf("%q", s)
		}
		text := string(orig) + "session:\n  secrets: [" + strings.Join(q, ", ") + "]\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setSecrets(secretA)
	base, logs := runLogged(t, path)
	reloads := 0
	reload := func(secrets ...string) {
		t.Helper()
		setSecrets(secrets...)
		reloads++
		waitReloads(t, logs, reloads)
	}
	get := func(c *http.Client) (int, bool) {
		t.Helper()
		res, err := c.Get(base + "/app/x")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		reissued := false
		for _, sc := range res.Cookies() {
			reissued = reissued || (sc.Name == "gateway_session" && sc.MaxAge >= 0)
		}
		return res.StatusCode, reissued
	}

	back, away := signIn(t, base, "alice", "pw"), signIn(t, base, "alice", "pw")
	reload(secretB, secretA)
	if status, reissued := get(back); status != 200 || !reissued {
		t.Fatalf("after adding a secret: %d, cookie re-issued %v; want 200, true", status,
			reissued)
	}
	if status, reissued := get(back); status != 200 || reissued {
		t.Errorf("second request after adding a secret: %d, re-issued %v; want 200, false",
			status, reissued)
	}
	reload(secretB)
	if status, _ := get(back); status != 200 {
		t.Errorf("a user who came back before the old secret was removed: got %d, "+
			"want 200 (still signed in)", status)
	}
	if status, _ := get(away); status == 200 {
		t.Error("a session only the removed secret sealed still signs in")
	}

	// nor does it linger in the store: the reload that removed its secret ended it, with
	// the reason, though its browser never came back
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	waitSessions(t, cfg, 1, logs)
	want := `msg="session ended" log=audit user=alice reason="secret removed"`
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("no audit record %q; log:\n%s", want, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// a reload that only adds a secret ends nothing
	reload(secretB, "rotation-test-secret-C-0123456789abcdef")
	waitSessions(t, cfg, 1, logs)
	if status, _ := get(back); status != 200 {
		t.Errorf("after adding another secret: got %d, want 200", status)
	}
}

// TestShortenedLifetimeEndsSessions: a reload that shortens session.lifetime ends, in the
// store, the sessions already past it, though their browsers never come back, so that a
// later reload that lengthens it again brings none of them back.
func TestShortenedLifetimeEndsSessions(t *testing.T) {
	pollConfigFast(t)
	up := newUpstream(t)
	path := writeConfig(t, up)
	orig, _ := os.ReadFile(path)
	setLifetime := func(idle, life string) {
		text := string(orig) + "session:\n  idle_timeout: " + idle + "\n  lifetime: " + life +
			"\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setLifetime("30m", "1h")
	base, logs := runLogged(t, path)
	alice := signIn(t, base, "alice", "pw")
	time.Sleep(1100 * time.Millisecond) // older than the lifetime about to be set

	setLifetime("1s", "1s")
	waitReloads(t, logs, 1)
	want := `msg="session ended" log=audit user=alice reason=expired session=`
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("no audit record %q; log:\n%s", want, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	setLifetime("30m", "1h")
	waitReloads(t, logs, 2)
	statusOf := func(c *http.Client) int {
		t.Helper()
		res, err := c.Get(base + "/app/x")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := statusOf(alice); got != http.StatusUnauthorized {
		t.Errorf("the lifetime lengthened again: status %d, want 401 (the session ended)",
			got)
	}

	// a session still within the shortened lifetime, never used again, is ended once it
	// has passed it, and does not come back either
	later := signIn(t, base, "alice", "pw")
	setLifetime("2s", "2s")
	waitReloads(t, logs, 3)
	for deadline := time.Now().Add(10 * time.Second); strings.Count(logs.String(),
		want) < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the session that passed the lifetime later was not ended; log:\n%s",
				logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	setLifetime("30m", "1h")
	waitReloads(t, logs, 4)
	if got := statusOf(later); got != http.StatusUnauthorized {
		t.Errorf("a session that passed the shortened lifetime later: status %d after "+
			"lengthening it again, want 401", got)
	}
	// each session ended is recorded once, though both limits were shortened at once
	if n := strings.Count(logs.String(), want); n != 2 {
		t.Errorf("%d records of sessions ended for two sessions; log:\n%s", n,
			logs.String())
	}
}
