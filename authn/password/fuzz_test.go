package password

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors wrap exactly one
// sentinel, and that a parsed hash, and its SameCost twin, verify without
// panicking.
func FuzzParse(f *testing.F) {
	for _, v := range externalVectors {
		f.Add(v.encoded, v.password)
	}
	for _, v := range pythonVectors {
		f.Add(v.encoded, v.password)
	}
	// cheap enough for the fuzz body to verify
	for _, s := range []string{
		"$argon2id$v=19$m=8,t=1,p=1$" + b64(8) + "$" + b64(16),
		cheapBcrypt,
		"$scrypt$ln=1,r=1,p=1$" + b64(8) + "$" + b64(16),
		"$pbkdf2-sha512$1$" + b64(8) + "$" + b64(16),
	} {
		f.Add(s, "password")
	}
	for _, s := range []string{"", "$", "$$", "$2b$", "$argon2id$v=19$m=8,t=1,p=1$$",
		"$scrypt$ln=1,r=1,p=1$", "$pbkdf2$1$", "{SSHA}", "$6$salt$hash"} {
		f.Add(s, "")
	}

	f.Fuzz(func(t *testing.T, encoded, password string) {
		h, err := Parse(encoded)
		if err != nil {
			if errors.Is(err, ErrUnsupported) == errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse: error %v wraps neither or both sentinels", err)
			}
			if h != nil {
				t.Fatalf("Parse returned a Hash with its error")
			}
			if len(encoded) > 40 && strings.Contains(err.Error(), encoded) {
				t.Fatalf("error %q quotes the hash", err)
			}
			return
		}
		if h == nil {
			t.Fatal("Parse returned neither a Hash nor an error")
		}

		// a parsed hash may be legitimately expensive; verify only cheap ones
		if !cheap(h) {
			return
		}
		h.Verify(password)
		d, err := SameCost(h)
		if err != nil {
			t.Fatalf("SameCost: %v", err)
		}
		if d.Verify(password) || d.Verify("") {
			t.Fatal("a same-cost hash matched")
		}
	})
}

// cheap reports whether verifying against h takes about a millisecond or less,
// which keeps the fuzzer, and above all its minimizer, fast.
func cheap(h Hash) bool {
	switch h := h.(type) {
	case *argon2idHash:
		return uint64(h.memory)*uint64(h.time) <= 64
	case *bcryptHash:
		return h.cost <= 4
	case *scryptHash:
		return 128*h.r<<h.logN*h.p <= 16<<10
	case *pbkdf2Hash:
		return h.iterations <= 100
	}
	return false
}
