// Package assertion signs the identity assertions the gateway adds to the requests it
// forwards, as the X-Gateway-Assertion header.
//
// # What an assertion proves
//
// The identity headers the gateway sets (user, email, groups) are plain text: an app that
// trusts them also trusts anyone who can reach it without passing through the gateway, a
// neighbour on its network or a misrouted load balancer. An assertion is a short-lived JWT,
// signed with the gateway's Ed25519 key, that the app can check against the public keys the
// gateway publishes at /.gateway/jwks.json. A valid one proves that the gateway saw this
// user, for this host, within the last few seconds.
//
// # What an app must check
//
// An app accepts an assertion only when all of these hold:
//
//   - the signature verifies under a key from the gateway's JWKS, chosen by "kid", with
//     the algorithm fixed to EdDSA rather than read from the token;
//   - "iss" is "gateway";
//   - "aud" holds the app's own address as the gateway dials it, so that an assertion
//     sent to one app cannot be replayed to another behind the same gateway; on a route
//     for one exact host, "aud" holds that host too, which an app that has the host to
//     itself may check instead;
//   - "exp" and "nbf" hold at the app's clock, allowing a little skew.
//
// The claims are "sub" (the username), "email" (absent when unknown), "groups" (always an
// array), "aud", "iss", "iat", "nbf", "exp" and "jti", a random identifier unique to each
// assertion.
//
// # Keys
//
// [Open] reads the key from a configured PEM file, or generates one under the gateway's
// state directory the first time and keeps it there. The key ID is the RFC 7638 thumbprint
// of the public key, so the same key always has the same "kid".
//
// # Cost
//
// A signature costs some tens of microseconds. A [Cache] in front of the Signer hands the
// same assertion out again while it has more than half its lifetime left, for a user and
// app whose claims have not changed.
package assertion

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is the "iss" of every assertion.
const Issuer = "gateway"

// Errors returned by this package. Each is wrapped with detail; test with errors.Is.
var (
	// ErrInvalidClaims means Sign was given claims it will not sign: an empty subject or
	// audience, a string that is not valid UTF-8, or a ttl under one second.
	ErrInvalidClaims = errors.New("assertion: invalid claims")

	// ErrKeyExposed means the key file can be read by its group or by others. The error
	// names the file.
	ErrKeyExposed = errors.New("assertion: key file readable by group or others")

	// ErrMalformedKey means the key file is not a PEM "PRIVATE KEY" block holding a
	// PKCS#8 Ed25519 key. The error names the file.
	ErrMalformedKey = errors.New("assertion: malformed key file")
)

// Claims is what an assertion says about a request.
type Claims struct {
	// Subject is the username, the "sub" claim. It must not be empty.
	Subject string

	// Email is the "email" claim, omitted when empty.
	Email string

	// Name is the "name" claim, the display name, omitted when empty.
	Name string

	// Groups is the "groups" claim. Nil and empty both give an empty array; a group's
	// name may hold any character, commas included, as it is not joined into one string.
	Groups []string

	// Audience is the first value of the "aud" claim: the host of a route for one exact
	// host, or else the upstream. It must not be empty, since an assertion without an
	// audience could be replayed to any app behind the gateway.
	Audience string

	// Upstream, when set, is a second value of "aud": the address the gateway sends the
	// request to, such as "http://127.0.0.1:9001", which tells apart the apps behind one
	// host. With it "aud" is an array of both; without, a plain string.
	Upstream string
}

// Signer signs identity assertions with an Ed25519 key. It is safe for concurrent use.
type Signer struct {
	signer jose.Signer
	kid    string
	jwks   []byte
}

