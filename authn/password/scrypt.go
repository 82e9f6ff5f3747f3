package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Limits of scrypt parameters. Memory, 128·r·2^ln bytes, is bounded by
// maxMemory as well.
const (
	maxScryptLogN = 24
	maxScryptR    = 32
	maxScryptP    = 16
)

// scryptHash is a parsed scrypt hash.
type scryptHash struct {
	logN, r, p int
	salt, key  []byte
	never      bool // a decoy from SameCost: do the work, then report false
}

// parseScrypt parses $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>, the form
// Authelia and passlib write.
func parseScrypt(encoded string) (Hash, error) {
	f := strings.Split(encoded, "$")
	if len(f) != 5 {
		return nil, malformed(schemeScrypt, "want $scrypt$ln=<ln>,r=<r>,p=<p>$<salt>$<key>")
	}
	ps, err := parseParams(schemeScrypt, f[2], 1<<32-1, "ln", "r", "p")
	if err != nil {
		return nil, err
	}
	logN, r, p := ps[0], ps[1], ps[2]
	switch {
	case logN < 1 || logN > maxScryptLogN:
		return nil, malformed(schemeScrypt, "ln must be 1 to %d", maxScryptLogN)
	case r < 1 || r > maxScryptR:
		return nil, malformed(schemeScrypt, "block size r must be 1 to %d", maxScryptR)
	case p < 1 || p > maxScryptP:
		return nil, malformed(schemeScrypt, "parallelism p must be 1 to %d", maxScryptP)
	case 128*r<<logN > maxMemory:
		return nil, malformed(schemeScrypt, "memory 128·r·2^ln must be at most %d bytes",
			maxMemory)
	}
	salt, key, err := decodeSaltKey(schemeScrypt, base64.RawStdEncoding, f[3], f[4])
	if err != nil {
		return nil, err
	}
	return &scryptHash{logN: int(logN), r: int(r), p: int(p), salt: salt, key: key}, nil
}

// Verify implements Hash.
func (h *scryptHash) Verify(password string) bool {
	if len(password) > MaxLength {
		return false
	}
	got, err := scrypt.Key([]byte(password), h.salt, 1<<h.logN, h.r, h.p, len(h.key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1 && !h.never
}

// Scheme implements Hash.
func (h *scryptHash) Scheme() string { return schemeScrypt }

// Format prints the scheme and parameters only, for every verb, so that the
// salt and key never reach a log.
func (h *scryptHash) Format(f fmt.State, _ rune) {
	io.WriteString(f, h.String())
}

// String returns the scheme and parameters, without salt or key.
func (h *scryptHash) String() string {
	return fmt.Sprintf("scrypt(ln=%d,r=%d,p=%d)", h.logN, h.r, h.p)
}

func (h *scryptHash) decoy() Hash {
	return &scryptHash{
		logN:  h.logN,
		r:     h.r,
		p:     h.p,
		salt:  randomBytes(len(h.salt)),
		key:   randomBytes(len(h.key)),
		never: true,
	}
}
