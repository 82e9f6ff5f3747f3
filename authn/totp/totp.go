// Package totp implements the time-based one-time passwords of RFC 6238 the way
// authenticator apps make them: HMAC-SHA1 over a shared secret, six digits, a new code
// every 30 seconds.
//
// A code is accepted for the 30 seconds it is shown and the periods on either side, to
// allow for clocks that differ and for the time it takes to type. A [Ledger] keeps a code
// from being used twice and spaces out wrong ones: [Memory] for one gateway, or one in a
// store that several gateways share.
package totp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// Digits is the length of a code.
	Digits = 6
	// Period is how long one code is shown.
	Period = 30 * time.Second
	// Skew is how many periods before and after the current one are accepted.
	Skew = 1

	// SecretSize is the size of the secrets NewSecret makes: 160 bits, the size of
	// the HMAC-SHA1 output, as RFC 4226 recommends.
	SecretSize = 20
	// MinSecretSize is the smallest secret ParseSecret accepts: RFC 4226's 128 bits.
	MinSecretSize = 16
	// maxSecretSize bounds what ParseSecret accepts: HMAC-SHA1 hashes a longer key
	// down to 20 bytes anyway.
	maxSecretSize = 64
)

// encoding is RFC 4648 base32 without padding, as otpauth URIs carry secrets.
var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Secret is a shared secret, as its bytes.
type Secret []byte

// NewSecret returns a new random secret of SecretSize bytes.
func NewSecret() Secret {
	s := make(Secret, SecretSize)
	rand.Read(s)
	return s
}

// ParseSecret decodes a secret written in base32, as authenticator apps show it: letters
// in either case, with or without "=" padding, spaces and hyphens ignored. It must
// decode to between MinSecretSize and 64 bytes.
func ParseSecret(s string) (Secret, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-':
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(strings.ToUpper(s), "=")
	if s == "" {
		return nil, errors.New("secret is empty")
	}
	if len(s) > encoding.EncodedLen(maxSecretSize) {
		return nil, fmt.Errorf("secret is longer than %d bytes", maxSecretSize)
	}
	// the decoder would skip line breaks; nothing but the alphabet is taken here
	bad := strings.IndexFunc(s, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '2' || r > '7')
	})
	if bad >= 0 {
		return nil, errors.New("secret is not base32 (letters A to Z and digits 2 to 7)")
	}
	// Each character holds 5 bits; a short secret is told by what it holds as typed,
	// not by the whole bytes it decodes to, which are none for one or two characters.
	if len(s) < encoding.EncodedLen(MinSecretSize) {
		chars := "characters"
		if len(s) == 1 {
			chars = "character"
		}
		return nil, fmt.Errorf("secret is %d bits (%d %s); at least %d are needed",
			len(s)*5, len(s), chars, MinSecretSize*8)
	}
	// 1, 3 or 6 characters past a multiple of 8 end within a byte: what is left of it
	// would be dropped, and the secret in the app would not be the one checked
	b, err := encoding.DecodeString(s)
	if n := len(s) % 8; err != nil || n == 1 || n == 3 || n == 6 {
		return nil, errors.New("secret is cut short: its last character holds part of a " +
			"byte (base32 secrets are 0, 2, 4, 5 or 7 characters past a multiple of 8)")
	}
	if len(b) < MinSecretSize {
		return nil, fmt.Errorf("secret is %d bits; at least %d are needed", len(b)*8,
			MinSecretSize*8)
	}
	return Secret(b), nil
}

// String returns s in base32, without padding.
func (s Secret) String() string { return encoding.EncodeToString(s) }

// Step returns the number of the period t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code returns the code s shows at t.
func (s Secret) Code(t time.Time) string { return hotp(s, uint64(Step(t)), Digits) }

// Verify reports whether code is one s shows within Skew periods of now, in a period
// later than after, and returns that period's Step. Pass the step of the last code the
// user signed in with as after, or zero; a [Ledger] keeps it. Every candidate is compared
// in constant time, so the answer takes as long whichever of them matched.
func (s Secret) Verify(code string, now time.Time, after int64) (step int64, ok bool) {
	if len(code) != Digits {
		return 0, false
	}
	cur := Step(now)
	for d := int64(-Skew); d <= Skew; d++ {
		n := cur + d
		want := hotp(s, uint64(n), Digits)
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && n > after && !ok {
			step, ok = n, true
		}
	}
	return step, ok
}

// hotp is RFC 4226's HOTP value of key at counter, as a decimal of the given digits.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// URI returns the otpauth:// URI that authenticator apps read, usually from a QR code,
// to add s for account under issuer.
func URI(issuer, account string, s Secret) string {
	q := url.Values{}
	q.Set("secret", s.String())
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(Digits))
	q.Set("period", fmt.Sprint(int(Period/time.Second)))
	// The label is issuer:account, so a colon in either would move the split: it is
	// escaped, which path escaping alone leaves as it is.
	label := labelEscape(issuer) + ":" + labelEscape(account)
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// labelEscape escapes s for one side of an otpauth label.
func labelEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// Remember is how long a Ledger remembers, at least, the last code a user signed in
// with: longer than a code can be accepted, and longer than a sign-in waits for its code,
// so that a copy of that sign-in cannot outlive the record of the code that ended it.
const Remember = 10 * time.Minute

// replay remembers the step of the last code each user signed in with, so that a code
// seen by someone else, over a shoulder or on the wire, cannot be used again. It forgets
// steps once Remember has passed, so its memory is bounded by the users who signed in
// during the last Remember. The zero value is ready to use; it is safe for concurrent use.
type replay struct {
	mu    sync.Mutex
	last  map[string]int64
	limit int // the size at which steps past Remember are next looked for
}

