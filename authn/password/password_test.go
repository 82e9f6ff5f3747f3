package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"
)

// Cheap, valid hashes of "password" for tests that need one per scheme: the
// reference argon2id vector, and the rest from Python (hashlib, libxcrypt).
const (
	cheapArgon2id = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$" +
		"nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	cheapBcrypt = "$2a$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm"
	cheapScrypt = "$scrypt$ln=4,r=8,p=1$c29tZXNhbHRzYWx0$" +
		"DoaMczzG9IYXn2OY+iZSliFpQc2EurhAKuR1mVfa3lg"
	cheapPBKDF2 = "$pbkdf2-sha256$1000$c29tZXNhbHRzYWx0$" +
		"f7dcYKcRwIpZmClMFI6oTfXBrOpmLUSJ2srGjxe6JnA"
)

var cheapHashes = []string{cheapArgon2id, cheapBcrypt, cheapScrypt, cheapPBKDF2}

// Encoded salts and keys of the right length, for building test inputs.
var (
	salt16 = b64(16)
	key32  = b64(32)
)

func b64(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }

func TestCheapHashes(t *testing.T) {
	for _, encoded := range cheapHashes {
		h := mustParse(t, encoded)
		if !h.Verify("password") || h.Verify("Password") {
			t.Errorf("%s: Verify does not tell the right password from a wrong one", h.Scheme())
		}
	}
}

