package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"strings"
)

// maxPBKDF2Iterations bounds the CPU one verification may take: ten million
// iterations of HMAC-SHA-512 take seconds.
const maxPBKDF2Iterations = 10_000_000

// adaptedEncoding is the "adapted base64" of passlib and Authelia: the standard
// alphabet with '.' for '+', without padding.
var adaptedEncoding = base64.NewEncoding(
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").
	WithPadding(base64.NoPadding)

// pbkdf2Hash is a parsed PBKDF2 hash.
type pbkdf2Hash struct {
	scheme     string // "pbkdf2-sha256", ...
	newHash    func() hash.Hash
	iterations int
	salt, key  []byte
	never      bool // a decoy from SameCost: do the work, then report false
}

// parsePBKDF2 parses $pbkdf2-<digest>$<iterations>$<salt>$<key>, where
// $pbkdf2$ alone means SHA-1.
func parsePBKDF2(encoded string) (Hash, error) {
	f := strings.Split(encoded, "$")
	scheme := f[1]
	var newHash func() hash.Hash
	switch scheme {
	case "pbkdf2", "pbkdf2-sha1":
		scheme, newHash = "pbkdf2-sha1", sha1.New
	case "pbkdf2-sha224":
		newHash = sha256.New224
	case "pbkdf2-sha256":
		newHash = sha256.New
	case "pbkdf2-sha384":
		newHash = sha512.New384
	case "pbkdf2-sha512":
		newHash = sha512.New
	}
	if len(f) != 5 {
		return nil, malformed(scheme, "want $%s$<iterations>$<salt>$<key>", f[1])
	}
	iterations, ok := parseDecimal(f[2], 1<<32-1)
	if !ok || iterations < 1 || iterations > maxPBKDF2Iterations {
		return nil, malformed(scheme, "iterations must be a decimal from 1 to %d",
			maxPBKDF2Iterations)
	}
	if strings.ContainsRune(f[3], '+') || strings.ContainsRune(f[4], '+') {
		return nil, malformed(scheme, "salt and key must be adapted base64, with '.' for '+'")
	}
	salt, key, err := decodeSaltKey(scheme, adaptedEncoding, f[3], f[4])
	if err != nil {
		return nil, err
	}
	return &pbkdf2Hash{
		scheme:     scheme,
		newHash:    newHash,
		iterations: int(iterations),
		salt:       salt,
		key:        key,
	}, nil
}

// Verify implements Hash.
func (h *pbkdf2Hash) Verify(password string) bool {
	if len(password) > MaxLength {
		return false
	}

	// crypto/pbkdf2 rather than x/crypto/pbkdf2, which panics where this
	// returns an error (under FIPS 140-only mode, for one)
	got, err := pbkdf2.Key(h.newHash, password, h.salt, h.iterations, len(h.key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1 && !h.never
}

// Scheme implements Hash.
func (h *pbkdf2Hash) Scheme() string { return h.scheme }

// Format prints the scheme and parameters only, for every verb, so that the
// salt and key never reach a log.
func (h *pbkdf2Hash) Format(f fmt.State, _ rune) {
	io.WriteString(f, h.String())
}

// String returns the scheme and parameters, without salt or key.
func (h *pbkdf2Hash) String() string {
	return fmt.Sprintf("%s(i=%d)", h.scheme, h.iterations)
}

func (h *pbkdf2Hash) decoy() Hash {
	return &pbkdf2Hash{
		scheme:     h.scheme,
		newHash:    h.newHash,
		iterations: h.iterations,
		salt:       randomBytes(len(h.salt)),
		key:        randomBytes(len(h.key)),
		never:      true,
	}
}
