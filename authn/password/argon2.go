package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of an argon2id hash. The zero value is
// not valid: start from DefaultArgon2. Each field's limits are those Parse
// enforces, so every hash Generate writes can be read back.
type Argon2Params struct {
	// Memory is the memory cost in KiB, from 8·Threads to 2097152 (2 GiB).
	// Every verification allocates all of it.
	Memory uint32

	// Time is the number of passes over the memory, from 1 to 64.
	Time uint32

	// Threads is the degree of parallelism (lanes), from 1 to 255. It is part of
	// the hash: changing it changes the key, not only the speed.
	Threads uint8

	// SaltLen is the length of the random salt in bytes, from 8 to 128.
	SaltLen uint32

	// KeyLen is the length of the derived key in bytes, from 16 to 128.
	KeyLen uint32
}

// DefaultArgon2 holds the parameters OWASP gives as its minimum for argon2id:
// 19 MiB, 2 passes, 1 lane. One verification costs about 35 ms of CPU on the
// gateway's reference machine.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits of argon2id parameters; salt and key lengths are shared by all schemes.
const (
	maxArgon2Memory  = maxMemory >> 10 // KiB
	maxArgon2Time    = 64
	maxArgon2Threads = 255
)

// Validate reports whether p lies within the limits that Parse enforces. Its
// error names the first field out of bounds.
func (p Argon2Params) Validate() error {
	if reason := checkArgon2(uint64(p.Memory), uint64(p.Time), uint64(p.Threads)); reason != "" {
		return fmt.Errorf("invalid argon2id parameters: %s", reason)
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		return fmt.Errorf("invalid argon2id parameters: salt must be %d to %d bytes",
			minSaltLen, maxSaltLen)
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		return fmt.Errorf("invalid argon2id parameters: key must be %d to %d bytes",
			minKeyLen, maxKeyLen)
	}
	return nil
}

// checkArgon2 returns why the cost parameters are out of bounds, or "".
func checkArgon2(memory, time, threads uint64) string {
	switch {
	case time < 1 || time > maxArgon2Time:
		return fmt.Sprintf("time cost t must be 1 to %d", maxArgon2Time)
	case threads < 1 || threads > maxArgon2Threads:
		return fmt.Sprintf("parallelism p must be 1 to %d", maxArgon2Threads)
	case memory < 8*threads:
		// RFC 9106 requires 8 KiB per lane; x/crypto would quietly round up,
		// giving keys other implementations do not reproduce
		return "memory cost m must be at least 8 KiB per lane"
	case memory > maxArgon2Memory:
		return fmt.Sprintf("memory cost m must be at most %d KiB", maxArgon2Memory)
	}
	return ""
}

// Generate hashes password with argon2id, a random salt from crypto/rand and
// the parameters p, and returns the PHC string
// $argon2id$v=19$m=<Memory>,t=<Time>,p=<Threads>$<salt>$<key> that Parse and
// Authelia read. Its error wraps ErrTooLong if password is longer than
// MaxLength, or wraps the error of p.Validate. The empty password is hashed like
// any other: password policy is the caller's.
func Generate(password string, p Argon2Params) (string, error) {
	if len(password) > MaxLength {
		return "", fmt.Errorf("generating argon2id hash: %w: over %d bytes", ErrTooLong, MaxLength)
	}
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("generating argon2id hash: %w", err)
	}
	salt := randomBytes(int(p.SaltLen))
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// argon2idHash is a parsed argon2id hash.
type argon2idHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
	never        bool // a decoy from SameCost: do the work, then report false
}

// parseArgon2id parses $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>.
func parseArgon2id(encoded string) (Hash, error) {
	f := strings.Split(encoded, "$")

	// the reference implementation writes no v= for version 16 (0x10), which
	// x/crypto does not implement
	if len(f) == 5 && strings.HasPrefix(f[2], "m=") {
		return nil, errUnsupported("argon2id version 16 (0x10); only version 19 is supported")
	}
	if len(f) != 6 {
		return nil, malformed(schemeArgon2id, "want $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>")
	}
	v, err := parseParams(schemeArgon2id, f[2], 255, "v")
	if err != nil {
		return nil, err
	}
	switch v[0] {
	case argon2.Version:
	case 16:
		return nil, errUnsupported("argon2id version 16 (0x10); only version 19 is supported")
	default:
		return nil, malformed(schemeArgon2id, "version v must be 19")
	}

	// parse up to 2^32-1 so that out-of-range values get the message that
	// names the limit
	mtp, err := parseParams(schemeArgon2id, f[3], 1<<32-1, "m", "t", "p")
	if err != nil {
		return nil, err
	}
	if reason := checkArgon2(mtp[0], mtp[1], mtp[2]); reason != "" {
		return nil, malformed(schemeArgon2id, "%s", reason)
	}
	salt, key, err := decodeSaltKey(schemeArgon2id, base64.RawStdEncoding, f[4], f[5])
	if err != nil {
		return nil, err
	}
	return &argon2idHash{
		memory:  uint32(mtp[0]),
		time:    uint32(mtp[1]),
		threads: uint8(mtp[2]),
		salt:    salt,
		key:     key,
	}, nil
}

// Verify implements Hash.
func (h *argon2idHash) Verify(password string) bool {
	if len(password) > MaxLength {
		return false
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads,
		uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1 && !h.never
}

// Scheme implements Hash.
func (h *argon2idHash) Scheme() string { return schemeArgon2id }

// Format prints the scheme and parameters only, for every verb, so that the
// salt and key never reach a log.
func (h *argon2idHash) Format(f fmt.State, _ rune) {
	io.WriteString(f, h.String())
}

// String returns the scheme and parameters, without salt or key.
func (h *argon2idHash) String() string {
	return fmt.Sprintf("argon2id(m=%d,t=%d,p=%d)", h.memory, h.time, h.threads)
}

func (h *argon2idHash) decoy() Hash {
	return &argon2idHash{
		memory:  h.memory,
		time:    h.time,
		threads: h.threads,
		salt:    randomBytes(len(h.salt)),
		key:     randomBytes(len(h.key)),
		never:   true,
	}
}
