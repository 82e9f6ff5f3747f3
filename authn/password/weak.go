package password

import "fmt"

// Weak says why h is cheap to crack should it leak, or returns "" when its cost is at
// least the least that OWASP's Password Storage Cheat Sheet recommends for its scheme:
// bcrypt at cost 10; argon2id with as much memory times passes as the least of its
// settings, 7 MiB for 5 passes (35,840 KiB), which 19 MiB for 2 passes exceeds; scrypt
// with as large an N·r·p as the least of its settings, 2^14·8·5; PBKDF2 at 1,300,000
// iterations of SHA-1, 600,000 of SHA-224 or SHA-256, 210,000 of SHA-384 or SHA-512. The
// reason names the parameters of h, never its salt or key.
func Weak(h Hash) string {
	switch h := h.(type) {
	case *bcryptHash:
		if h.cost < 10 {
			return fmt.Sprintf("bcrypt at cost %d, below 10", h.cost)
		}
	case *argon2idHash:
		if uint64(h.memory)*uint64(h.time) < 35840 {
			return fmt.Sprintf("argon2id at m=%d,t=%d, less memory times passes than "+
				"OWASP's least settings (m=7168,t=5; m=19456,t=2)", h.memory, h.time)
		}
	case *scryptHash:
		if (uint64(1)<<h.logN)*uint64(h.r)*uint64(h.p) < 1<<13*8*10 {
			return fmt.Sprintf("scrypt at ln=%d,r=%d,p=%d, a smaller N·r·p than OWASP's "+
				"least settings (ln=14,r=8,p=5; ln=17,r=8,p=1)", h.logN, h.r, h.p)
		}
	case *pbkdf2Hash:
		least := map[string]int{"pbkdf2-sha1": 1_300_000, "pbkdf2-sha224": 600_000,
			"pbkdf2-sha256": 600_000, "pbkdf2-sha384": 210_000,
			"pbkdf2-sha512": 210_000}[h.scheme]
		if h.iterations < least {
			return fmt.Sprintf("%s at %d iterations, below %d", h.scheme, h.iterations,
				least)
		}
	}
	return ""
}
