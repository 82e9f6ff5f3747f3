package password

import (
	"strings"
	"testing"
)

// A vector is a hash whose password is known, made by an implementation other
// than this package's.
type vector struct {
	name, encoded, password string
}

// externalVectors come from public sources, each named in its group.
var externalVectors = []vector{
	// Authelia's documentation (docs/content/reference/guides/passwords.md):
	// the output of `authelia crypto hash generate argon2 --password password`.
	{"authelia docs argon2id", "$argon2id$v=19$m=65536,t=3,p=4$Hjc8e7WYcBFcJmEDUOsS9A$" +
		"ozM7RyZR1EyDR8cuyVpDDfmLrGPGFgo5E2NNqRumui4", "password"},
	// The same page's example users file, for every user.
	{"authelia docs users file", "$argon2id$v=19$m=65536,t=3,p=2$BpLnfgDsc2WD8F2q$" +
		"o/vzA4myCqZZ36bUGsDY//8mKUYNZZaR0t4MFFSs+iM", "password"},
	// Authelia's OpenID Connect integration guides: "The digest of 'insecure_secret'".
	{"authelia docs pbkdf2-sha512", "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$" +
		"JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiHrD0YKtZaR/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng",
		"insecure_secret"},
	// Authelia's tests (internal/configuration/schema); the password, "password",
	// was confirmed with Python's hashlib.pbkdf2_hmac.
	{"authelia tests pbkdf2-sha256", "$pbkdf2-sha256$310000$C./EitMdCemqoluAK4Kapw$" +
		"TTb4uTnL09mJsfbVnypCzJjGvICiiqO56i8VlU5zx6Q", "password"},

	// The Argon2 reference implementation's tests (phc-winner-argon2 src/test.c,
	// repeated in libar2's test.c), password "password", salt "somesalt".
	{"reference argon2id m=256 p=1", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$" +
		"nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password"},
	{"reference argon2id m=256 p=2", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$" +
		"bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", "password"},
	{"reference argon2id m=65536 t=2", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$" +
		"CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password"},
	{"reference argon2id m=65536 t=1", "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$" +
		"9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg", "password"},
	{"reference argon2id other password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$" +
		"C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94", "differentpassword"},
	{"reference argon2id other salt", "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$" +
		"vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw", "password"},

	// Openwall crypt_blowfish's tests (wrapper.c), which glibc and libxcrypt
	// also run.
	{"crypt_blowfish U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"crypt_blowfish U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
		"U*U*"},
	{"crypt_blowfish U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a",
		"U*U*U"},
	{"crypt_blowfish empty", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""},
	{"crypt_blowfish 2b high bytes",
		"$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", "\xff\xff\xa3"},
	{"crypt_blowfish 2y high byte",
		"$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", "\xa3"},
	{"crypt_blowfish 2b high byte",
		"$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", "\xa3"},

	// passlib's documentation of passlib.hash.scrypt.
	{"passlib docs scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$" +
		"nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", "password"},
}

