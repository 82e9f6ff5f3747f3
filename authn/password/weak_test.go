package password

import "testing"

func TestWeak(t *testing.T) {
	for _, tt := range []struct {
		name, encoded, want string
	}{
		{"bcrypt at 5, as htpasswd -B makes it",
			"$2y$05$UjS5WzqdetTU7C93nFvy8e53TEyXEysPnuTyLx0eEkz/d/rXki0J2",
			"bcrypt at cost 5, below 10"},
		{"bcrypt at 10", "$2b$10$n62CVTpNecZ937IscpvFHOvhl39aNMcBhiWjk87Pv/CXUMSAYIQ7S", ""},
		{"argon2id as hash-password makes it",
			"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" +
				"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"argon2id, OWASP's least memory", "$argon2id$v=19$m=7168,t=5,p=1$" +
			"c29tZXNhbHRzb21lc2FsdA$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"argon2id, cheap", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"argon2id at m=64,t=1, below OWASP's least memory for 1 pass, m=47104"},
		{"scrypt at OWASP's", "$scrypt$ln=17,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"scrypt, cheap", "$scrypt$ln=10,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"scrypt at ln=10,r=8,p=1, below OWASP's least, ln=13 with r=8"},
		{"argon2id at OWASP's least product", "$argon2id$v=19$m=7168,t=5,p=1$" +
			"c29tZXNhbHRzb21lc2FsdA$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"argon2id just under it", "$argon2id$v=19$m=7167,t=5,p=1$" +
			"c29tZXNhbHRzb21lc2FsdA$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"argon2id at m=7167,t=5, below OWASP's least memory for 5 passes, m=7168"},
		{"scrypt at OWASP's least", "$scrypt$ln=14,r=8,p=5$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"argon2id, little memory for many passes", "$argon2id$v=19$m=600,t=60,p=1$" +
			"c29tZXNhbHRzb21lc2FsdA$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"argon2id at m=600,t=60, below OWASP's least memory for 5 passes or more, " +
				"m=7168"},
		{"argon2id, one pass under 46 MiB", "$argon2id$v=19$m=36000,t=1,p=1$" +
			"c29tZXNhbHRzb21lc2FsdA$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"argon2id at m=36000,t=1, below OWASP's least memory for 1 pass, m=47104"},
		{"argon2id, one pass at 46 MiB", "$argon2id$v=19$m=47104,t=1,p=1$" +
			"c29tZXNhbHRzb21lc2FsdA$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"scrypt, tiny N, many lanes", "$scrypt$ln=1,r=8,p=16$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"scrypt at ln=1,r=8,p=16, below OWASP's least, ln=13 with r=8"},
		{"scrypt, too few lanes for its N", "$scrypt$ln=16,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"scrypt at ln=16,r=8,p=1, below OWASP's least lanes for ln=16, p=2"},
		{"scrypt at 2^16 with 2 lanes", "$scrypt$ln=16,r=8,p=2$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"scrypt, small blocks", "$scrypt$ln=17,r=4,p=1$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"scrypt at ln=17,r=4,p=1, below OWASP's least, ln=13 with r=8"},
		{"pbkdf2-sha256 at 600,000", "$pbkdf2-sha256$600000$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", ""},
		{"pbkdf2-sha512 at 10,000", "$pbkdf2-sha512$10000$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"pbkdf2-sha512 at 10000 iterations, below 210000"},
		{"pbkdf2 (SHA-1) at 600,000", "$pbkdf2$600000$c29tZXNhbHRzb21lc2FsdA$" +
			"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
			"pbkdf2-sha1 at 600000 iterations, below 1300000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.encoded)
			if err != nil {
				t.Fatal(err)
			}
			if got := Weak(h); got != tt.want {
				t.Errorf("Weak: %q, want %q", got, tt.want)
			}
		})
	}
}
