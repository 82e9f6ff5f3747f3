package assertion_test

// The assertions are verified with lestrrat-go/jwx, a JOSE implementation independent of
// the go-jose the package signs with, so that a mistake both sides share cannot pass.

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/frontgate/gateway/proxy/assertion"
)

// newSigner returns a Signer with a key generated in a fresh state directory.
func newSigner(tb testing.TB) *assertion.Signer {
	tb.Helper()
	s, err := assertion.Open("", tb.TempDir())
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

// verify checks token as an app would, with jwx: against the key set jwks, for audience
// aud, at the time now. It may be called from any goroutine.
func verify(tb testing.TB, jwks []byte, token, aud string, now time.Time) (jwt.Token, error) {
	tb.Helper()
	set, err := jwk.Parse(jwks)
	if err != nil {
		return nil, fmt.Errorf("parsing key set %s: %w", jwks, err)
	}
	return jwt.ParseString(token,
		jwt.WithKeySet(set),
		jwt.WithIssuer(assertion.Issuer),
		jwt.WithAudience(aud),
		jwt.WithRequiredClaim("exp"),
		jwt.WithRequiredClaim("nbf"),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
	)
}

// wireClaims is the payload as an app decodes it.
type wireClaims struct {
	Iss    string    `json:"iss"`
	Sub    string    `json:"sub"`
	Aud    any       `json:"aud"`
	Email  *string   `json:"email"`
	Name   *string   `json:"name"`
	Groups *[]string `json:"groups"`
	Iat    int64     `json:"iat"`
	Nbf    int64     `json:"nbf"`
	Exp    int64     `json:"exp"`
	Jti    string    `json:"jti"`
}

// payloadOf decodes the payload of token without verifying it.
func payloadOf(tb testing.TB, token string) wireClaims {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatalf("decoding payload: %v", err)
	}
	var c wireClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		tb.Fatalf("decoding payload %s: %v", raw, err)
	}
	return c
}

// TestSignUpstreamAudience checks that an assertion with an upstream is addressed to
// both the host and the upstream, and to nothing else.
func TestSignUpstreamAudience(t *testing.T) {
	s := newSigner(t)
	now := time.Now()
	c := assertion.Claims{Subject: "alice", Audience: "app.example.com",
		Upstream: "http://127.0.0.1:9001"}
	token, err := s.Sign(c, now, time.Minute)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	for _, aud := range []string{c.Audience, c.Upstream} {
		tok, err := verify(t, s.JWKS(), token, aud, now)
		if err != nil {
			t.Fatalf("verifying for %q: %v", aud, err)
		}
		if got, _ := tok.Audience(); !slices.Equal(got, []string{c.Audience, c.Upstream}) {
			t.Errorf("aud = %q, want [%q %q]", got, c.Audience, c.Upstream)
		}
	}
	if _, err := verify(t, s.JWKS(), token, "http://127.0.0.1:9002", now); err == nil {
		t.Error("verifies for another upstream")
	}
}

func TestSignVerifies(t *testing.T) {
	s := newSigner(t)
	now := time.Now()
	c := assertion.Claims{
		Subject:  "alice",
		Email:    "alice@example.com",
		Name:     "Alice Ærø",
		Groups:   []string{"admins", "staff"},
		Audience: "app.example.com",
	}
	token, err := s.Sign(c, now, time.Minute)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	tok, err := verify(t, s.JWKS(), token, c.Audience, now)
	if err != nil {
		t.Fatalf("verifying: %v", err)
	}

	if got, _ := tok.Subject(); got != c.Subject {
		t.Errorf("sub = %q, want %q", got, c.Subject)
	}
	if got, _ := tok.Audience(); !slices.Equal(got, []string{c.Audience}) {
		t.Errorf("aud = %q, want [%q]", got, c.Audience)
	}
	if got, _ := tok.Issuer(); got != "gateway" {
		t.Errorf("iss = %q, want gateway", got)
	}
	var email string
	if err := tok.Get("email", &email); err != nil || email != c.Email {
		t.Errorf("email = %q (%v), want %q", email, err, c.Email)
	}
	var name string
	if err := tok.Get("name", &name); err != nil || name != c.Name {
		t.Errorf("name = %q (%v), want %q", name, err, c.Name)
	}
	iat, _ := tok.IssuedAt()
	nbf, _ := tok.NotBefore()
	exp, _ := tok.Expiration()
	if want := now.Unix(); iat.Unix() != want || nbf.Unix() != want {
		t.Errorf("iat, nbf = %d, %d, want both %d", iat.Unix(), nbf.Unix(), want)
	}
	if got, want := exp.Sub(iat), time.Minute; got != want {
		t.Errorf("exp - iat = %v, want %v", got, want)
	}
	if jti, _ := tok.JwtID(); len(jti) < 22 {
		t.Errorf("jti = %q, want at least 128 random bits", jti)
	}
	if got := payloadOf(t, token); got.Groups == nil || !slices.Equal(*got.Groups, c.Groups) {
		t.Errorf("groups = %v, want %q", got.Groups, c.Groups)
	}
}

