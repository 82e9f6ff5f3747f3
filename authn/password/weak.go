package password

import "fmt"

// Weak says why h is cheap to crack should it leak, or returns "" when its cost is at
// least one that OWASP's Password Storage Cheat Sheet recommends for its scheme: bcrypt
// at cost 10; argon2id at 46 MiB for 1 pass, 19 MiB for 2, 12 MiB for 3, 9 MiB for 4 or
// 7 MiB for 5 and more; scrypt with a block size of 8 at N=2^17 for 1 lane, 2^16 for
// 2, 2^15 for 3, 2^14 for 5 or 2^13 for 10; PBKDF2 at 1,300,000 iterations of SHA-1,
// 600,000 of SHA-224 or SHA-256, 210,000 of SHA-384 or SHA-512. More of a cost than a
// setting asks for counts, not less of another. The reason names the parameters of h,
// never its salt or key.
func Weak(h Hash) string {
	switch h := h.(type) {
	case *bcryptHash:
		if h.cost < 10 {
			return fmt.Sprintf("bcrypt at cost %d, below 10", h.cost)
		}
	case *argon2idHash:
		// the least memory, in KiB, for 1 to 5 passes
		least := [...]uint32{47104, 19456, 12288, 9216, 7168}[min(h.time, 5)-1]
		if h.memory < least {
			passes := fmt.Sprintf("%d passes", h.time)
			switch {
			case h.time == 1:
				passes = "1 pass"
			case h.time > 5:
				passes = "5 passes or more"
			}
			return fmt.Sprintf("argon2id at m=%d,t=%d, below OWASP's least memory for %s, "+
				"m=%d", h.memory, h.time, passes, least)
		}
	case *scryptHash:
		// the least lanes for N = 2^13 to 2^17
		if h.r < 8 || h.logN < 13 {
			return fmt.Sprintf("scrypt at ln=%d,r=%d,p=%d, below OWASP's least, ln=13 "+
				"with r=8", h.logN, h.r, h.p)
		}
		if least := [...]int{10, 5, 3, 2, 1}[min(h.logN, 17)-13]; h.p < least {
			return fmt.Sprintf("scrypt at ln=%d,r=%d,p=%d, below OWASP's least lanes for "+
				"ln=%d, p=%d", h.logN, h.r, h.p, min(h.logN, 17), least)
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
