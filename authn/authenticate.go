// Package authn verifies who a user is: the users file, password checks that cost the
// same for every kind of failure, and the rules that tie a session to its user.
//
// Sessions themselves live in the sub-package session; password hash schemes in the
// sub-package password.
package authn

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

// Limits on what a sign-in attempt may send. Longer values are refused before any hashing,
// so a huge password costs the gateway nothing.
const (
	MaxUsernameLength = 256
	MaxPasswordLength = password.MaxLength
)

// Errors returned by Authenticate.
var (
	// ErrInvalidCredentials means the username is unknown, the user is disabled, the
	// password is wrong or an input is too long. Callers must not tell these apart in
	// anything a client sees; the Reason of an *AuthError says which, for the log.
	ErrInvalidCredentials = errors.New("invalid credentials")
)

// AuthError is returned for a failed authentication. It matches ErrInvalidCredentials
// with errors.Is; Reason is for logs only.
type AuthError struct {
	// Reason is one of "unknown user", "disabled", "wrong password" or "too long", or,
	// for a user whose entry changed while their password was checked, "user removed"
	// or "password changed".
	Reason string
}

func (e *AuthError) Error() string { return "invalid credentials: " + e.Reason }

// Checked reports whether an Authenticate call that returned err checked a password:
// it did unless an input was too long or the context ended while it waited.
func Checked(err error) bool {
	var ae *AuthError
	return err == nil || errors.As(err, &ae) && ae.Reason != "too long"
}

// Is makes errors.Is(err, ErrInvalidCredentials) true.
func (e *AuthError) Is(target error) bool { return target == ErrInvalidCredentials }

// Authenticator checks usernames and passwords against a FileStore. Password checks run
// under a concurrency cap, so a burst of sign-ins queues instead of exhausting memory:
// each argon2id check holds its memory cost for as long as it runs. Safe for concurrent
// use.
type Authenticator struct {
	users *FileStore
	slots *slots

	verifications atomic.Int64
}

// NewAuthenticator returns an Authenticator over users that runs at most concurrency
// password checks at a time. Zero or less means half the CPUs, at least one. After each
// check its slot rests for as long as the check took, so that checks take at most half
// of the slots' CPU time: a flood of sign-in attempts leaves at least three quarters of
// the CPUs to the requests of signed-in users. The rest delays the next check, never
// the answer to the one just made.
func NewAuthenticator(users *FileStore, concurrency int) *Authenticator {
	if concurrency <= 0 {
		concurrency = max(1, runtime.GOMAXPROCS(0)/2)
	}
	return &Authenticator{users: users, slots: newSlots(concurrency)}
}

// Users returns the store the Authenticator checks against.
func (a *Authenticator) Users() *FileStore { return a.users }

// Verifications returns how many password checks have run, dummy ones included.
func (a *Authenticator) Verifications() int64 { return a.verifications.Load() }

// Authenticate returns the user whose name and password these are. Every failure is an
// *AuthError, and every failure but an over-long input costs one full password check:
// an unknown user is checked against a dummy hash of a known user's cost, and a disabled user's
// password is checked before the answer, so timing reveals nothing. It returns ctx's
// error if ctx ends while waiting for a slot.
func (a *Authenticator) Authenticate(ctx context.Context, name, pw string) (*User, error) {
	return a.authenticate(ctx, name, pw, Stranger, nil)
}

// AuthenticateWith is Authenticate for a check placed by p while others wait for a
// slot: Known for a browser or address the caller has seen name sign in from before,
// Quiet for an address whose network has not failed lately. It costs and answers
// exactly as Authenticate does; only the wait differs.
func (a *Authenticator) AuthenticateWith(ctx context.Context, name, pw string,
	p Priority) (*User, error) {
	return a.authenticate(ctx, name, pw, p, nil)
}

// AuthenticateGated is AuthenticateWith that calls gate once a slot is free, just before
// the password is checked, and returns gate's error, checking nothing, when it fails.
// What gate counts, such as an attempt in a store that several gateways share, is then
// counted no faster than passwords are checked.
func (a *Authenticator) AuthenticateGated(ctx context.Context, name, pw string, p Priority,
	gate func(context.Context) error) (*User, error) {
	return a.authenticate(ctx, name, pw, p, gate)
}

// authenticate checks pw for name, waiting for a slot as p says, once gate, if any,
// lets it.
func (a *Authenticator) authenticate(ctx context.Context, name, pw string, p Priority,
	gate func(context.Context) error) (*User, error) {
	if len(name) > MaxUsernameLength || len(pw) > MaxPasswordLength {
		return nil, &AuthError{Reason: "too long"}
	}
	if err := a.slots.acquire(ctx, p, name); err != nil {
		return nil, fmt.Errorf("waiting to check a password: %w", err)
	}
	if gate != nil {
		if err := gate(ctx); err != nil {
			a.slots.release()
			return nil, err
		}
	}
	// The user as the users file has them once the wait is over, which under a flood
	// may be long: a password changed, or a user disabled or removed, meanwhile counts.
	snap := a.users.snap.Load()
	u := snap.users[name]
	var h password.Hash
	if u != nil {
		h = u.hash
	} else {
		h = snap.dummy(name)
	}
	start := time.Now()
	hashBegins()
	ok := h.Verify(pw)
	hashEnds()
	a.slots.releaseAfter(time.Since(start))
	a.verifications.Add(1)

	switch {
	case u == nil:
		return nil, &AuthError{Reason: "unknown user"}
	case !ok:
		return nil, &AuthError{Reason: "wrong password"}
	case u.Disabled:
		return nil, &AuthError{Reason: "disabled"}
	}
	return a.current(u)
}

// current returns u, whose password was just checked, as the users file has them now:
// a change that landed during the check counts too, so the user signs in with their
// groups and one-time code as they are, or not at all.
func (a *Authenticator) current(u *User) (*User, error) {
	cur := a.users.snap.Load().users[u.Name]
	switch {
	case cur == u:
		return u, nil
	case cur == nil:
		return nil, &AuthError{Reason: "user removed"}
	case cur.Disabled:
		return nil, &AuthError{Reason: "disabled"}
	case cur.encoded != u.encoded:
		return nil, &AuthError{Reason: "password changed"}
	}
	return cur, nil
}
