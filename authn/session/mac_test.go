package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// TestEqualHex checks the allocation-free comparison of a stored hex MAC against a
// computed one, against encoding/hex.
func TestEqualHex(t *testing.T) {
	sum := sha256.Sum256([]byte("record"))
	good := hex.EncodeToString(sum[:])
	flipped := []byte(good)
	flipped[10] ^= 1
	for _, c := range []struct {
		name, in string
		want     bool
	}{
		{"same", good, true},
		{"upper case", strings.ToUpper(good), true},
		{"one bit off", string(flipped), false},
		{"short", good[:62], false},
		{"long", good + "00", false},
		{"empty", "", false},
		{"not hex", "zz" + good[2:], false},
		{"odd nibble", good[:63] + "g", false},
	} {
		if got := equalHex(c.in, sum[:]); got != c.want {
			t.Errorf("%s: equalHex = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestMACKeyReuse checks that a pooled hasher gives the same sums as a fresh one, in
// any order of use.
func TestMACKeyReuse(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	k := newMACKey(key)
	for _, in := range []string{"a", "", strings.Repeat("x", 5000), "a", "bb"} {
		st := k.get()
		st.in = append(st.in, in...)
		got := hex.EncodeToString(st.sum())
		k.put(st)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		if want := hex.EncodeToString(m.Sum(nil)); got != want {
			t.Errorf("MAC of %.10q = %s, want %s", in, got, want)
		}
	}
}

// TestRecordTimesCannotWrap: the MAC covers a record's times as 64-bit nanoseconds, so
// that one moved by 2^64 ns, about 584 years, would pass for the same; such a record is
// not sealed.
func TestRecordTimesCannotWrap(t *testing.T) {
	keys, s := sealedRecord(t, "0123456789abcdef0123456789abcdef")
	// 2^64 ns, added as whole seconds and the nanoseconds left over
	wrap := func(t time.Time) time.Time {
		return time.Unix(t.Unix()+18446744073, int64(t.Nanosecond())+709551616)
	}
	for _, tt := range []struct {
		name string
		edit func(*Session)
	}{
		{"created", func(s *Session) { s.Created = wrap(s.Created) }},
		{"expires", func(s *Session) { s.Expires = wrap(s.Expires) }},
	} {
		e := *s
		tt.edit(&e)
		if e.Created.UnixNano() != s.Created.UnixNano() ||
			e.Expires.UnixNano() != s.Expires.UnixNano() {
			t.Fatalf("%s: the edit does not keep UnixNano, so it tests nothing", tt.name)
		}
		if ok, _ := keys.recordSealed("k", &e); ok {
			t.Errorf("%s moved by 2^64 ns: sealed, want refused", tt.name)
		}
	}
	if ok, _ := keys.recordSealed("k", s); !ok {
		t.Error("the record as sealed: refused")
	}
}

// TestRecordSealedAllocates nothing: it runs on every request.
func TestRecordSealedAllocates(t *testing.T) {
	keys, s := sealedRecord(t, "0123456789abcdef0123456789abcdef",
		"fedcba9876543210fedcba9876543210")
	if ok, newest := keys.recordSealed("k", s); !ok || !newest ||
		!keys.AuthHashMatches(s.AuthHash, "h") {
		t.Fatal("a sealed record does not verify under the newest key")
	}
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	n := testing.AllocsPerRun(100, func() {
		keys.recordSealed("k", s)
		keys.AuthHashMatches(s.AuthHash, "h")
	})
	if n != 0 {
		t.Errorf("checking a record allocates %v times, want 0", n)
	}
}

// sealedRecord returns keys from secrets and a record of an hour from now, stored
// under "k", sealed under the first, whose user's password hash is "h".
func sealedRecord(t *testing.T, secrets ...string) (*Keys, *Session) {
	t.Helper()
	var b [][]byte
	for _, s := range secrets {
		b = append(b, []byte(s))
	}
	keys, err := DeriveKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := &Session{User: "alice", Backend: "file", AuthHash: keys.AuthHash("h"),
		CSRFToken: "t", Created: now, Expires: now.Add(time.Hour)}
	s.MAC = keys.sealRecord("k", s)
	return keys, s
}