func TestParseUnsupported(t *testing.T) {
	tests := []struct {
		name, encoded, want string
	}{
		{"empty", "", "empty hash"},
		{"plaintext", "hunter2-correct-horse", "plaintext"},
		{"plaintext with dollar", "hunter2$correct$horse", "plaintext"},
		{"ldap", "{SSHA}c2VjcmV0c2VjcmV0c2VjcmV0", "LDAP"},
		{"sha512crypt", "$6$rounds=5000$saltsaltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4", "SHA-512"},
		{"sha256crypt", "$5$saltsaltsalt$Ws2CK93cgz5VWKKKpc3a1Cd8UTiPlC", "SHA-256"},
		{"md5crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "MD5"},
		{"yescrypt", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC", "yescrypt"},
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$" + key32, "argon2i"},
		{"argon2d", "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$" + key32, "argon2d"},
		{"argon2id v16 implied", "$argon2id$m=65536,t=2,p=1$c29tZXNhbHQ$" + key32, "16"},
		{"argon2id v16", "$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$" + key32, "16"},
		{"bcrypt 2x", "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "2x"},
		{"bcrypt 2", "$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKv", "original"},
		{"bcrypt-sha256", "$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2",
			"bcrypt-sha256"},
		{"authelia plaintext", "$plaintext$hunter2-correct-horse", "plaintext"},
		{"unknown scheme", "$hunter2secret$abc", "unrecognised"},
		{"upper case", "$ARGON2ID$v=19$m=65536,t=2,p=1$" + salt16 + "$" + key32, "unrecognised"},
		{"dollar only", "$", "unrecognised"},
		{"two dollars", "$$", "unrecognised"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.encoded)
			if !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse: error %v, want one wrapping only ErrUnsupported", err)
			}
			if h != nil {
				t.Errorf("Parse returned a Hash with its error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
			checkNoLeak(t, tt.encoded, err)
		})
	}
}

func TestParseMalformed(t *testing.T) {
	argon := func(params, salt, key string) string {
		return "$argon2id$v=19$" + params + "$" + salt + "$" + key
	}
	scryptOf := func(params string) string {
		return "$scrypt$" + params + "$" + salt16 + "$" + key32
	}
	bcryptOf := func(cost string) string {
		return "$2b$" + cost + "$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
	}
	pbkdf2Of := func(iter string) string {
		return "$pbkdf2-sha256$" + iter + "$c29tZXNhbHRzYWx0$" + adaptedEncoding.EncodeToString(
			make([]byte, 32))
	}
	const mtp = "m=65536,t=3,p=4"
	tests := []struct {
		name, encoded string
	}{
		// argon2id layout and version
		{"argon2id prefix only", "$argon2id$"},
		{"argon2id no key", "$argon2id$v=19$" + mtp + "$" + salt16},
		{"argon2id extra field", argon(mtp, salt16, key32) + "$"},
		{"argon2id version 18", "$argon2id$v=18$" + mtp + "$" + salt16 + "$" + key32},
		{"argon2id version leading zero", "$argon2id$v=019$" + mtp + "$" + salt16 + "$" + key32},
		{"argon2id version empty", "$argon2id$v=$" + mtp + "$" + salt16 + "$" + key32},
		{"argon2id version key", "$argon2id$x=19$" + mtp + "$" + salt16 + "$" + key32},
		{"argon2id version and more", "$argon2id$v=19,k=1$" + mtp + "$" + salt16 + "$" + key32},

		// argon2id parameters
		{"argon2id params missing t", argon("m=65536,p=4", salt16, key32)},
		{"argon2id params out of order", argon("t=3,m=65536,p=4", salt16, key32)},
		{"argon2id params repeated", argon("m=65536,m=65536,p=4", salt16, key32)},
		{"argon2id params extra", argon(mtp+",keyid=1", salt16, key32)},
		{"argon2id params trailing comma", argon(mtp+",", salt16, key32)},
		{"argon2id params empty", argon("", salt16, key32)},
		{"argon2id leading zero", argon("m=065536,t=3,p=4", salt16, key32)},
		{"argon2id plus sign", argon("m=+65536,t=3,p=4", salt16, key32)},
		{"argon2id negative", argon("m=65536,t=-3,p=4", salt16, key32)},
		{"argon2id not decimal", argon("m=0x10000,t=3,p=4", salt16, key32)},
		{"argon2id overflow", argon("m=99999999999999999999999,t=3,p=4", salt16, key32)},
		{"argon2id memory above 2 GiB", argon("m=2097153,t=1,p=1", salt16, key32)},
		{"argon2id memory 4 GiB", argon("m=4194304,t=1,p=1", salt16, key32)},
		{"argon2id memory below 8 KiB per lane", argon("m=31,t=1,p=4", salt16, key32)},
		{"argon2id memory zero", argon("m=0,t=1,p=1", salt16, key32)},
		{"argon2id time zero", argon("m=65536,t=0,p=4", salt16, key32)},
		{"argon2id time 65", argon("m=65536,t=65,p=4", salt16, key32)},
		{"argon2id lanes zero", argon("m=65536,t=3,p=0", salt16, key32)},
		{"argon2id lanes 256", argon("m=65536,t=3,p=256", salt16, key32)},

		// argon2id salt and key
		{"argon2id salt bad char", argon(mtp, "c29tZXNhbHQ*", key32)},
		{"argon2id salt padded", argon(mtp, "c29tZXNhbHQ=", key32)},
		{"argon2id salt non-canonical", argon(mtp, "c29tZXNhbHR", key32)},
		{"argon2id salt adapted alphabet", argon(mtp, "c29tZXNhbHQ.", key32)},
		{"argon2id salt 7 bytes", argon(mtp, b64(7), key32)},
		{"argon2id salt 129 bytes", argon(mtp, b64(129), key32)},
		{"argon2id salt empty", argon(mtp, "", key32)},
		{"argon2id key 15 bytes", argon(mtp, salt16, b64(15))},
		{"argon2id key 129 bytes", argon(mtp, salt16, b64(129))},
		{"argon2id key bad char", argon(mtp, salt16, key32[:42]+"!")},

		// bytes that must never reach a base64 decoder
		{"argon2id newline in key", argon(mtp, salt16, key32[:20]+"\n"+key32[20:])},
		{"argon2id space", argon(mtp, salt16, key32) + " "},
		{"argon2id tab", argon(mtp, salt16, key32[:20]+"\t"+key32[20:])},
		{"argon2id non-ASCII", argon(mtp, salt16, key32[:20]+"é"+key32[20:])},
		{"argon2id NUL", argon(mtp, salt16, key32) + "\x00"},
		{"argon2id too long", argon(mtp, salt16, key32) + strings.Repeat("A", 1024)},

		// bcrypt
		{"bcrypt short", bcryptOf("05")[:59]},
		{"bcrypt long", bcryptOf("05") + "e"},
		{"bcrypt cost 03", bcryptOf("03")},
		{"bcrypt cost 00", bcryptOf("00")},
		{"bcrypt cost 19", bcryptOf("19")},
		{"bcrypt cost 31", bcryptOf("31")},
		{"bcrypt cost 32", bcryptOf("32")},
		{"bcrypt cost 99", bcryptOf("99")},
		{"bcrypt cost one digit", "$2b$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWe"},
		{"bcrypt cost letters", bcryptOf("1a")},
		{"bcrypt cost sign", bcryptOf("+5")},
		{"bcrypt no separator", "$2b$05CCCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
		{"bcrypt standard base64", strings.Replace(bcryptOf("05"), ".", "+", 1)},
		{"bcrypt dollar in key", strings.Replace(bcryptOf("05"), "E5Y", "E$Y", 1)},

		// scrypt
		{"scrypt no key", "$scrypt$ln=4,r=8,p=1$" + salt16},
		{"scrypt ln zero", scryptOf("ln=0,r=8,p=1")},
		{"scrypt ln 25", scryptOf("ln=25,r=1,p=1")},
		{"scrypt r zero", scryptOf("ln=4,r=0,p=1")},
		{"scrypt r 33", scryptOf("ln=4,r=33,p=1")},
		{"scrypt p zero", scryptOf("ln=4,r=8,p=0")},
		{"scrypt p 17", scryptOf("ln=4,r=8,p=17")},
		{"scrypt memory 4 GiB", scryptOf("ln=22,r=8,p=1")},
		{"scrypt memory 16 GiB", scryptOf("ln=24,r=8,p=1")},
		{"scrypt out of order", scryptOf("r=8,ln=4,p=1")},
		{"scrypt N not log", scryptOf("n=16,r=8,p=1")},
		{"scrypt padded", "$scrypt$ln=4,r=8,p=1$" + salt16 + "==$" + key32},

		// pbkdf2
		{"pbkdf2 iterations zero", pbkdf2Of("0")},
		{"pbkdf2 iterations above 10 million", pbkdf2Of("10000001")},
		{"pbkdf2 iterations leading zero", pbkdf2Of("01000")},
		{"pbkdf2 iterations negative", pbkdf2Of("-1")},
		{"pbkdf2 iterations empty", pbkdf2Of("")},
		{"pbkdf2 iterations exponent", pbkdf2Of("1e3")},
		{"pbkdf2 iterations as parameter", pbkdf2Of("i=1000")},
		{"pbkdf2 missing key", "$pbkdf2-sha512$1000$c29tZXNhbHRzYWx0"},
		{"pbkdf2 standard base64", "$pbkdf2-sha256$1000$8PHy8/T19vf4+fr7/P3+/w$" + key32},
		{"pbkdf2 salt 7 bytes", "$pbkdf2$1000$" + adaptedEncoding.EncodeToString(
			make([]byte, 7)) + "$" + key32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.encoded)
			if !errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupported) {
				t.Fatalf("Parse: error %v, want one wrapping only ErrMalformed", err)
			}
			if h != nil {
				t.Errorf("Parse returned a Hash with its error")
			}
			checkNoLeak(t, tt.encoded, err)
		})
	}
}

