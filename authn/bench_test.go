package authn

import (
	"context"
	"testing"

	"github.com/frontgate/gateway/authn/password"
)

// BenchmarkAuthenticate compares the cost of each way a sign-in can fail, at the
// parameters new hashes use. The three should take the same time per operation.
func BenchmarkAuthenticate(b *testing.B) {
	h, err := password.Generate("right", password.DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := writeStore(b, "users:\n  alice:\n    password: \""+h+"\"\n"+
		"  dave:\n    password: \""+h+"\"\n    disabled: true\n")
	a := NewAuthenticator(s, 1)
	for _, c := range []struct{ name, user, pw string }{
		{"wrong-password", "alice", "wrong"},
		{"unknown-user", "nobody", "wrong"},
		{"disabled-user", "dave", "right"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				a.Authenticate(context.Background(), c.user, c.pw)
			}
		})
	}
}
