package proxy

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/proxy/redirect"
)

// largestLoginState is a sign-in state with every field at its largest: the longest
// target the redirect policy accepts, the longest username and notice, and a pending
// sign-in with times that take the most bytes.
func largestLoginState(t testing.TB, keys *session.Keys) loginState {
	t.Helper()
	next := "/" + strings.Repeat(`"&<>`, redirect.MaxLength)[:redirect.MaxLength-1]
	if !(&redirect.Policy{}).Allowed(next) {
		t.Fatalf("the longest target is refused: %.40q…", next)
	}
	notice := ""
	for _, m := range []string{msgInvalid, msgLoggedOut, msgLoggedOutAll, msgFormExpire,
		msgThrottled, msgBadCode, msgCodeLate, msgCannotSignIn, msgBusy} {
		if len(m) > len(notice) {
			notice = m
		}
	}
	return loginState{CSRF: session.NewToken(), Next: next, Notice: notice,
		Pending: &pendingLogin{User: strings.Repeat("é", authn.MaxUsernameLength/2),
			Bound: keys.AuthHash(unknownUserHash), Remember: true, Until: math.MinInt64,
			After: math.MaxInt64}}
}

func testKeys(t testing.TB) *session.Keys {
	t.Helper()
	keys, err := session.DeriveKeys([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestLoginStateRoundTrip: what appendLoginState writes, parseLoginState reads back.
func TestLoginStateRoundTrip(t *testing.T) {
	for _, st := range []loginState{
		{},
		{CSRF: "token"},
		{CSRF: "token", Next: "/a?b=c&d=<e>", Notice: msgLoggedOut},
		{CSRF: "token", Next: "/", Pending: &pendingLogin{User: "dave", Bound: "abc",
			Until: 1700000000, After: 56666666}},
		{CSRF: "token", Pending: &pendingLogin{User: "Ærø", Remember: true, Until: -1}},
		largestLoginState(t, testKeys(t)),
	} {
		got, err := parseLoginState(appendLoginState(nil, st))
		if err != nil || !reflect.DeepEqual(got, st) {
			t.Errorf("%+v: read back as %+v, %v", st, got, err)
		}
	}
}

// TestLoginStateMalformed: a state cut short, with bytes after it, of another version
// or with a field out of range reads as no state.
func TestLoginStateMalformed(t *testing.T) {
	full := appendLoginState(nil, loginState{CSRF: "token", Next: "/x",
		Pending: &pendingLogin{User: "dave", Bound: "abc", Remember: true, Until: 1e9}})
	for n := range len(full) {
		if st, err := parseLoginState(full[:n]); err == nil {
			t.Errorf("the first %d of %d bytes read as %+v", n, len(full), st)
		}
	}
	for _, b := range [][]byte{
		append(append([]byte(nil), full...), 0),
		append([]byte{loginStateVersion + 1}, full[1:]...),
		{loginStateVersion, 0, 0, 0, 2},                // neither with nor without a pending
		{loginStateVersion, 0, 0, 0, 1, 0, 0, 2, 0, 0}, // remember neither yes nor no
		{loginStateVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		[]byte(`{"c":"token","n":"/x"}`), // the former form
	} {
		if st, err := parseLoginState(b); err == nil {
			t.Errorf("%q read as %+v", b, st)
		}
	}
}

// TestLoginStateFitsACookie: a state with every field at its largest, the longest
// target the redirect policy accepts among them, stays within maxLoginState, and seals
// into a cookie a browser keeps, its name included.
func TestLoginStateFitsACookie(t *testing.T) {
	keys := testKeys(t)
	st := largestLoginState(t, keys)
	raw := appendLoginState(nil, st)
	if len(raw) > maxLoginState {
		t.Fatalf("the largest state takes %d bytes, over maxLoginState (%d)", len(raw),
			maxLoginState)
	}
	raw = append(raw, make([]byte, maxLoginState-len(raw))...) // as large as may be
	v, err := keys.Codec(loginCookie, loginStateTTL).Encode(raw)
	if err != nil {
		t.Fatalf("sealing %d bytes: %v", len(raw), err)
	}
	if n := len(hostPrefix+loginCookie) + 1 + len(v); n > 4096 {
		t.Errorf("a state of maxLoginState bytes makes a cookie of %d bytes, over 4096", n)
	}
}

// FuzzLoginState: no input makes parseLoginState panic, and what it reads is written
// back as a state that reads the same.
func FuzzLoginState(f *testing.F) {
	f.Add(appendLoginState(nil, loginState{}))
	f.Add(appendLoginState(nil, loginState{CSRF: "t", Next: "/x", Notice: msgLoggedOut}))
	f.Add(appendLoginState(nil, loginState{CSRF: "t", Pending: &pendingLogin{User: "u",
		Bound: "b", Remember: true, Until: 1e9, After: 5}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseLoginState(b)
		if err != nil {
			return
		}
		again, err := parseLoginState(appendLoginState(nil, st))
		if err != nil || !reflect.DeepEqual(again, st) {
			t.Fatalf("%q read as %+v, written back and read as %+v, %v", b, st, again, err)
		}
	})
}
