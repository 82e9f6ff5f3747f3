package password

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Hash is a parsed password hash. It is immutable, so safe for concurrent use.
type Hash interface {
	// Verify reports whether password matches, in constant time with respect to
	// the password's content. A password longer than MaxLength, or longer than
	// the scheme can take in full (bcrypt: 72 bytes), never matches: it is never
	// truncated.
	Verify(password string) bool

	// Scheme names the scheme: "argon2id", "bcrypt", "scrypt", "pbkdf2-sha1",
	// "pbkdf2-sha224", "pbkdf2-sha256", "pbkdf2-sha384" or "pbkdf2-sha512".
	Scheme() string
}

// MaxLength is the longest password accepted, in bytes. Longer passwords never
// match and cannot be hashed, which bounds the work an attacker can make one
// sign-in attempt cost.
const MaxLength = 1024

// Errors returned by this package. Callers test for them with errors.Is; the
// errors returned wrap them with context that names the scheme and the reason
// but never contains the hash itself.
var (
	// ErrUnsupported means the hash is in a scheme, or a variant or version of
	// one, that this package does not verify: plaintext, $6$, argon2i, ....
	ErrUnsupported = errors.New("unsupported scheme")

	// ErrMalformed means the hash names a supported scheme but is not a valid
	// encoding of it, or has parameters outside the limits in the package doc.
	ErrMalformed = errors.New("malformed hash")

	// ErrTooLong means a password to hash is longer than MaxLength.
	ErrTooLong = errors.New("password too long")
)

// maxEncodedLen bounds the length of an encoded hash. The longest valid one,
// an argon2id hash with a 128-byte salt and key, is under 400 bytes.
const maxEncodedLen = 1024

// Scheme names, as Hash.Scheme returns them.
const (
	schemeArgon2id = "argon2id"
	schemeBcrypt   = "bcrypt"
	schemeScrypt   = "scrypt"
)

// Lengths of salts and keys, in bytes, for every scheme but bcrypt.
const (
	minSaltLen = 8
	maxSaltLen = 128
	minKeyLen  = 16
	maxKeyLen  = 128
)

// maxMemory is the most memory, in bytes, one argon2id or scrypt verification
// may use.
const maxMemory = 2 << 30

// unsupported names the schemes we recognise but refuse, by the identifier
// between the first two '$'. Errors name a scheme only from this table, so an
// unknown identifier, which may be part of a plaintext password, is never
// echoed.
var unsupported = map[string]string{
	"1":             "$1$ (MD5 crypt)",
	"2":             "$2$ (original bcrypt)",
	"2x":            "$2x$ (bcrypt with the sign extension bug)",
	"3":             "$3$ (NT hash)",
	"5":             "$5$ (SHA-256 crypt)",
	"6":             "$6$ (SHA-512 crypt)",
	"7":             "$7$ (scrypt crypt)",
	"y":             "$y$ (yescrypt)",
	"gy":            "$gy$ (gost-yescrypt)",
	"apr1":          "$apr1$ (Apache MD5)",
	"md5":           "$md5$ (Sun MD5 crypt)",
	"sha1":          "$sha1$ (SHA-1 crypt)",
	"argon2i":       "$argon2i$ (argon2i; only argon2id is supported)",
	"argon2d":       "$argon2d$ (argon2d; only argon2id is supported)",
	"bcrypt-sha256": "$bcrypt-sha256$ (bcrypt of SHA-256)",
	"plaintext":     "$plaintext$ (plaintext password)",
}

// Parse parses a password hash in one of the encodings listed in the package
// doc. Its errors wrap ErrUnsupported for a scheme it does not verify, and
// ErrMalformed for a bad encoding of a scheme it does, or parameters beyond the
// limits in the package doc. The empty string and a string without a $scheme$
// prefix, such as a plaintext password, are unsupported.
func Parse(encoded string) (Hash, error) {
	if encoded == "" {
		return nil, errUnsupported("empty hash")
	}
	if encoded[0] != '$' {
		// the only other form worth naming is LDAP's {SCHEME}; anything else
		// may well be a plaintext password
		if encoded[0] == '{' {
			return nil, errUnsupported("LDAP-style {SCHEME} prefix")
		}
		return nil, errUnsupported("no $scheme$ prefix (plaintext password?)")
	}

	ident, _, _ := strings.Cut(encoded[1:], "$")
	var parse func(string) (Hash, error)
	scheme := ident
	switch ident {
	case "argon2id":
		parse = parseArgon2id
	case "2a", "2b", "2y":
		parse, scheme = parseBcrypt, schemeBcrypt
	case "scrypt":
		parse = parseScrypt
	case "pbkdf2":
		parse, scheme = parsePBKDF2, "pbkdf2-sha1"
	case "pbkdf2-sha1", "pbkdf2-sha224", "pbkdf2-sha256", "pbkdf2-sha384", "pbkdf2-sha512":
		parse = parsePBKDF2
	default:
		if name, ok := unsupported[ident]; ok {
			return nil, errUnsupported(name)
		}
		return nil, errUnsupported("unrecognised $scheme$ prefix")
	}

	// bound the input before any further work, and keep out the line breaks
	// that encoding/base64 would otherwise skip silently
	if len(encoded) > maxEncodedLen {
		return nil, malformed(scheme, "longer than %d bytes", maxEncodedLen)
	}
	for i := 0; i < len(encoded); i++ {
		if encoded[i] < '!' || encoded[i] > '~' {
			return nil, malformed(scheme, "contains a byte that is not printable ASCII")
		}
	}
	return parse(encoded)
}

