package assertion_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/frontgate/gateway/proxy/assertion"
)

// ExampleSigner shows both sides: the gateway signs an assertion and publishes its key
// set, and an app behind it, here using github.com/lestrrat-go/jwx, fetches the key set
// and checks the assertion before it trusts who the request is from.
func ExampleSigner() {
	stateDir, _ := os.MkdirTemp("", "gateway")
	defer os.RemoveAll(stateDir)

	// The gateway: one key, its key set served at /.gateway/jwks.json.
	signer, err := assertion.Open("", stateDir)
	if err != nil {
		log.Fatal(err)
	}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(signer.JWKS())
	}))
	defer gateway.Close()
	token, err := signer.Sign(assertion.Claims{
		Subject:  "alice",
		Email:    "alice@example.com",
		Groups:   []string{"admins", "R&D, Berlin"},
		Audience: "app.example.com",
	}, time.Now(), 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}

	// The app, at start-up: fetch the gateway's keys. A real app refreshes them when it
	// meets a kid it does not know, since the gateway's key may change.
	resp, err := http.Get(gateway.URL + "/.gateway/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	keys, err := jwk.Parse(body)
	if err != nil {
		log.Fatal(err)
	}

	// The app, per request: refuse unless the assertion is the gateway's, for this app,
	// and current.
	req := httptest.NewRequest("GET", "https://app.example.com/", nil)
	req.Header.Set("X-Gateway-Assertion", token)
	tok, err := jwt.ParseHeader(req.Header, "X-Gateway-Assertion",
		jwt.WithKeySet(keys),
		jwt.WithIssuer("gateway"),
		jwt.WithAudience("app.example.com"),
		jwt.WithAcceptableSkew(5*time.Second),
	)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	sub, _ := tok.Subject()
	var groups []any
	tok.Get("groups", &groups)
	fmt.Println("user:", sub)
	fmt.Printf("groups: %q\n", groups)

	// The same assertion, replayed to another app, is refused.
	_, err = jwt.ParseHeader(req.Header, "X-Gateway-Assertion",
		jwt.WithKeySet(keys), jwt.WithIssuer("gateway"), jwt.WithAudience("other.example.com"))
	fmt.Println("replayed to another app:", err != nil)
	// Output:
	// user: alice
	// groups: ["admins" "R&D, Berlin"]
	// replayed to another app: true
}
