package totp

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcKey is the SHA-1 key of the test vectors of RFC 4226 and RFC 6238.
var rfcKey = []byte("12345678901234567890")

// TestHOTPVectors checks RFC 4226, appendix D.
func TestHOTPVectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922",
		"162583", "399871", "520489"}
	for counter, w := range want {
		if got := hotp(rfcKey, uint64(counter), 6); got != w {
			t.Errorf("counter %d: got %s, want %s", counter, got, w)
		}
	}
}

// TestTOTPVectors checks the SHA-1 rows of RFC 6238, appendix B (eight digits), and the
// six-digit codes the same key shows at those times.
func TestTOTPVectors(t *testing.T) {
	for _, tt := range []struct {
		unix  int64
		eight string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		at := time.Unix(tt.unix, 0)
		if got := hotp(rfcKey, uint64(Step(at)), 8); got != tt.eight {
			t.Errorf("%d: got %s, want %s", tt.unix, got, tt.eight)
		}
		// six digits are the last six of the same value
		if got := Secret(rfcKey).Code(at); got != tt.eight[2:] {
			t.Errorf("%d: six digits %s, want %s", tt.unix, got, tt.eight[2:])
		}
	}
}

func TestVerify(t *testing.T) {
	s := Secret(rfcKey)
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	tests := []struct {
		name  string
		code  string
		after int64
		step  int64
		ok    bool
	}{
		{"current", s.Code(now), 0, cur, true},
		{"previous period", s.Code(now.Add(-Period)), 0, cur - 1, true},
		{"next period", s.Code(now.Add(Period)), 0, cur + 1, true},
		{"two periods ago", s.Code(now.Add(-2 * Period)), 0, 0, false},
		{"two periods ahead", s.Code(now.Add(2 * Period)), 0, 0, false},
		{"used already", s.Code(now), cur, 0, false},
		{"a later one than the one used", s.Code(now.Add(Period)), cur, cur + 1, true},
		{"an earlier one than the one used", s.Code(now.Add(-Period)), cur, 0, false},
		{"short", s.Code(now)[:5], 0, 0, false},
		{"long", s.Code(now) + "0", 0, 0, false},
		{"empty", "", 0, 0, false},
		{"other secret", Secret([]byte("abcdefghijabcdefghij")).Code(now), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := s.Verify(tt.code, now, tt.after)
			if ok != tt.ok || step != tt.step {
				t.Errorf("Verify(%q): %d, %v; want %d, %v", tt.code, step, ok, tt.step, tt.ok)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	s := NewSecret()
	if len(s) != SecretSize {
		t.Fatalf("NewSecret: %d bytes, want %d", len(s), SecretSize)
	}
	text := s.String()
	spaced := strings.ToLower(text[:4] + " " + text[4:8] + "-" + text[8:])
	for _, in := range []string{text, spaced, text + "===="} {
		got, err := ParseSecret(in)
		if err != nil || got.String() != text {
			t.Errorf("ParseSecret(%q): %v, %v; want %s", in, got, err, text)
		}
	}
	for in, want := range map[string]string{
		"":                                  "empty",
		"JBSWY3DPEHPK3PXP":                  "is 80 bits (16 characters); at least 128",
		"abc":                               "is 15 bits (3 characters); at least 128",
		"A":                                 "is 5 bits (1 character); at least 128",
		strings.Repeat("2", 27):             "cut short",
		strings.Repeat("A", 30):             "cut short",
		"JBSWY3DPEHPK3PXP1BSWY3DPEHPK3PXP":  "not base32",
		strings.Repeat("A", 200):            "longer than 64 bytes",
		"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX\n": "not base32",
	} {
		if _, err := ParseSecret(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSecret(%q): %v, want an error saying %q", in, err, want)
		}
	}
}

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "jbsw y3dp-ehpk", "====",
		"AAAAAAAAAAAAAAAAAAAAAAAAAA======", "\x00", "ÄÖÜ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSecret(in)
		if err != nil {
			return
		}
		if len(s) < MinSecretSize || len(s) > maxSecretSize {
			t.Fatalf("ParseSecret(%q) accepted %d bytes", in, len(s))
		}
		// what it accepts, written out again, reads back the same
		again, err := ParseSecret(s.String())
		if err != nil || string(again) != string(s) {
			t.Fatalf("round trip of %q: %v, %v", in, again, err)
		}
	})
}

func TestURI(t *testing.T) {
	s := Secret(rfcKey)
	u, err := url.Parse(URI("My Gateway", "alice@example.com", s))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" ||
		u.Path != "/My Gateway:alice@example.com" || q.Get("secret") != s.String() ||
		q.Get("issuer") != "My Gateway" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("URI: %s", u)
	}
	// A colon in either side would move the split between issuer and account, which
	// apps make at the first unescaped one.
	raw := URI("Corp: Ops", "bad:name", s)
	label, _, _ := strings.Cut(strings.TrimPrefix(raw, "otpauth://totp/"), "?")
	if label != "Corp%3A%20Ops:bad%3Aname" {
		t.Errorf("label with colons: %q, want each side's colon escaped", label)
	}
}

// TestReplayForgets checks that the memory ledger forgets steps once Remember has passed,
// and not before.
func TestReplayForgets(t *testing.T) {
	var r replay
	now := time.Unix(1111111111, 0)
	claimAll := func(prefix string, n int, at time.Time) {
		for i := range n {
			r.Claim(fmt.Sprintf("%s%d", prefix, i), 0, Step(at), at)
		}
	}
	claimAll("u", 2000, now)
	soon := now.Add(Remember - 2*Period)
	claimAll("v", 3000, soon)
	if r.Last("u1") != Step(now) {
		t.Errorf("a step forgotten before Remember passed: %d", r.Last("u1"))
	}
	later := now.Add(Remember + 2*Period)
	claimAll("w", 10000, later)
	if r.Last("u1") != 0 || r.Last("v1") != Step(soon) {
		t.Errorf("after Remember passed for one: %d, %d", r.Last("u1"), r.Last("v1"))
	}
	r.mu.Lock()
	n := len(r.last)
	r.mu.Unlock()
	if n > 13000 {
		t.Errorf("%d users remembered, 2000 of them past Remember", n)
	}
}
