package password

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkVerify measures one verification with the parameters the gateway
// writes (DefaultArgon2) and with bcrypt at its usual cost of 10.
func BenchmarkVerify(b *testing.B) {
	argonHash, err := Generate("password", DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("password"), 10)
	if err != nil {
		b.Fatal(err)
	}
	benchmarks := []struct {
		name, encoded string
	}{
		{"argon2id-default", argonHash},
		{"bcrypt-10", string(bcryptHash)},
	}
	for _, bm := range benchmarks {
		h := mustParse(b, bm.encoded)
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				if !h.Verify("password") {
					b.Fatal("Verify = false")
				}
			}
		})
	}
}

// BenchmarkParse measures parsing alone, which a users file reload does for
// every user.
func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(cheapArgon2id); err != nil {
			b.Fatal(err)
		}
	}
}
