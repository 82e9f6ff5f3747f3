package password

import (
	"errors"
	"testing"
	"time"
)

func TestSameCost(t *testing.T) {
	vectors := append(append([]vector{}, pythonVectors...),
		vector{"argon2id", cheapArgon2id, "password"})
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			h := mustParse(t, v.encoded)
			d, err := SameCost(h)
			if err != nil {
				t.Fatalf("SameCost: %v", err)
			}
			if d.Scheme() != h.Scheme() {
				t.Errorf("Scheme() = %q, want %q", d.Scheme(), h.Scheme())
			}
			checkSameParams(t, h, d)
			for _, pw := range []string{"", v.password, "password"} {
				if d.Verify(pw) {
					t.Errorf("Verify(%q) = true on a same-cost hash", pw)
				}
			}

			// a decoy's decoy is a decoy too
			dd, err := SameCost(d)
			if err != nil {
				t.Fatalf("SameCost of a same-cost hash: %v", err)
			}
			checkSameParams(t, h, dd)
			if dd.Verify("") {
				t.Errorf("Verify(\"\") = true on a same-cost hash")
			}
		})
	}
}

// checkSameParams fails unless d has h's parameters, salt and key lengths, and
// a salt of its own.
func checkSameParams(t *testing.T, h, d Hash) {
	t.Helper()
	switch h := h.(type) {
	case *argon2idHash:
		d := d.(*argon2idHash)
		if d.memory != h.memory || d.time != h.time || d.threads != h.threads ||
			len(d.salt) != len(h.salt) || len(d.key) != len(h.key) {
			t.Errorf("same-cost hash %v, want %v", d, h)
		}
		checkFreshSalt(t, h.salt, d.salt)
	case *bcryptHash:
		d := d.(*bcryptHash)
		if d.cost != h.cost || d.variant != h.variant || len(d.encoded) != len(h.encoded) {
			t.Errorf("same-cost hash %v, want %v", d, h)
		}
		checkFreshSalt(t, h.encoded[7:29], d.encoded[7:29])

		// the decoy must be a well-formed bcrypt hash, or Verify would fail
		// fast instead of doing the work
		if p, err := Parse(string(d.encoded)); err != nil || p.(*bcryptHash).cost != h.cost {
			t.Errorf("same-cost bcrypt hash does not parse back: %v", err)
		}
	case *scryptHash:
		d := d.(*scryptHash)
		if d.logN != h.logN || d.r != h.r || d.p != h.p ||
			len(d.salt) != len(h.salt) || len(d.key) != len(h.key) {
			t.Errorf("same-cost hash %v, want %v", d, h)
		}
		checkFreshSalt(t, h.salt, d.salt)
	case *pbkdf2Hash:
		d := d.(*pbkdf2Hash)
		if d.scheme != h.scheme || d.iterations != h.iterations ||
			len(d.salt) != len(h.salt) || len(d.key) != len(h.key) {
			t.Errorf("same-cost hash %v, want %v", d, h)
		}
		checkFreshSalt(t, h.salt, d.salt)
	default:
		t.Fatalf("unexpected Hash type %T", h)
	}
}

func checkFreshSalt(t *testing.T, a, b []byte) {
	t.Helper()
	if string(a) == string(b) {
		t.Errorf("same-cost hash reuses the salt")
	}
}

// TestSameCostDoesNotHash checks that SameCost builds its hash without hashing:
// a bcrypt hash of cost 18 would take some 20 seconds.
func TestSameCostDoesNotHash(t *testing.T) {
	expensive := []string{
		"$2b$18$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$argon2id$v=19$m=2097152,t=64,p=4$" + salt16 + "$" + key32,
		"$pbkdf2-sha512$10000000$" + salt16 + "$" + key32,
		"$scrypt$ln=24,r=1,p=16$" + salt16 + "$" + key32,
	}
	for _, encoded := range expensive {
		h := mustParse(t, encoded)
		start := time.Now()
		if _, err := SameCost(h); err != nil {
			t.Fatalf("SameCost(%v): %v", h, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("SameCost(%v) took %v", h, d)
		}
	}
}

type foreignHash struct{}

func (foreignHash) Verify(string) bool { return true }
func (foreignHash) Scheme() string     { return "foreign" }

func TestSameCostForeign(t *testing.T) {
	for _, h := range []Hash{nil, foreignHash{}} {
		if _, err := SameCost(h); !errors.Is(err, ErrUnsupported) {
			t.Errorf("SameCost(%T): error %v, want ErrUnsupported", h, err)
		}
	}
}