// newSigner builds a Signer for key. What does not change between assertions is made
// here once: the key ID, the key set, and go-jose's signer, which holds the header's fields.
//
// The algorithm is "EdDSA": RFC 9864 deprecates it for the fully specified "Ed25519", but
// go-jose v4 and most verifiers in use know only "EdDSA".
//
// TODO: go-jose still encodes the header, and the signing input twice, on every Sign: about
// 10µs and 57 allocations beside the 30µs of the signature itself. A compact JWS built by
// hand over a precomputed header would save them, at the price of our own JWS encoding.
func newSigner(key ed25519.PrivateKey) (*Signer, error) {
	pub := jose.JSONWebKey{
		Key:       key.Public(),
		Use:       "sig",
		Algorithm: string(jose.EdDSA),
	}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)

	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, fmt.Errorf("encoding key set: %w", err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	sig, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.EdDSA,
		Key:       jose.JSONWebKey{Key: key, KeyID: pub.KeyID},
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("creating signer: %w", err)
	}
	return &Signer{signer: sig, kid: pub.KeyID, jwks: jwks}, nil
}

// payload is the JSON body of an assertion. Its field order is the order on the wire.
type payload struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  any      `json:"aud"` // a string, or an array of two
	Email     string   `json:"email,omitempty"`
	Name      string   `json:"name,omitempty"`
	Groups    []string `json:"groups"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expires   int64    `json:"exp"`
	ID        string   `json:"jti"`
}

// Sign returns an assertion of c as a compact JWS: header {"alg":"EdDSA","kid":KeyID(),
// "typ":"JWT"}, and a payload with "iss" set to [Issuer], "iat" and "nbf" set to now in
// whole seconds, "exp" to iat plus ttl (whole seconds, at least one), a random "jti", and
// the claims. Claims it will not sign give an error wrapping [ErrInvalidClaims].
func (s *Signer) Sign(c Claims, now time.Time, ttl time.Duration) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	if ttl < time.Second {
		return "", fmt.Errorf("%w: ttl %v is under one second", ErrInvalidClaims, ttl)
	}
	groups := c.Groups
	if groups == nil {
		groups = []string{} // "groups": [], never null
	}
	var aud any = c.Audience
	if c.Upstream != "" && c.Upstream != c.Audience {
		aud = []string{c.Audience, c.Upstream}
	}
	iat := now.Unix()
	body, err := json.Marshal(payload{
		Issuer:    Issuer,
		Subject:   c.Subject,
		Audience:  aud,
		Email:     c.Email,
		Name:      c.Name,
		Groups:    groups,
		IssuedAt:  iat,
		NotBefore: iat,
		Expires:   iat + int64(ttl/time.Second),
		ID:        rand.Text(),
	})
	if err != nil {
		return "", fmt.Errorf("encoding assertion: %w", err)
	}
	jws, err := s.signer.Sign(body)
	if err != nil {
		return "", fmt.Errorf("signing assertion: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("signing assertion: %w", err)
	}
	return token, nil
}

// check refuses claims an app could misread.
func (c *Claims) check() error {
	if c.Subject == "" {
		return fmt.Errorf("%w: empty subject", ErrInvalidClaims)
	}
	if c.Audience == "" {
		return fmt.Errorf("%w: empty audience", ErrInvalidClaims)
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD, so that two different
	// usernames could come out as the same "sub": refuse rather than alter an identity.
	ok := utf8.ValidString(c.Subject) && utf8.ValidString(c.Email) && utf8.ValidString(c.Name) &&
		utf8.ValidString(c.Audience) && utf8.ValidString(c.Upstream)
	for _, g := range c.Groups {
		ok = ok && utf8.ValidString(g)
	}
	if !ok {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidClaims)
	}
	return nil
}

// JWKS returns the public key set as JSON, ready to serve at /.gateway/jwks.json:
// {"keys":[{"use":"sig","kty":"OKP","kid":KeyID(),"crv":"Ed25519","alg":"EdDSA","x":…}]}.
// The slice is the caller's to keep or change.
func (s *Signer) JWKS() []byte {
	return append([]byte(nil), s.jwks...)
}

// KeyID returns the "kid" of the signing key: the base64url RFC 7638 SHA-256 thumbprint
// of its public key.
func (s *Signer) KeyID() string {
	return s.kid
}
