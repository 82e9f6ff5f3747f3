package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config"
)

// writeUsersFile writes the users file next to the config at path, each user with the
// extra lines given and their hash in hashes, a cheap one of "pw" made and kept there
// when there is none.
func writeUsersFile(t *testing.T, path string, hashes, users map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("users:\n")
	for name, extra := range users {
		if hashes[name] == "" {
			h, err := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1,
				Threads: 1, SaltLen: 16, KeyLen: 32})
			if err != nil {
				t.Fatal(err)
			}
			hashes[name] = h
		}
		b.WriteString("  " + name + ":\n    password: \"" + hashes[name] + "\"\n" + extra)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "users.yaml"),
		[]byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitSessions waits up to 5s until the store holds exactly want sessions.
func waitSessions(t *testing.T, cfg *config.Config, want int, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := ListSessions(context.Background(), cfg, "", nil)
		if err == nil && len(list) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions in the store: %v, %v; want %d; log:\n%s", list, err, want,
				logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUsersFileChangeEndsStoredSessions edits the users file under a running gateway:
// the sessions of a user whose password changed, who was removed or who was disabled
// leave the store at once, though none of their browsers comes back, and each end is
// audited. An unchanged user's session stays.
func TestUsersFileChangeEndsStoredSessions(t *testing.T) {
	usersPollInterval = 20 * time.Millisecond
	defer func() { usersPollInterval = 2 * time.Second }()
	up := newUpstream(t)
	path := writeConfig(t, up)
	hashes := map[string]string{}
	writeUsersFile(t, path, hashes, map[string]string{"alice": "", "bob": "", "carol": "",
		"dave": ""})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	base, logs := runLogged(t, path)
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		signIn(t, base, u, "pw")
	}
	waitSessions(t, cfg, 4, logs)

	// alice gets a new hash (the same password, another salt), bob goes, carol is
	// disabled, dave is untouched but for his groups
	delete(hashes, "alice")
	writeUsersFile(t, path, hashes, map[string]string{"alice": "",
		"carol": "    disabled: true\n", "dave": "    groups: [ops]\n"})
	waitSessions(t, cfg, 1, logs)
	list, err := ListSessions(context.Background(), cfg, "", nil)
	if err != nil || len(list) != 1 || list[0].User != "dave" {
		t.Fatalf("left in the store: %+v, %v; want dave's session", list, err)
	}
	// each record follows its deletion
	deadline := time.Now().Add(5 * time.Second)
	for user, reason := range map[string]string{"alice": "password changed",
		"bob": "user removed", "carol": "user disabled"} {
		want := "msg=\"session ended\" log=audit user=" + user + " reason=\"" + reason + "\""
		for !strings.Contains(logs.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no audit record %q; log:\n%s", want, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestStartEndsSessionsOfChangedUsers changes the users file while no gateway runs: the
// next start clears the sessions it ended from the store by itself.
func TestStartEndsSessionsOfChangedUsers(t *testing.T) {
	up := newUpstream(t)
	path := writeConfig(t, up) // bolt: sessions outlive the process
	hashes := map[string]string{}
	writeUsersFile(t, path, hashes, map[string]string{"alice": "", "bob": "", "carol": ""})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startUntil(t, ctx, path)
	signIn(t, base, "alice", "pw")
	signIn(t, base, "bob", "pw")
	signIn(t, base, "carol", "pw")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}

	// alice is gone, bob has a new password, carol is as she was
	delete(hashes, "bob")
	writeUsersFile(t, path, hashes, map[string]string{"bob": "", "carol": ""})
	_, logs := runLogged(t, path)
	waitSessions(t, cfg, 1, logs)
	list, err := ListSessions(context.Background(), cfg, "", nil)
	if err != nil || len(list) != 1 || list[0].User != "carol" {
		t.Fatalf("left in the store: %+v, %v; want carol's session", list, err)
	}
}

// TestUsersFileSwitchEndsStoredSessions points users.file at another file under a
// running gateway: the sessions of users the new file holds with another password, or
// not at all, leave the store at once, as when the file itself changes.
func TestUsersFileSwitchEndsStoredSessions(t *testing.T) {
	pollConfigFast(t)
	up := newUpstream(t)
	path := writeConfig(t, up)
	hashes := map[string]string{}
	writeUsersFile(t, path, hashes, map[string]string{"alice": "", "bob": "", "carol": ""})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	base, logs := runLogged(t, path)
	for _, u := range []string{"alice", "bob", "carol"} {
		signIn(t, base, u, "pw")
	}
	waitSessions(t, cfg, 3, logs)

	// the other file: alice with a new hash, bob not there, carol as she was
	dir := filepath.Dir(path)
	other := "users:\n  alice:\n    password: \"" + mustCheapHash(t) + "\"\n" +
		"  carol:\n    password: \"" + hashes["carol"] + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, "other-users.yaml"), []byte(other),
		0o600); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(text), "file: users.yaml",
		"file: other-users.yaml", 1)), 0o600)
	waitSessions(t, cfg, 1, logs)
	list, err := ListSessions(context.Background(), cfg, "", nil)
	if err != nil || len(list) != 1 || list[0].User != "carol" {
		t.Fatalf("left in the store: %+v, %v; want carol's session", list, err)
	}
}

// mustCheapHash returns a cheap hash of "pw" with a salt of its own.
func mustCheapHash(t *testing.T) string {
	t.Helper()
	h, err := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1, Threads: 1,
		SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