func TestSignHeader(t *testing.T) {
	s := newSigner(t)
	token, err := s.Sign(assertion.Claims{Subject: "alice", Audience: "a.test"}, time.Now(),
		time.Minute)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	msg, err := jws.ParseString(token)
	if err != nil {
		t.Fatalf("jws.Parse: %v", err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if alg, _ := h.Algorithm(); alg != jwa.EdDSA() {
		t.Errorf("alg = %v, want EdDSA", alg)
	}
	if typ, _ := h.Type(); typ != "JWT" {
		t.Errorf("typ = %q, want JWT", typ)
	}
	if kid, _ := h.KeyID(); kid != s.KeyID() {
		t.Errorf("kid = %q, want KeyID() %q", kid, s.KeyID())
	}
	if got := len(h.Keys()); got != 3 {
		t.Errorf("header has %d fields (%q), want alg, kid, typ only", got, h.Keys())
	}
}

func TestSignFreshJTI(t *testing.T) {
	s := newSigner(t)
	now := time.Now()
	c := assertion.Claims{Subject: "alice", Audience: "a.test"}
	seen := map[string]bool{}
	for range 50 {
		token, err := s.Sign(c, now, time.Minute)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		jti := payloadOf(t, token).Jti
		if seen[jti] {
			t.Fatalf("jti %q repeated", jti)
		}
		seen[jti] = true
	}
}

func TestSignEmptyOptionalClaims(t *testing.T) {
	s := newSigner(t)
	token, err := s.Sign(assertion.Claims{Subject: "bob", Audience: "a.test"}, time.Now(),
		time.Minute)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	c := payloadOf(t, token)
	if c.Email != nil {
		t.Errorf("email = %q, want it omitted", *c.Email)
	}
	if c.Name != nil {
		t.Errorf("name = %q, want it omitted", *c.Name)
	}
	// An app iterating over groups must find an array, not null.
	if c.Groups == nil || len(*c.Groups) != 0 {
		t.Errorf("groups = %v, want []", c.Groups)
	}
}

// TestValidationFails checks that tokens an app must refuse are refused by jwx.
func TestValidationFails(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	now := time.Now()
	c := assertion.Claims{Subject: "alice", Audience: "app.test"}
	sign := func(s *assertion.Signer, at time.Time, ttl time.Duration) string {
		token, err := s.Sign(c, at, ttl)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		return token
	}
	good := sign(s, now, time.Minute)
	parts := strings.Split(good, ".")
	forgedToken := sign(other, now, time.Minute)
	forgedParts := strings.Split(forgedToken, ".")

	tests := []struct {
		name  string
		token string
		aud   string
		at    time.Time
		want  []error // one of these; none listed: any error will do
	}{
		{"expired", sign(s, now.Add(-2*time.Minute), time.Minute), "app.test", now,
			[]error{jwt.TokenExpiredError()}},
		{"expired by a second", sign(s, now.Add(-61*time.Second), time.Minute), "app.test",
			now, []error{jwt.TokenExpiredError()}},
		// jwx checks iat before nbf, and both are in the future.
		{"not yet valid", sign(s, now.Add(time.Hour), time.Minute), "app.test", now,
			[]error{jwt.TokenNotYetValidError(), jwt.InvalidIssuedAtError()}},
		{"other audience", good, "other.test", now, []error{jwt.InvalidAudienceError()}},
		{"other key", forgedToken, "app.test", now, nil},
		{"other key's payload under our header", parts[0] + "." + forgedParts[1] + "." +
			forgedParts[2], "app.test", now, nil},
		{"payload swapped", parts[0] + "." + forgedParts[1] + "." + parts[2], "app.test",
			now, nil},
		{"signature cut", good[:len(good)-4], "app.test", now, nil},
		{"no signature", parts[0] + "." + parts[1] + ".", "app.test", now, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verify(t, s.JWKS(), tt.token, tt.aud, tt.at)
			if err == nil {
				t.Fatal("verified, want an error")
			}
			if tt.want != nil && !slices.ContainsFunc(tt.want, func(e error) bool {
				return errors.Is(err, e)
			}) {
				t.Errorf("error %v, want one of %v", err, tt.want)
			}
		})
	}
}

// TestOtherKeyFailsWithoutKid makes sure a token from another key fails on its signature,
// not merely because its kid is unknown.
func TestOtherKeyFailsWithoutKid(t *testing.T) {
	s, other := newSigner(t), newSigner(t)
	now := time.Now()
	token, err := other.Sign(assertion.Claims{Subject: "root", Audience: "a.test"}, now,
		time.Minute)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	set, err := jwk.Parse(s.JWKS())
	if err != nil {
		t.Fatalf("jwk.Parse: %v", err)
	}
	_, err = jwt.ParseString(token, jwt.WithKeySet(set, jws.WithRequireKid(false)),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })))
	if err == nil {
		t.Fatal("a token signed by another key verified")
	}

	// The same call accepts a token of s itself, so the failure above is the signature's.
	token, err = s.Sign(assertion.Claims{Subject: "root", Audience: "a.test"}, now, time.Minute)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if _, err := jwt.ParseString(token, jwt.WithKeySet(set, jws.WithRequireKid(false)),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now }))); err != nil {
		t.Fatalf("own token: %v", err)
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	s := newSigner(t)
	now := time.Now()
	tests := []assertion.Claims{
		{Subject: "alice", Audience: "a.test", Groups: []string{"a,b", "c"}},
		{Subject: "jürgen", Email: "jürgen@bücher.example", Audience: "bücher.example",
			Groups: []string{"Ärzte", "日本語", "emoji 🚀", ",", ""}},
		{Subject: `quote " back\slash`, Audience: "a.test",
			Groups: []string{"<script>", "tab\there", "line\nbreak", "\u2028"}},
		{Subject: "x", Audience: "a.test:8443", Groups: []string{"admins, staff", " lead "}},
	}
	for _, c := range tests {
		t.Run(c.Subject, func(t *testing.T) {
			token, err := s.Sign(c, now, time.Minute)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if _, err := verify(t, s.JWKS(), token, c.Audience, now); err != nil {
				t.Fatalf("verifying: %v", err)
			}
			got := payloadOf(t, token)
			if got.Sub != c.Subject {
				t.Errorf("sub = %q, want %q", got.Sub, c.Subject)
			}
			if got.Aud != c.Audience {
				t.Errorf("aud = %v, want %q", got.Aud, c.Audience)
			}
			if c.Email != "" && (got.Email == nil || *got.Email != c.Email) {
				t.Errorf("email = %v, want %q", got.Email, c.Email)
			}
			if got.Groups == nil || !slices.Equal(*got.Groups, c.Groups) {
				t.Errorf("groups = %q, want %q", got.Groups, c.Groups)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	s := newSigner(t)
	ok := assertion.Claims{Subject: "alice", Audience: "a.test"}
	with := func(f func(*assertion.Claims)) assertion.Claims {
		c := ok
		f(&c)
		return c
	}
	tests := []struct {
		name string
		c    assertion.Claims
		ttl  time.Duration
	}{
		{"no subject", with(func(c *assertion.Claims) { c.Subject = "" }), time.Minute},
		{"no audience", with(func(c *assertion.Claims) { c.Audience = "" }), time.Minute},
		// These would come out as U+FFFD, merging distinct identities.
		{"invalid UTF-8 subject", with(func(c *assertion.Claims) { c.Subject = "alice\xff" }),
			time.Minute},
		{"invalid UTF-8 email", with(func(c *assertion.Claims) { c.Email = "a\xc0@x" }),
			time.Minute},
		{"invalid UTF-8 name", with(func(c *assertion.Claims) { c.Name = "J\xfcrgen" }),
			time.Minute},
		{"invalid UTF-8 group", with(func(c *assertion.Claims) {
			c.Groups = []string{"ok", "adm\xffins"}
		}), time.Minute},
		{"invalid UTF-8 audience", with(func(c *assertion.Claims) { c.Audience = "a\xff" }),
			time.Minute},
		{"zero ttl", ok, 0},
		{"negative ttl", ok, -time.Minute},
		{"sub-second ttl", ok, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := s.Sign(tt.c, time.Now(), tt.ttl)
			if !errors.Is(err, assertion.ErrInvalidClaims) {
				t.Errorf("Sign = %q, %v; want ErrInvalidClaims", token, err)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	s := newSigner(t)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		t.Fatalf("decoding %s: %v", s.JWKS(), err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	want := map[string]any{"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
		"kid": s.KeyID()}
	for name, v := range want {
		if k[name] != v {
			t.Errorf("%s = %v, want %v", name, k[name], v)
		}
	}
	// Anything beyond these, "d" above all, would be more than a public key.
	if len(k) != len(want)+1 || k["x"] == nil {
		t.Errorf("key = %v, want exactly %v and x", k, want)
	}

	// The kid is the RFC 7638 thumbprint, as jwx computes it.
	set2, err := jwk.Parse(s.JWKS())
	if err != nil {
		t.Fatalf("jwk.Parse: %v", err)
	}
	key, _ := set2.Key(0)
	thumb, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatalf("Thumbprint: %v", err)
	}
	if got := base64.RawURLEncoding.EncodeToString(thumb); got != s.KeyID() {
		t.Errorf("jwx thumbprint %q, want KeyID() %q", got, s.KeyID())
	}

	// The caller may scribble on what JWKS returns.
	b := s.JWKS()
	b[0] = 'X'
	if s.JWKS()[0] != '{' {
		t.Error("changing JWKS()'s result changed the Signer's key set")
	}
}

func TestSignConcurrent(t *testing.T) {
	s := newSigner(t)
	now := time.Now()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			c := assertion.Claims{Subject: string(rune('a' + i)), Audience: "a.test"}
			for range 20 {
				token, err := s.Sign(c, now, time.Minute)
				if err == nil {
					_, err = verify(t, s.JWKS(), token, "a.test", now)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// FuzzSign checks that whatever claims Sign accepts, an app reads back unchanged, and that
// what it refuses it refuses with ErrInvalidClaims.
func FuzzSign(f *testing.F) {
	f.Add("alice", "alice@example.com", "admins,staff", "app.test")
	f.Add("jürgen", "", "Ärzte\x00日本語", "bücher.example")
	f.Add("a\xff", "", "", "x")
	f.Add("0", "\xd6", "", "\x9b")
	f.Add("\"}", "\\", "\u2028\x00,", "h")
	s := newSigner(f)
	jwks := s.JWKS()
	f.Fuzz(func(t *testing.T, sub, email, groups, aud string) {
		c := assertion.Claims{Subject: sub, Email: email, Audience: aud}
		if groups != "" {
			c.Groups = strings.Split(groups, "\x00")
		}
		now := time.Now()
		token, err := s.Sign(c, now, time.Minute)
		// Each separately: two invalid halves can make a valid whole.
		valid := sub != "" && aud != "" && utf8.ValidString(sub) &&
			utf8.ValidString(email) && utf8.ValidString(groups) && utf8.ValidString(aud)
		if !valid {
			if !errors.Is(err, assertion.ErrInvalidClaims) {
				t.Fatalf("Sign(%q) = %v, want ErrInvalidClaims", c, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Sign(%q): %v", c, err)
		}
		if _, err := verify(t, jwks, token, aud, now); err != nil {
			t.Fatalf("verifying %q: %v", c, err)
		}
		got := payloadOf(t, token)
		want := c.Groups
		if want == nil {
			want = []string{}
		}
		if got.Sub != sub || got.Aud != aud || (email != "") != (got.Email != nil) ||
			(got.Email != nil && *got.Email != email) || !slices.Equal(*got.Groups, want) {
			t.Fatalf("read back %+v, want %q", got, c)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	s := newSigner(b)
	c := assertion.Claims{
		Subject:  "alice",
		Email:    "alice@example.com",
		Groups:   []string{"admins", "staff"},
		Audience: "app.example.com",
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c, now, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignParallel(b *testing.B) {
	s := newSigner(b)
	c := assertion.Claims{Subject: "alice", Groups: []string{"admins"}, Audience: "a.test"}
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(c, now, time.Minute); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEd25519 is the floor under BenchmarkSign: the signature alone, over a message
// of an assertion's size.
func BenchmarkEd25519(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 330)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(key, msg)
	}
}