// TestParseLimits checks that the largest parameters the package doc allows
// parse. None is verified: that would take minutes and gigabytes.
func TestParseLimits(t *testing.T) {
	tests := []string{
		"$argon2id$v=19$m=2097152,t=64,p=255$" + b64(128) + "$" + b64(128),
		"$argon2id$v=19$m=8,t=1,p=1$" + b64(8) + "$" + b64(16),
		"$2b$18$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2y$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$scrypt$ln=24,r=1,p=16$" + salt16 + "$" + key32,
		"$scrypt$ln=21,r=8,p=16$" + salt16 + "$" + key32,
		"$scrypt$ln=16,r=32,p=16$" + salt16 + "$" + key32,
		"$pbkdf2-sha512$10000000$" + b64(128) + "$" + b64(128),
		"$pbkdf2$1$" + b64(8) + "$" + b64(16),
	}
	for _, encoded := range tests {
		if _, err := Parse(encoded); err != nil {
			t.Errorf("Parse(%.40s...): %v", encoded, err)
		}
	}
}

// supportedIdents are the identifiers between the first two '$' that Parse
// parses.
var supportedIdents = map[string]bool{
	"argon2id": true, "2a": true, "2b": true, "2y": true, "scrypt": true, "pbkdf2": true,
	"pbkdf2-sha1": true, "pbkdf2-sha224": true, "pbkdf2-sha256": true,
	"pbkdf2-sha384": true, "pbkdf2-sha512": true,
}