// pythonVectors are printed by testdata/make_vectors.py, from Python's hashlib
// (OpenSSL) and the system's libxcrypt.
var pythonVectors = []vector{
	{"pbkdf2 sha1",
		"$pbkdf2$1000$8PHy8/T19vf4.fr7/P3./w$" +
			"b1ALU8iwgU5.fFcj2U3.nlZfu20",
		"correct horse battery staple"},
	{"pbkdf2-sha1 alias",
		"$pbkdf2-sha1$1000$8PHy8/T19vf4.fr7/P3./w$" +
			"b1ALU8iwgU5.fFcj2U3.nlZfu20",
		"correct horse battery staple"},
	{"pbkdf2-sha224",
		"$pbkdf2-sha224$1000$8PHy8/T19vf4.fr7/P3./w$" +
			"xtiqEdDwcorE3X0isAGSIDEL.M3x7jVl9HqTZQ",
		"correct horse battery staple"},
	{"pbkdf2-sha256",
		"$pbkdf2-sha256$1000$8PHy8/T19vf4.fr7/P3./w$" +
			"0A35jjZ8X.jm/Nj9sc4uzmU/RqA2wljSyf5enbVFSOY",
		"correct horse battery staple"},
	{"pbkdf2-sha256 utf8",
		"$pbkdf2-sha256$1$c2FsdHNhbHQ$" +
			".G.ERl0fmx1zOz3im/d/ogbnY59.Y7H9n5dgFtU1qUw",
		"p\xc3\xa4ssw\xc3\xb6rd \xe2\x98\x83"},
	{"pbkdf2-sha384",
		"$pbkdf2-sha384$1000$8PHy8/T19vf4.fr7/P3./w$" +
			"4mdPbB/VkVv9O7ixFr1qS7jo6OJb.yVUNEg5kI2SmBupROavoPpJ6LCCETaBq6h/",
		"correct horse battery staple"},
	{"pbkdf2-sha512",
		"$pbkdf2-sha512$1000$8PHy8/T19vf4.fr7/P3./w$" +
			"7Ny4dUakS7JIZAfjYpLQGSZsWvUihs7A6xXDgyqRrc3BkpXb3nL1/MvPpT3VxDAwU6FzpGn1KkCfA3fC7/680Q",
		"correct horse battery staple"},
	{"scrypt ln=4 r=8 p=1",
		"$scrypt$ln=4,r=8,p=1$8PHy8/T19vf4+fr7/P3+/w$" +
			"YEJDq1WFXWJ2JddLlj4ei/KPBPi0LKEwJdxRsDPT8FQ",
		"correct horse battery staple"},
	{"scrypt ln=5 r=1 p=3 utf8",
		"$scrypt$ln=5,r=1,p=3$c2FsdHNhbHQ$" +
			"55ar74Svf0Bg0UevfR4BMA",
		"p\xc3\xa4ssw\xc3\xb6rd \xe2\x98\x83"},
	{"bcrypt 2b libxcrypt",
		"$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG",
		"correct horse battery staple"},
	{"bcrypt 2y libxcrypt utf8",
		"$2y$05$abcdefghijklmnopqrstuuHAV94Mj58aB25TMAjGh195IxPdIcE2O",
		"p\xc3\xa4ssw\xc3\xb6rd \xe2\x98\x83"},
	{"bcrypt 2b 72 bytes",
		"$2b$04$abcdefghijklmnopqrstuuMtJwfagkGaCKZ.IMpPJzYjhgL/xnp2C",
		"0123456789012345678901234567890123456789012345678901234567890123456789ab"},
}

func TestVectors(t *testing.T) {
	vectors := append(append([]vector{}, externalVectors...), pythonVectors...)
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			h, err := Parse(v.encoded)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if testing.Short() && costly(h) {
				t.Skipf("%v takes seconds under -race", h)
			}
			if !h.Verify(v.password) {
				t.Errorf("Verify(right password) = false, want true")
			}
			if h.Verify(v.password + "!") {
				t.Errorf("Verify(wrong password) = true, want false")
			}
			if want := wantScheme(v.encoded); h.Scheme() != want {
				t.Errorf("Scheme() = %q, want %q", h.Scheme(), want)
			}
		})
	}
}

// costly reports whether verifying against h takes more than about 50 ms
// without the race detector.
func costly(h Hash) bool {
	switch h := h.(type) {
	case *argon2idHash:
		return uint64(h.memory)*uint64(h.time) > 64<<10
	case *bcryptHash:
		return h.cost > 8
	case *scryptHash:
		return 128*h.r<<h.logN*h.p > 16<<20
	case *pbkdf2Hash:
		return h.iterations > 100_000
	}
	return false
}

// wantScheme is the scheme name an encoded hash should parse to.
func wantScheme(encoded string) string {
	ident := strings.Split(encoded, "$")[1]
	switch ident {
	case "2a", "2b", "2y":
		return "bcrypt"
	case "pbkdf2":
		return "pbkdf2-sha1"
	}
	return ident
}

// TestBcryptNeverTruncates checks crypt_blowfish's vector whose password runs
// past 72 bytes. bcrypt implementations that truncate accept the long password;
// we accept only its first 72 bytes, which is all the hash was made from.
func TestBcryptNeverTruncates(t *testing.T) {
	const encoded = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
	const long = "0123456789abcdefghijklmnopqrstuvwxyz" +
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"
	h, err := Parse(encoded)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"first 72 bytes", long[:72], true},
		{"first 73 bytes", long[:73], false},
		{"whole password", long, false},
		{"first 71 bytes", long[:71], false},
	}
	for _, tt := range tests {
		if got := h.Verify(tt.password); got != tt.want {
			t.Errorf("Verify(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
