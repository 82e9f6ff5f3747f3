package throttle

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrUnavailable is in the errors of Begin and Attempt.Claim when the Tally cannot be
// read or written: the attempt is not admitted, and its password must not be checked.
var ErrUnavailable = errors.New("the shared counts of failed sign-ins are unavailable")

// Tally keeps counts of failed sign-ins where several gateways see them, or where they
// outlast a restart. Keys are printable and short: a kind, an address, and a digest of the
// username. A Tally is safe for concurrent use.
type Tally interface {
	// Read returns the failures counted under each of keys, in order; a key that holds
	// none has the zero Count.
	Read(ctx context.Context, keys []string) ([]Count, error)
	// Claim counts one failure, made at now, under each of keys, unless one of them must
	// wait: keys[i] waits as rules[i].Wait says for its count and the window keep.
	// The check and the count are one step. Each key is kept until keep after now.
	Claim(ctx context.Context, keys []string, rules []Rule, now time.Time,
		keep time.Duration) (Claimed, error)
	// Undo takes back one failure that Claim counted at at under each of keys: the
	// count drops by one and, unless a later failure came since, the latest failure goes
	// back to before[i]; a key left with none is dropped.
	Undo(ctx context.Context, keys []string, at time.Time, before []time.Time) error
	// Forget drops keys and their counts.
	Forget(ctx context.Context, keys []string) error
}

// Count is what a Tally holds under one key.
type Count struct {
	Failures int
	Last     time.Time // of the latest failure
}

// Rule is when a key's failures make an attempt wait: from Limit failures on, for a
// time that doubles with each, capped at MaxWait (see WaitFor); or, with Hold, until the
// count is dropped, the window after its latest failure.
type Rule struct {
	Limit   int
	MaxWait time.Duration
	Hold    bool
}

// Wait returns how long an attempt under a key with failures, the latest at last, must
// wait at now by r, when the key's count is dropped window after its latest failure.
func (r Rule) Wait(failures int, last time.Time, window time.Duration,
	now time.Time) time.Duration {
	if !r.Hold {
		return WaitFor(failures, last, r.Limit, r.MaxWait, window, now)
	}
	if failures < r.Limit || now.Sub(last) >= window {
		return 0
	}
	return last.Add(window).Sub(now)
}

// Claimed is the outcome of Tally.Claim. Refused is the index of the key that must wait,
// and Wait how long, or -1 when the failure was counted; then Before holds each key's
// latest failure before it, the zero Time for none.
type Claimed struct {
	Refused int
	Wait    time.Duration
	Before  []time.Time
}

// Refused is the error of Claim when the Tally's counts refuse an attempt.
type Refused struct {
	Wait   time.Duration
	Reason Reason
}

func (r *Refused) Error() string {
	return fmt.Sprintf("refused by the shared counts of failed sign-ins (%s) for %v",
		r.Reason, r.Wait)
}

// neverLimit is the limit of a count an attempt is counted in but not held to: the
// per-username spacing of an attempt from a trusted device.
const neverLimit = 1 << 30

// sharedCount is an Attempt's count in the Tally.
type sharedCount struct {
	t       *Throttle
	user    string // hex digest
	keys    []string
	rules   []Rule
	why     []Reason
	claimed bool
	at      time.Time
	before  []time.Time
}

// prepare sets the keys the attempt a counts under in the Tally, and their rules.
func (s *sharedCount) prepare(a *Attempt, trustedDevice bool) {
	t := a.t
	s.t = t
	s.user = hex.EncodeToString([]byte(a.user))
	lane := "seen"
	if a.lane == t.fresh {
		lane = "fresh"
	}
	l := t.limits
	s.keys = []string{"addr:" + a.addrKey, "pair:" + a.addrKey + ":" + s.user,
		"user:" + lane + ":" + s.user}
	s.rules = []Rule{{Limit: l.AddressFailures, MaxWait: l.Window},
		{Limit: l.UserAddressFailures, MaxWait: l.Window},
		{Limit: (l.UserFailures + 1) / 2, MaxWait: laneSpacing}}
	s.why = []Reason{ByAddress, ByUserAddress, ByUser}
	if trustedDevice {
		s.rules[2].Limit = neverLimit
	}
}

// read returns how long the Tally's counts make the attempt wait and why, or the error
// that kept them from being read.
func (s *sharedCount) read(ctx context.Context, now time.Time) (time.Duration, Reason,
	error) {
	counts, err := s.t.tally.Read(ctx, s.keys)
	if err != nil {
		return 0, "", fmt.Errorf("%w: reading them: %w", ErrUnavailable, err)
	}
	for i, c := range counts {
		if w := s.rules[i].Wait(c.Failures, c.Last, s.t.limits.Window, now); w > 0 {
			return w, s.why[i], nil
		}
	}
	return 0, "", nil
}

// claim counts the attempt in the Tally at now, or returns why not.
func (s *sharedCount) claim(ctx context.Context, now time.Time) error {
	c, err := s.t.tally.Claim(ctx, s.keys, s.rules, now, s.t.limits.Window)
	if err != nil {
		return fmt.Errorf("%w: counting a sign-in: %w", ErrUnavailable, err)
	}
	if c.Refused >= 0 {
		return &Refused{Wait: c.Wait, Reason: s.why[c.Refused]}
	}
	s.claimed, s.at, s.before = true, now, c.Before
	return nil
}

// undo takes the attempt back from the Tally, if it was counted there.
func (s *sharedCount) undo(ctx context.Context) error {
	if !s.claimed {
		return nil
	}
	s.claimed = false
	if err := s.t.tally.Undo(ctx, s.keys, s.at, s.before); err != nil {
		return fmt.Errorf("taking back a sign-in where gateways share it: %w", err)
	}
	return nil
}

// succeeded takes the attempt back from the address's count in the Tally, and clears
// the pair's and the username's there.
func (s *sharedCount) succeeded(ctx context.Context) error {
	if !s.claimed {
		return nil
	}
	s.claimed = false
	err := s.t.tally.Undo(ctx, s.keys[:1], s.at, s.before[:1])
	if err == nil {
		err = s.t.tally.Forget(ctx, []string{s.keys[1], "user:seen:" + s.user,
			"user:fresh:" + s.user})
	}
	if err != nil {
		return fmt.Errorf("clearing the shared counts of a user's failed sign-ins: %w", err)
	}
	return nil
}