// checkNoLeak fails if err quotes any part of encoded longer than five bytes,
// other than a scheme identifier this package knows, which errors may name.
func checkNoLeak(t *testing.T, encoded string, err error) {
	t.Helper()
	msg := err.Error()
	for i, part := range strings.Split(encoded, "$") {
		if _, known := unsupported[part]; i == 1 && (known || supportedIdents[part]) {
			continue
		}
		if len(part) > 5 && strings.Contains(msg, part) {
			t.Errorf("error %q quotes %q from the hash", msg, part)
		}
	}
}

// TestTooLongNeverMatches builds hashes of passwords one byte past MaxLength
// and checks that Verify refuses them though the key would match.
func TestTooLongNeverMatches(t *testing.T) {
	salt := []byte("saltsaltsaltsalt")
	enc := base64.RawStdEncoding.EncodeToString
	argonOf := func(pw string) string {
		key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
		return "$argon2id$v=19$m=64,t=1,p=1$" + enc(salt) + "$" + enc(key)
	}
	scryptOf := func(pw string) string {
		key, err := scrypt.Key([]byte(pw), salt, 16, 1, 1, 32)
		if err != nil {
			t.Fatal(err)
		}
		return "$scrypt$ln=4,r=1,p=1$" + enc(salt) + "$" + enc(key)
	}
	pbkdf2Of := func(pw string) string {
		key, err := pbkdf2.Key(sha256.New, pw, salt, 1, 32)
		if err != nil {
			t.Fatal(err)
		}
		aenc := adaptedEncoding.EncodeToString
		return "$pbkdf2-sha256$1$" + aenc(salt) + "$" + aenc(key)
	}
	for _, build := range []func(string) string{argonOf, scryptOf, pbkdf2Of} {
		for _, n := range []int{MaxLength, MaxLength + 1, 4 * MaxLength} {
			pw := strings.Repeat("x", n)
			h := mustParse(t, build(pw))
			if got, want := h.Verify(pw), n <= MaxLength; got != want {
				t.Errorf("%s: Verify(%d-byte password) = %v, want %v", h.Scheme(), n, got, want)
			}
		}
	}
}

// TestFormatRedacts checks that no fmt verb prints a hash's salt or key.
func TestFormatRedacts(t *testing.T) {
	for _, encoded := range cheapHashes {
		h := mustParse(t, encoded)
		parts := strings.Split(encoded, "$")
		secret := parts[len(parts)-1]
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			got := fmt.Sprintf(verb, h)
			if strings.Contains(got, secret) || strings.Contains(got, secret[:8]) {
				t.Errorf("%s: %s prints %q", h.Scheme(), verb, got)
			}
			if !strings.HasPrefix(got, h.Scheme()) {
				t.Errorf("%s: %s prints %q, want the scheme and parameters", h.Scheme(), verb, got)
			}
		}
	}
}

// TestVerifyConcurrent runs Verify from many goroutines; run with -race.
func TestVerifyConcurrent(t *testing.T) {
	for _, encoded := range cheapHashes {
		h := mustParse(t, encoded)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				pw := "password"
				if i%2 == 1 {
					pw = "wrong"
				}
				if got, want := h.Verify(pw), i%2 == 0; got != want {
					t.Errorf("%s: Verify = %v, want %v", h.Scheme(), got, want)
				}
			})
		}
		wg.Wait()
	}
}

func mustParse(t testing.TB, encoded string) Hash {
	t.Helper()
	h, err := Parse(encoded)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return h
}
