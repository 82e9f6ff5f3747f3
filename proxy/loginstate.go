package proxy

import (
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/frontgate/gateway/proxy/redirect"
)

// loginState is the content of the pre-login cookie.
type loginState struct {
	CSRF   string
	Next   string // a target the redirect policy accepted when it was stored
	Notice string
	// Pending is a sign-in whose password checked out, waiting for its one-time code.
	Pending *pendingLogin
}

// pendingLogin is a sign-in that needs only its one-time code.
type pendingLogin struct {
	User string
	// Bound is a keyed digest of what the user's sessions are bound to when the password
	// checked out: a password or secret changed since ends the sign-in.
	Bound    string
	Remember bool
	Until    int64 // Unix seconds
	// After is the step of the last code the user had signed in with when the password
	// checked out: once a code signs the user in, anywhere, copies of this state sign
	// no one in, and the password is asked again.
	After int64
}

// loginStateVersion opens every encoded loginState, so that a change of the format is
// read as no state at all, never as another field.
const loginStateVersion = 1

// maxLoginState bounds an encoded loginState. Sealing adds an IV, a time-stamp and a
// MAC and encodes the result in base64 twice, about 1.8 times the size: 2048 bytes seal
// to under 3750, which with the cookie's name is under the 4096 bytes a browser keeps
// of a cookie, and under securecookie's own limit. A state with the longest target
// redirect.Allowed accepts, the longest username and every other field at its largest
// fits, with room to spare.
const maxLoginState = 2048

// errBadLoginState means an encoded loginState is malformed or of another version.
var errBadLoginState = errors.New("malformed sign-in state")

// appendLoginState appends st to b in a compact form: a version byte, then each string
// with its length before it, and the pending sign-in after a byte that says whether
// there is one. A target costs its own length, whatever characters it has, so the room
// it may take is known in advance (see maxLoginState).
func appendLoginState(b []byte, st loginState) []byte {
	b = append(b, loginStateVersion)
	b = appendString(b, st.CSRF)
	b = appendString(b, st.Next)
	b = appendString(b, st.Notice)
	p := st.Pending
	if p == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, p.User)
	b = appendString(b, p.Bound)
	b = appendBool(b, p.Remember)
	b = binary.AppendVarint(b, p.Until)
	return binary.AppendVarint(b, p.After)
}

// parseLoginState reads a loginState that appendLoginState wrote. Anything else, bytes
// left over included, is errBadLoginState.
func parseLoginState(b []byte) (loginState, error) {
	d := stateReader{b: b}
	if d.byte() != loginStateVersion {
		return loginState{}, errBadLoginState
	}
	st := loginState{CSRF: d.string(), Next: d.string(), Notice: d.string()}
	switch d.byte() {
	case 0:
	case 1:
		st.Pending = &pendingLogin{User: d.string(), Bound: d.string(), Remember: d.bool(),
			Until: d.varint(), After: d.varint()}
	default:
		d.bad = true
	}
	if d.bad || len(d.b) > 0 {
		return loginState{}, errBadLoginState
	}
	return st, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// stateReader takes the fields of an encoded loginState off the front of b. Once a
// field is malformed, bad is set and every later field reads as zero.
type stateReader struct {
	b   []byte
	bad bool
}

func (d *stateReader) byte() byte {
	if d.bad || len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *stateReader) string() string {
	n, k := binary.Uvarint(d.b)
	if d.bad || k <= 0 || n > uint64(len(d.b)-k) {
		d.bad = true
		return ""
	}
	s := string(d.b[k : k+int(n)])
	d.b = d.b[k+int(n):]
	return s
}

func (d *stateReader) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.bad = true
	return false
}

func (d *stateReader) varint() int64 {
	v, k := binary.Varint(d.b)
	if d.bad || k <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[k:]
	return v
}

// readLoginState returns the pre-login state, or the zero state when the cookie is
// missing, forged, expired or malformed.
func (h *Handler) readLoginState(r *http.Request) loginState {
	for _, v := range cookieValues(r, h.cookieName(r, loginCookie)) {
		raw, _, err := h.loginCk.Decode(v)
		if err != nil {
			continue
		}
		if st, err := parseLoginState(raw); err == nil {
			return st
		}
	}
	return loginState{}
}

// writeLoginState gives the browser st as its pre-login state. Every target the
// redirect policy accepts fits; one that would not, which only a change of the limits
// could let through, is replaced with the fallback rather than lose the whole state,
// and the form with it.
func (h *Handler) writeLoginState(w http.ResponseWriter, r *http.Request, st loginState) {
	raw := appendLoginState(nil, st)
	if len(raw) > maxLoginState {
		h.log.Debug("sign-in target too long to keep; replaced", "length", len(st.Next),
			"client_ip", h.clientIP(r).String())
		st.Next = redirect.Fallback
		raw = appendLoginState(raw[:0], st)
	}
	v, err := h.loginCk.Encode(raw)
	if err != nil {
		h.log.Error("encoding sign-in state failed", "error", err)
		return
	}
	h.setCookie(w, r, loginCookie, v, int(loginStateTTL/time.Second))
}
