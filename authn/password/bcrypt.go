package password

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptMaxPassword is the most bcrypt uses of a password, in bytes. Longer
// passwords never match rather than being cut to this length.
const bcryptMaxPassword = 72

// bcryptAlphabet is bcrypt's base64 alphabet, which is not the standard one.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var bcryptEncoding = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

// maxBcryptCost bounds the CPU one verification may take, as the argon2id, scrypt
// and PBKDF2 limits do. Each step of cost doubles the work: at cost 10 one check takes
// about 70 ms of a current server core, so at 18 it takes some 20 seconds, as long as a
// sign-in waits for its check by default, and at 31, which bcrypt itself allows, about
// two days.
const maxBcryptCost = 18

// Layout of "$2b$10$" followed by 22 characters of salt and 31 of key.
const (
	bcryptLen     = 60
	bcryptSaltLen = 16 // bytes, 22 characters
	bcryptKeyLen  = 23 // bytes, 31 characters
)

// bcryptHash is a parsed bcrypt hash.
type bcryptHash struct {
	encoded []byte // the whole hash, as x/crypto/bcrypt takes it
	variant string // "2a", "2b" or "2y"
	cost    int
	never   bool // a decoy from SameCost: do the work, then report false
}

// parseBcrypt parses $2a$, $2b$ and $2y$ hashes: "$2b$", two digits of cost,
// "$", then 53 characters of salt and key in bcrypt's alphabet.
func parseBcrypt(encoded string) (Hash, error) {
	if len(encoded) != bcryptLen || encoded[6] != '$' {
		return nil, malformed(schemeBcrypt, "want $2a$, $2b$ or $2y$, then <cost>$ and 53 "+
			"characters, 60 in all")
	}

	// x/crypto/bcrypt raises a cost below 4 to 10 when hashing; here a low
	// cost is an error, never quietly a different hash
	n, ok := parseDecimal(strings.TrimPrefix(encoded[4:6], "0"), 99)
	cost := int(n)
	if !ok || cost < bcrypt.MinCost || cost > maxBcryptCost {
		return nil, malformed(schemeBcrypt, "cost must be two digits, %02d to %d",
			bcrypt.MinCost, maxBcryptCost)
	}
	for i := 7; i < len(encoded); i++ {
		if !strings.ContainsRune(bcryptAlphabet, rune(encoded[i])) {
			return nil, malformed(schemeBcrypt, "salt and key are not in bcrypt's base64")
		}
	}

	// ask x/crypto too, so that it cannot refuse at Verify what we accepted
	if c, err := bcrypt.Cost([]byte(encoded)); err != nil || c != cost {
		return nil, malformed(schemeBcrypt, "refused by x/crypto/bcrypt")
	}
	return &bcryptHash{encoded: []byte(encoded), variant: encoded[1:3], cost: cost}, nil
}

// Verify implements Hash.
func (h *bcryptHash) Verify(password string) bool {
	if len(password) > bcryptMaxPassword {
		// bcrypt reads only 72 bytes, so a longer password never matches; it is still
		// checked, at full cost, so that its answer takes as long as any other.
		bcrypt.CompareHashAndPassword(h.encoded, []byte(password[:bcryptMaxPassword]))
		return false
	}
	err := bcrypt.CompareHashAndPassword(h.encoded, []byte(password))
	return err == nil && !h.never
}

// Scheme implements Hash.
func (h *bcryptHash) Scheme() string { return schemeBcrypt }

// Format prints the scheme and parameters only, for every verb, so that the
// salt and key never reach a log.
func (h *bcryptHash) Format(f fmt.State, _ rune) {
	io.WriteString(f, h.String())
}

// String returns the scheme and parameters, without salt or key.
func (h *bcryptHash) String() string {
	return fmt.Sprintf("bcrypt($%s$,cost=%d)", h.variant, h.cost)
}

// decoy builds the hash text directly from random bytes rather than by
// hashing, which at a high cost could take minutes.
func (h *bcryptHash) decoy() Hash {
	encoded := fmt.Sprintf("$%s$%02d$%s%s", h.variant, h.cost,
		bcryptEncoding.EncodeToString(randomBytes(bcryptSaltLen)),
		bcryptEncoding.EncodeToString(randomBytes(bcryptKeyLen)))
	return &bcryptHash{encoded: []byte(encoded), variant: h.variant, cost: h.cost, never: true}
}
