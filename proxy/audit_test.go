package proxy_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuditNamesOnlyUsers fails sign-ins with a name no user has, as when a password is
// typed into the username field, and with a user's name: the log shows the user's name,
// and for the other only a digest that is the same each time.
func TestAuditNamesOnlyUsers(t *testing.T) {
	e := newSecEnv(t, secOptions{})
	const typo = "Correct-Horse-Battery-9"
	for _, c := range []struct{ user, pass string }{
		{typo, "x"}, {typo, "y"}, {"alice", "wrong"},
	} {
		if r := e.client().login(t, c.user, c.pass, ""); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("sign-in as %s: status %d, want 401", c.user, r.StatusCode)
		}
	}
	var names []string
	for _, rec := range e.logs.records() {
		if rec["msg"] == "sign-in failed" {
			names = append(names, rec["user"].(string))
		}
	}
	if len(names) != 3 {
		t.Fatalf("%d failed sign-ins logged, want 3", len(names))
	}
	if !strings.HasPrefix(names[0], "unknown-") || names[0] != names[1] ||
		names[2] != "alice" {
		t.Errorf("logged users %q; want the same unknown-digest twice, then alice", names)
	}
	e.logs.mu.Lock()
	all := e.logs.b.String()
	e.logs.mu.Unlock()
	if strings.Contains(all, typo) {
		t.Error("the log holds the name no user has")
	}
}
