// Package verifyassertion shows how an app behind the gateway checks X-Gateway-Assertion:
// it fetches the gateway's keys from /.gateway/jwks.json and verifies each request's
// token before trusting the identity headers. It uses go-jose, as an app in Go would;
// any JOSE library that does EdDSA works the same way.
package verifyassertion

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Identity is who a verified assertion says the user is.
type Identity struct {
	User   string
	Email  string
	Name   string // the display name; empty when the users file gives none
	Groups []string
}

// Verifier checks assertions against the gateway's keys, for one audience: the address
// the gateway reaches this app at, such as "http://127.0.0.1:9001".
type Verifier struct {
	keys     jose.JSONWebKeySet
	audience string
}

// NewVerifier fetches the key set from jwksURL, such as
// "https://app.example.com/.gateway/jwks.json".
func NewVerifier(client *http.Client, jwksURL, audience string) (*Verifier, error) {
	res, err := client.Get(jwksURL)
	if err != nil {
		return nil, fmt.Errorf("fetching gateway keys: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching gateway keys: status %d", res.StatusCode)
	}
	v := &Verifier{audience: audience}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&v.keys); err != nil {
		return nil, fmt.Errorf("reading gateway keys: %w", err)
	}
	return v, nil
}

// Verify checks the request's assertion and returns the identity it vouches for. A
// request without a valid one must be refused, whatever headers it carries.
func (v *Verifier) Verify(r *http.Request) (*Identity, error) {
	raw := r.Header.Get("X-Gateway-Assertion")
	if raw == "" {
		return nil, errors.New("no assertion")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, fmt.Errorf("parsing assertion: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("assertion must have one signature")
	}
	keys := v.keys.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return nil, errors.New("assertion signed by an unknown key")
	}
	var std jwt.Claims
	var own struct {
		Email  string   `json:"email"`
		Name   string   `json:"name"`
		Groups []string `json:"groups"`
	}
	if err := tok.Claims(keys[0].Key, &std, &own); err != nil {
		return nil, fmt.Errorf("verifying assertion: %w", err)
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: "gateway",
		AnyAudience: jwt.Audience{v.audience}, Time: time.Now()}, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("checking assertion: %w", err)
	}
	return &Identity{User: std.Subject, Email: own.Email, Name: own.Name,
			Groups: slices.Clone(own.Groups)},
		nil
}
