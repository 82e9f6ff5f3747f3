package session

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
)

// MinSecretLength is the shortest secret accepted, in bytes.
const MinSecretLength = 32

// Keys holds the keys derived from the configured secrets, newest first. The newest
// signs and encrypts; every one verifies. Keys is immutable and safe for concurrent use.
type Keys struct {
	hash    [][]byte  // HMAC keys for cookies
	block   [][]byte  // AES-256 keys for cookies
	binding []*macKey // HMAC keys for password-hash digests
	record  []*macKey // HMAC keys for stored session records
}

// macKey is an HMAC-SHA256 key with a pool of hashers keyed with it. Every request
// checks two MACs, and keying a new hasher and its buffers costs more than the MACs.
type macKey struct {
	key  []byte
	pool sync.Pool // of *macState
}

// macState is one hasher with room for its input and its sum, reused across requests.
type macState struct {
	h   hash.Hash
	in  []byte
	out []byte
}

func newMACKey(key []byte) *macKey {
	k := &macKey{key: key}
	k.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, k.key), in: make([]byte, 0, 512),
			out: make([]byte, 0, sha256.Size)}
	}
	return k
}

func (k *macKey) get() *macState {
	st := k.pool.Get().(*macState)
	st.in = st.in[:0]
	return st
}

// sum computes the HMAC of st.in into st.out.
func (st *macState) sum() []byte {
	st.h.Reset()
	st.h.Write(st.in)
	st.out = st.h.Sum(st.out[:0])
	return st.out
}

func (k *macKey) put(st *macState) {
	if cap(st.in) <= 4096 {
		k.pool.Put(st)
	}
}

// equalHex reports whether hexSum is the hex form of sum, in time that does not depend
// on where they differ.
func equalHex(hexSum string, sum []byte) bool {
	var got [sha256.Size]byte
	if len(hexSum) != 2*len(sum) || len(sum) > len(got) {
		return false
	}
	for i := range sum {
		hi, ok1 := fromHex(hexSum[2*i])
		lo, ok2 := fromHex(hexSum[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		got[i] = hi<<4 | lo
	}
	return hmac.Equal(got[:len(sum)], sum)
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
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
		var derived [4][]byte
		for j, info := range []string{infoCookieHash, infoCookieBlock, infoBinding,
			infoRecord} {
			key, err := hkdf.Key(sha256.New, s, nil, info, 32)
			if err != nil {
				return nil, fmt.Errorf("deriving keys: %w", err)
			}
			derived[j] = key
		}
		k.hash = append(k.hash, derived[0])
		k.block = append(k.block, derived[1])
		k.binding = append(k.binding, newMACKey(derived[2]))
		k.record = append(k.record, newMACKey(derived[3]))
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
	ok := false
	for _, key := range k.binding {
		st := key.get()
		st.in = append(st.in, passwordHash...)
		ok = equalHex(digest, st.sum()) || ok
		key.put(st)
	}
	return ok
}

func authHash(key *macKey, passwordHash string) string {
	st := key.get()
	defer key.put(st)
	st.in = append(st.in, passwordHash...)
	return hex.EncodeToString(st.sum())
}

// sealRecord returns the MAC of a stored session under the newest key. It covers the
// key the record is stored under and every field that grants anything, so a record
// copied to another key, or edited in the store (a user swapped, a deadline pushed),
// is not a session. LastSeen is left out: renewals rewrite it alone, and it can only
// move within Expires.
func (k *Keys) sealRecord(storeKey string, s *Session) string {
	key := k.record[0]
	st := key.get()
	defer key.put(st)
	st.in = appendRecord(st.in, storeKey, s)
	return hex.EncodeToString(st.sum())
}

// recordSealed reports whether s carries a MAC made under any of the keys, and whether
// that was the newest. It runs on every request, so it compares raw digests, formats
// nothing and allocates nothing.
func (k *Keys) recordSealed(storeKey string, s *Session) (ok, newest bool) {
	if !inNanoRange(s.Created) || !inNanoRange(s.Expires) {
		// the MAC covers these as nanoseconds since 1970, which wrap in 2262: a time
		// moved by 2^64 ns would have the same
		return false, false
	}
	for i, key := range k.record {
		st := key.get()
		st.in = appendRecord(st.in, storeKey, s)
		match := equalHex(s.MAC, st.sum())
		key.put(st)
		ok = ok || match
		newest = newest || (match && i == 0)
	}
	return ok, newest
}

// inNanoRange reports whether t is a time UnixNano holds, one of the 584 years around
// 1970 that 64 bits of nanoseconds count.
func inNanoRange(t time.Time) bool {
	return time.Unix(0, t.UnixNano()).Equal(t)
}

// appendRecord appends to b the sealed fields of a record, each length-prefixed so that
// no two records share an input.
func appendRecord(b []byte, storeKey string, s *Session) []byte {
	for _, f := range [...]string{storeKey, s.User, s.Backend, s.AuthHash, s.CSRFToken} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(s.Created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Expires.UnixNano()))
	if s.Remember {
		return append(b, 1)
	}
	return append(b, 0)
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
