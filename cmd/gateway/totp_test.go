package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
)

// TestTOTPSecretCommand: the first line goes into a users file as it is printed, and the
// URI carries the same secret for the user and issuer asked for.
func TestTOTPSecretCommand(t *testing.T) {
	code, out, errOut := runCmd(t, "", "totp-secret", "-user", "alice", "-issuer", "Intranet")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(errOut, "users file") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	h, _ := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1, Threads: 1,
		SaltLen: 16, KeyLen: 32})
	users, err := authn.ParseUsers([]byte("users:\n  alice:\n    password: \""+h+"\"\n    "+
		lines[0]+"\n"), "users.yaml")
	if err != nil {
		t.Fatalf("the printed line in a users file: %v", err)
	}
	secret := users["alice"].TOTP.String()
	u, err := url.Parse(lines[1])
	if err != nil || u.Scheme != "otpauth" || u.Path != "/Intranet:alice" ||
		u.Query().Get("secret") != secret || u.Query().Get("issuer") != "Intranet" {
		t.Errorf("URI %q does not carry secret %s for Intranet:alice (%v)", lines[1], secret,
			err)
	}
	// two runs, two secrets
	if _, again, _ := runCmd(t, "", "totp-secret", "-user", "alice"); again == out {
		t.Error("two runs printed the same secret")
	}
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"totp-secret"}, "give -user"},
		{[]string{"totp-secret", "-user", "a", "x"}, `unexpected argument "x"`},
		{[]string{"totp-secret", "-user", "a", "-issuer", ""}, "-issuer is empty"},
	} {
		if code, _, errOut := runCmd(t, "", tt.args...); code != 2 ||
			!strings.Contains(errOut, "gateway totp-secret: "+tt.says) ||
			!strings.Contains(errOut, "usage") {
			t.Errorf("%q: exit %d, %q; want 2, saying %q, with the usage", tt.args, code,
				errOut, tt.says)
		}
	}
}
