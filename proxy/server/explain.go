package server

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/http/httpguts"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/assertion"
)

// ExplainRequest is a request for Explain to judge.
type ExplainRequest struct {
	// User signs the request in as this user; empty means anonymous.
	User string
	// Method and URL describe the request; a URL without a host uses "localhost".
	Method, URL string
	// Header holds extra request headers, such as ones a client might spoof.
	Header http.Header
	// ClientIP is the address the request comes from. Default: 192.0.2.1.
	ClientIP string
}

// Explain writes to w which route of the config at path serves req, whether it would be
// let through and why, and the exact request the upstream would receive. It reports
// whether the request would reach the upstream. Nothing is sent anywhere: the gateway is
// built in memory, with its own throwaway session store.
func Explain(ctx context.Context, path string, req ExplainRequest, w io.Writer) (
	forwarded bool, err error) {
	cfg, err := config.Load(path)
	if err != nil {
		return false, err
	}
	users, err := authn.OpenFileStore(cfg.Users.File, nil)
	if err != nil {
		return false, usersError(cfg, err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	keys, _ := session.DeriveKeys([][]byte{secret})
	mgr, err := session.NewManager(session.Options{Store: session.NewMemory(), Keys: keys,
		IdleTimeout: time.Hour, Lifetime: time.Hour})
	if err != nil {
		return false, err
	}
	// Routes that send assertions get a throwaway key: explain shows that a token is
	// sent, not one an app would accept.
	var signer *assertion.Signer
	if sendsAssertions(cfg) {
		dir, err := os.MkdirTemp("", "gateway-explain-")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(dir)
		if signer, err = assertion.Open("", dir); err != nil {
			return false, err
		}
	}
	rec := &recorder{}
	h, err := proxy.New(proxy.Options{Config: cfg, Auth: authn.NewAuthenticator(users, 1),
		Sessions: mgr, Logger: slog.New(slog.DiscardHandler), Transport: rec,
		Assertions: signer})
	if err != nil {
		return false, err
	}

	r, err := explainRequest(ctx, req)
	if err != nil {
		return false, err
	}
	for k, vs := range req.Header {
		// as the server would read them: a header it could not read gets 400, and Host
		// is the request's host, not a header
		if !httpguts.ValidHeaderFieldName(k) {
			return false, fmt.Errorf("header name %q is not one the gateway's server reads",
				k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false, fmt.Errorf("header %s: the value %q holds a character the "+
					"gateway's server refuses (it answers such a request 400)", k, v)
			}
		}
		if http.CanonicalHeaderKey(k) == "Host" {
			if len(vs) != 1 || !httpguts.ValidHostHeader(vs[0]) {
				return false, fmt.Errorf("Host %q: the gateway's server answers a request "+
					"with a Host it cannot read, or more than one, 400", vs)
			}
			if strings.HasPrefix(req.URL, "/") {
				// a URL with a host of its own names the request's, as in a request line
				r.Host, r.URL.Host = vs[0], vs[0]
			}
			continue
		}
		r.Header[k] = vs
	}
	var u *authn.User
	if req.User != "" {
		if u = users.Lookup(req.User); u == nil {
			return false, fmt.Errorf("no user %q in %s", req.User, cfg.Users.File)
		}
		_, value, err := mgr.Create(ctx, session.Login{User: u.Name, Backend: authn.Backend,
			PasswordHash: u.Binding()})
		if err != nil {
			return false, err
		}
		r.AddCookie(&http.Cookie{Name: h.SessionCookieName(r), Value: value})
	}

	d := h.Explain(r, u)
	who := "anonymous"
	if d.BasicUser != "" {
		who = "as " + d.BasicUser + " (by HTTP Basic)"
	}
	if u != nil {
		who = "as " + u.Name
		if u.Disabled {
			who += " (disabled)"
		}
	}
	fmt.Fprintf(w, "request:  %s %s %s\n", r.Method, r.URL, who)
	if d.Route != "" {
		fmt.Fprintf(w, "route:    %s\n", d.Route)
	}
	fmt.Fprintf(w, "decision: %s: %s\n", d.Outcome, d.Reason)

	resp := httptest.NewRecorder()
	h.ServeHTTP(resp, r)
	if rec.req == nil {
		fmt.Fprintf(w, "answer:   %d from the gateway; nothing reaches the upstream\n",
			resp.Code)
		for _, k := range []string{"Location", "WWW-Authenticate", "Retry-After"} {
			if v := resp.Header().Get(k); v != "" {
				fmt.Fprintf(w, "          %s: %s\n", k, v)
			}
		}
		return false, nil
	}
	// What became of the headers the client sent: the gateway's own, aliases and
	// forwarded headers from an untrusted address are removed or replaced.
	sent := make([]string, 0, len(req.Header))
	for k := range req.Header {
		if http.CanonicalHeaderKey(k) != "Host" { // the request's host, told above
			sent = append(sent, k)
		}
	}
	slices.Sort(sent)
	for _, k := range sent {
		got := rec.req.Header.Values(k)
		switch {
		case len(got) == 0:
			fmt.Fprintf(w, "removed:  %s, as the client sent it\n", k)
		case !slices.Equal(got, req.Header[k]):
			fmt.Fprintf(w, "replaced: %s, as the client sent it\n", k)
		}
	}
	// the transport sends the URL's host when the request names none (preserve_host off)
	fmt.Fprintf(w, "upstream receives:\n  %s %s HTTP/1.1\n  Host: %s\n", rec.req.Method,
		rec.req.URL.RequestURI(), cmp.Or(rec.req.Host, rec.req.URL.Host))
	names := make([]string, 0, len(rec.req.Header))
	for k := range rec.req.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range rec.req.Header[k] {
			// An empty User-Agent is how ReverseProxy keeps Go's own off the wire.
			if k == "User-Agent" && v == "" {
				continue
			}
			switch k {
			case proxy.AssertionHeader:
				v = "(a signed JWT)"
			case proxy.HopHeader:
				v = "(the gateway process's token)"
			}
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	return true, nil
}

// recorder is an upstream transport that keeps the request instead of sending it.
type recorder struct{ req *http.Request }

func (rc *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	rc.req = r
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{},
		Request: r}, nil
}

// explainRequest builds the request req describes, as the gateway's server would read
// it: a method and URL it could not read (a method that is no token, a URL that does
// not parse) are an error, as the server answers them 400 before any rule is judged.
func explainRequest(ctx context.Context, req ExplainRequest) (*http.Request, error) {
	method := strings.ToUpper(req.Method)
	if method == "" || strings.ContainsFunc(method, func(c rune) bool {
		return c > unicode.MaxASCII || !httpguts.IsTokenRune(c)
	}) {
		return nil, fmt.Errorf("method %q is not an HTTP method", req.Method)
	}
	target := req.URL
	if strings.HasPrefix(target, "/") {
		target = "http://localhost" + target
	}
	u, err := url.ParseRequestURI(target)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		return nil, fmt.Errorf("URL %q is neither an http or https URL nor a path "+
			"starting with /", req.URL)
	}
	if err == nil {
		// what the server reads from a request line; httptest would panic instead
		line := method + " " + target + " HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n"
		_, err = http.ReadRequest(bufio.NewReader(strings.NewReader(line)))
	}
	if err != nil {
		return nil, fmt.Errorf("URL %q: the gateway answers such a request 400: %w",
			req.URL, err)
	}
	client := netip.MustParseAddr("192.0.2.1")
	if req.ClientIP != "" {
		if client, err = netip.ParseAddr(req.ClientIP); err != nil {
			return nil, fmt.Errorf("client address %q is not an IP address", req.ClientIP)
		}
	}
	r := httptest.NewRequestWithContext(ctx, method, target, nil)
	r.RemoteAddr = netip.AddrPortFrom(client, 40000).String()
	return r, nil
}
