package session

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/securecookie"
)

// MinSecretLength is the shortest secret accepted, in bytes.
const MinSecretLength = 32

// Keys holds the keys derived from the configured secrets, newest first. The newest
// signs and encrypts; every one verifies. Keys is immutable and safe for concurrent use.
type Keys struct {
	hash    [][]byte // HMAC keys for cookies
	block   [][]byte // AES-256 keys for cookies
	binding [][]byte // HMAC keys for password-hash digests
	record  [][]byte // HMAC keys for stored session records
}

// Key purposes, fed to HKDF so that no two uses share a key.
const (
	infoCookieHash  = "gateway cookie signing v1"
	infoCookieBlock = "gateway cookie encryption v1"
	infoBinding     = "gateway session auth hash v1"
	infoRecord      = "gateway session record v1"
)

// DeriveKeys derives signing, encryption and binding keys from each secret with HKDF.
// It fails when there is no secret or one is shorter than MinSecretLength.
func DeriveKeys(secrets [][]byte) (*Keys, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no session secret")
	}
	k := &Keys{}
	for i, s := range secrets {
		if len(s) < MinSecretLength {
			return nil, fmt.Errorf("session secret %d is shorter than %d bytes", i+1,
				MinSecretLength)
		}
		for _, d := range []struct {
			dst  *[][]byte
			info string
		}{{&k.hash, infoCookieHash}, {&k.block, infoCookieBlock}, {&k.binding, infoBinding},
			{&k.record, infoRecord}} {
			key, err := hkdf.Key(sha256.New, s, nil, d.info, 32)
			if err != nil {
				return nil, fmt.Errorf("deriving keys: %w", err)
			}
			*d.dst = append(*d.dst, key)
		}
	}
	return k, nil
}

// AuthHash returns the digest of a user's password hash that a session stores, keyed
// with the newest secret. The digest proves which password the session was created
// under without keeping the hash itself in the store.
func (k *Keys) AuthHash(passwordHash string) string {
	return authHash(k.binding[0], passwordHash)
}

// AuthHashMatches reports whether digest was made from passwordHash under any of the
// secrets, so rotating secrets does not sign anyone out.
//
// It runs on every request, so it compares raw digests.
func (k *Keys) AuthHashMatches(digest, passwordHash string) bool {
	var got [sha256.Size]byte
	if len(digest) != 2*sha256.Size {
		return false
	}
	if _, err := hex.Decode(got[:], []byte(digest)); err != nil {
		return false
	}
	ok := false
	for _, key := range k.binding {
		var sum [sha256.Size]byte
		ok = hmac.Equal(got[:], authHashSum(sum[:0], key, passwordHash)) || ok
	}
	return ok
}

func authHash(key []byte, passwordHash string) string {
	var sum [sha256.Size]byte
	return hex.EncodeToString(authHashSum(sum[:0], key, passwordHash))
}

func authHashSum(dst, key []byte, passwordHash string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(passwordHash))
	return m.Sum(dst)
}

// sealRecord returns the MAC of a stored session under the newest key. It covers the
// key the record is stored under and every field that grants anything, so a record
// copied to another key, or edited in the store (a user swapped, a deadline pushed),
// is not a session. LastSeen is left out: renewals rewrite it alone, and it can only
// move within Expires.
func (k *Keys) sealRecord(storeKey string, s *Session) string {
	var sum [sha256.Size]byte
	return hex.EncodeToString(recordMAC(sum[:0], k.record[0], storeKey, s))
}

// recordSealed reports whether s carries a MAC made under any of the keys. It runs on
// every request, so it compares raw digests and formats nothing.
func (k *Keys) recordSealed(storeKey string, s *Session) bool {
	var got [sha256.Size]byte
	if len(s.MAC) != 2*sha256.Size {
		return false
	}
	if _, err := hex.Decode(got[:], []byte(s.MAC)); err != nil {
		return false
	}
	ok := false
	for _, key := range k.record {
		var sum [sha256.Size]byte
		ok = hmac.Equal(got[:], recordMAC(sum[:0], key, storeKey, s)) || ok
	}
	return ok
}

// recordMAC appends to dst the HMAC of the sealed fields, each length-prefixed so that
// no two records share an input.
func recordMAC(dst, key []byte, storeKey string, s *Session) []byte {
	var buf [512]byte
	b := buf[:0]
	for _, f := range []string{storeKey, s.User, s.Backend, s.AuthHash, s.CSRFToken} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(s.Created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Expires.UnixNano()))
	if s.Remember {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(dst)
}

// Codec signs, encrypts and time-stamps the values of one cookie. The cookie's name is
// part of what is signed, so a value cannot be moved to another cookie. Safe for
// concurrent use.
type Codec struct {
	name   string
	codecs []*securecookie.SecureCookie
}

// Codec returns a Codec for the cookie called name, whose values expire maxAge after
// they were encoded (zero: never, as far as the cookie's own time-stamp goes).
func (k *Keys) Codec(name string, maxAge time.Duration) *Codec {
	c := &Codec{name: name}
	for i := range k.hash {
		sc := securecookie.New(k.hash[i], k.block[i])
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(int(maxAge / time.Second))
		c.codecs = append(c.codecs, sc)
	}
	return c
}

// Encode returns value sealed under the newest key.
func (c *Codec) Encode(value []byte) (string, error) {
	s, err := c.codecs[0].Encode(c.name, value)
	if err != nil {
		return "", fmt.Errorf("encoding cookie %s: %w", c.name, err)
	}
	return s, nil
}

// Decode opens a value sealed by Encode under any of the keys. It returns the value and
// whether it was sealed under an older key, in which case the caller should issue it
// again under the newest one. Any forged, expired or malformed value is ErrBadCookie.
func (c *Codec) Decode(s string) (value []byte, old bool, err error) {
	for i, sc := range c.codecs {
		var v []byte
		if sc.Decode(c.name, s, &v) == nil {
			return v, i > 0, nil
		}
	}
	return nil, false, ErrBadCookie
}
