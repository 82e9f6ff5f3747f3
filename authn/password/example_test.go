package password_test

import (
	"fmt"
	"strings"

	"github.com/frontgate/gateway/authn/password"
)

func ExampleParse() {
	// the reference argon2id test vector, with a cheap 256 KiB cost
	h, err := password.Parse("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$" +
		"nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Scheme(), h.Verify("password"), h.Verify("Password"))
	fmt.Println(h) // never prints the salt or key

	_, err = password.Parse("$6$rounds=5000$saltsalt$hash")
	fmt.Println(err)
	// Output:
	// argon2id true false
	// argon2id(m=256,t=2,p=1)
	// parsing password hash: unsupported scheme: $6$ (SHA-512 crypt)
}

func ExampleGenerate() {
	encoded, err := password.Generate("correct horse battery staple", password.DefaultArgon2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$"))
	// Output: true
}

// A sign-in checks an unknown user's password against a same-cost hash, so
// that the time it takes does not tell unknown users from known ones.
func ExampleSameCost() {
	known, err := password.Parse("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$" +
		"nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	if err != nil {
		fmt.Println(err)
		return
	}
	users := map[string]password.Hash{"alice": known}
	decoy, err := password.SameCost(known)
	if err != nil {
		fmt.Println(err)
		return
	}

	signIn := func(user, pw string) bool {
		h, ok := users[user]
		if !ok {
			h = decoy
		}
		return h.Verify(pw)
	}
	fmt.Println(signIn("alice", "password"), signIn("mallory", "password"))
	// Output: true false
}