// SameCost returns a Hash of a random, unknowable password with the same
// scheme and parameters as h, so that verifying against it costs what verifying
// against h does. Used to make unknown users cost the same as known ones. The
// returned Hash never matches any password, the empty one included. h must come
// from Parse or SameCost; any other Hash gives an error wrapping ErrUnsupported.
func SameCost(h Hash) (Hash, error) {
	d, ok := h.(decoyer)
	if !ok {
		return nil, fmt.Errorf("making same-cost hash: %w: hash not parsed by this package",
			ErrUnsupported)
	}
	return d.decoy(), nil
}

// decoyer is implemented by every Hash of this package.
type decoyer interface {
	// decoy returns a Hash with the same parameters and random salt and key,
	// whose Verify does the full work and then reports false.
	decoy() Hash
}

// hashImpl is what every Hash of this package implements: the interface, a
// decoy for SameCost, and formatting that keeps the salt and key out of logs.
type hashImpl interface {
	Hash
	decoyer
	fmt.Formatter
	fmt.Stringer
}

var (
	_ hashImpl = (*argon2idHash)(nil)
	_ hashImpl = (*bcryptHash)(nil)
	_ hashImpl = (*scryptHash)(nil)
	_ hashImpl = (*pbkdf2Hash)(nil)
)

// errUnsupported returns an error wrapping ErrUnsupported. name must come from
// this package, never from the hash.
func errUnsupported(name string) error {
	return fmt.Errorf("parsing password hash: %w: %s", ErrUnsupported, name)
}

// malformed returns an error wrapping ErrMalformed. Its arguments must never
// include any part of the hash but the parameter names this package defines.
func malformed(scheme, format string, args ...any) error {
	return fmt.Errorf("parsing %s hash: %w: %s", scheme, ErrMalformed,
		fmt.Sprintf(format, args...))
}

// parseParams parses a list of decimal parameters such as "m=65536,t=3,p=4",
// which must name exactly names, in that order. Each value must be at most max.
func parseParams(scheme, s string, max uint64, names ...string) ([]uint64, error) {
	fields := strings.Split(s, ",")
	if len(fields) != len(names) {
		return nil, malformed(scheme, "want parameters %s", strings.Join(names, ","))
	}
	values := make([]uint64, len(names))
	for i, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		if k != names[i] {
			return nil, malformed(scheme, "want parameters %s", strings.Join(names, ","))
		}
		n, ok := parseDecimal(v, max)
		if !ok {
			return nil, malformed(scheme, "parameter %s is not a decimal up to %d", k, max)
		}
		values[i] = n
	}
	return values, nil
}

// parseDecimal parses s as a decimal number no larger than max, written as
// PHC strings write numbers: digits only, with no sign and no leading zero.
func parseDecimal(s string, max uint64) (uint64, bool) {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

// decodeSaltKey decodes the salt and key of a hash and checks their lengths.
// Decoding is strict: one value has one encoding, and padding is refused.
func decodeSaltKey(scheme string, enc *base64.Encoding, s, k string) ([]byte, []byte, error) {
	salt, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, nil, malformed(scheme, "salt is not valid base64")
	}
	key, err := enc.Strict().DecodeString(k)
	if err != nil {
		return nil, nil, malformed(scheme, "key is not valid base64")
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return nil, nil, malformed(scheme, "salt must be %d to %d bytes", minSaltLen, maxSaltLen)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, nil, malformed(scheme, "key must be %d to %d bytes", minKeyLen, maxKeyLen)
	}
	return salt, key, nil
}

// randomBytes returns n bytes from crypto/rand, which never fails.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