// Last returns the step of the last code user signed in with, or zero.
func (r *replay) Last(user string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[user]
}

// Claim records that user signed in with the code of step, and reports whether that was
// allowed: only when the last code user signed in with was of step after or earlier,
// and step is later than that. Verify and Claim together accept each code once, even
// when two requests bring it at the same moment.
func (r *replay) Claim(user string, after, step int64, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = make(map[string]int64)
	}
	if cur := r.last[user]; cur > after || step <= cur {
		return false
	}
	if len(r.last) >= max(r.limit, 1024) {
		oldest := Step(now.Add(-Remember))
		for u, s := range r.last {
			if s < oldest {
				delete(r.last, u)
			}
		}
		r.limit = 2 * len(r.last)
	}
	r.last[user] = step
	return true
}

// backoff spaces out the wrong codes given for each user: after the third within a day,
// each next code waits twice as long as the one before, from a second up to an hour.
// Whoever guesses codes already has the user's password; the per-user spacing of
// password guesses alone would still let them try thousands of codes a day, where
// backoff lets a few dozen. It holds only users whose password checked out and who
// gave a code since, so its memory is bounded by the users of the users file. The zero value
// is ready to use; it is safe for concurrent use.
type backoff struct {
	mu sync.Mutex
	m  map[string]failures
}

type failures struct {
	n    int
	last time.Time
}

// The spacing of wrong codes, which every Ledger keeps to: FreeWrong wrong codes within
// WrongMemory of each other pass without a wait; the next waits FirstWait after the one
// before, and each further one twice as long as the last, up to MaxWait. A wrong code
// counts for WrongMemory after the last one given.
const (
	FreeWrong   = 3
	WrongMemory = 24 * time.Hour
	FirstWait   = time.Second
	MaxWait     = time.Hour
)

// Wait is how long the code after n wrong ones waits after the last of them: the spacing
// every Ledger keeps to.
func Wait(n int) time.Duration {
	if n < FreeWrong {
		return 0
	}
	if shift := n - FreeWrong; shift < 12 {
		return min(FirstWait<<shift, MaxWait)
	}
	return MaxWait
}

// Take asks to check a code of user at now. It returns how long to wait first, or
// zero; then the code counts as wrong from now on, until Right says it was right, so
// that codes sent at the same moment cannot slip past the wait together.
func (b *backoff) Take(user string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[string]failures)
	}
	f := b.m[user]
	wait, n := Count(f.n, f.last, now)
	if wait > 0 {
		return wait
	}
	b.m[user] = failures{n: n, last: now}
	return 0
}

// Count decides a code given at now for a key with n wrong codes, the last of them at
// last: how long the code must wait first, or zero and the wrong codes the key has from
// then on, the code counted among them. Ledgers that keep their counts elsewhere than in
// memory decide with it.
func Count(n int, last, now time.Time) (wait time.Duration, counted int) {
	if now.Sub(last) >= WrongMemory {
		n = 0
	}
	if w := last.Add(Wait(n)).Sub(now); n >= FreeWrong && w > 0 {
		return w, n
	}
	return 0, n + 1
}

// Right takes back the code of user that Take counted, which was right. The wrong
// codes before it still count: were a right one to clear them, each sign-in of the user
// would give a guesser a fresh start.
func (b *backoff) Right(user string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.m[user]
	if !ok {
		return
	}
	if f.n <= 1 {
		delete(b.m, user)
		return
	}
	f.n--
	b.m[user] = f
}

// Ledger remembers, for one gateway or for several that share it, the one-time codes
// users signed in with and the wrong codes given for them. Its methods fail only when
// the store behind it does, and the caller then refuses the code: a code is never taken
// on a ledger that could not say whether it was used.
type Ledger interface {
	// Last returns the step of the last code user signed in with, or zero.
	Last(ctx context.Context, user string) (int64, error)
	// Claim records that user signed in with the code of step, and reports whether that
	// was allowed: only when the last code user signed in with, on any gateway that
	// shares the ledger, was of step after or earlier, and step is later than that.
	// Pass as after what Last said when the user's password checked out: then a copy
	// of that sign-in cannot take a code once a code ended it. Of several claims at the
	// same moment that are allowed alone, one is allowed. The step is remembered for at
	// least Remember.
	Claim(ctx context.Context, user string, after, step int64, now time.Time) (bool, error)
	// Take asks to check a code given for key at now, and returns how long to wait
	// first (see Wait), or zero; then the code counts as wrong until Right says it was
	// right, so that codes sent at the same moment cannot slip past the wait together.
	Take(ctx context.Context, key string, now time.Time) (time.Duration, error)
	// Right takes back the code for key that Take counted, which was right. The wrong
	// codes before it still count.
	Right(ctx context.Context, key string) error
}

// Memory is a Ledger for one gateway, kept in memory. The zero value is ready to use;
// it is safe for concurrent use.
type Memory struct {
	codes replay
	wrong backoff
}

var _ Ledger = (*Memory)(nil)

// Last implements Ledger.
func (m *Memory) Last(_ context.Context, user string) (int64, error) {
	return m.codes.Last(user), nil
}

// Claim implements Ledger.
func (m *Memory) Claim(_ context.Context, user string, after, step int64,
	now time.Time) (bool, error) {
	return m.codes.Claim(user, after, step, now), nil
}

// Take implements Ledger.
func (m *Memory) Take(_ context.Context, key string, now time.Time) (time.Duration, error) {
	return m.wrong.Take(key, now), nil
}

// Right implements Ledger.
func (m *Memory) Right(_ context.Context, key string) error {
	m.wrong.Right(key)
	return nil
}
