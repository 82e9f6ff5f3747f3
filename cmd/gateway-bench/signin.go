package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Names of the gateway's cookies the harness handles.
const (
	loginCookie   = "gateway_login"
	sessionCookie = "gateway_session"
	deviceCookie  = "gateway_device"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// newClient returns a client for up to conns keep-alive connections to loopback. It
// follows no redirect and keeps no cookies: callers send the ones they mean to.
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// loginForm is what a browser holds after fetching the sign-in page: the form's csrf
// token and the pre-login cookie it must match.
type loginForm struct {
	csrf   string
	cookie string // Cookie header value
}

// getForm fetches the sign-in page at base. xff, when not empty, is sent as
// X-Forwarded-For.
func getForm(ctx context.Context, c *http.Client, base, xff string) (loginForm, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/.gateway/login", nil)
	if err != nil {
		return loginForm{}, fmt.Errorf("fetching sign-in page: %w", err)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	res, err := c.Do(req)
	if err != nil {
		return loginForm{}, fmt.Errorf("fetching sign-in page: %w", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return loginForm{}, fmt.Errorf("fetching sign-in page: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return loginForm{}, fmt.Errorf("fetching sign-in page: status %d", res.StatusCode)
	}
	m := csrfField.FindSubmatch(body)
	ck := cookieOf(res, loginCookie)
	if m == nil || ck == "" {
		return loginForm{}, errors.New("fetching sign-in page: no csrf token or cookie")
	}
	return loginForm{csrf: string(m[1]), cookie: ck}, nil
}

// postLogin posts f with user and pw and returns the status and, on success, the
// Cookie header that carries the new session.
func postLogin(ctx context.Context, c *http.Client, base string, f loginForm, user, pw,
	xff string) (int, string, error) {
	status, session, _, err := postLoginDevice(ctx, c, base, f, user, pw, xff, "")
	return status, session, err
}

// postLoginDevice is postLogin from a browser that carries device, a "name=value" of
// the device cookie of an earlier sign-in, or "" for one that has never signed in. It
// also returns the device cookie the gateway sets, if any.
func postLoginDevice(ctx context.Context, c *http.Client, base string, f loginForm, user,
	pw, xff, device string) (status int, session, newDevice string, err error) {
	form := url.Values{"username": {user}, "password": {pw}, "csrf_token": {f.csrf}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/.gateway/login",
		strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", "", fmt.Errorf("signing in: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cookie := f.cookie
	if device != "" {
		cookie += "; " + device
	}
	req.Header.Set("Cookie", cookie)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", "", fmt.Errorf("signing in: %w", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, cookieOf(res, sessionCookie), cookieOf(res, deviceCookie), nil
}

// signIn signs in at base as a new browser would and returns the Cookie header that
// carries the session.
func signIn(ctx context.Context, c *http.Client, base, user, pw, xff string) (string,
	error) {
	session, _, err := signInDevice(ctx, c, base, user, pw, xff, "")
	return session, err
}

// signInDevice is signIn from a browser carrying device (see postLoginDevice). It
// returns the session's Cookie header and the device cookie the gateway set.
func signInDevice(ctx context.Context, c *http.Client, base, user, pw, xff,
	device string) (string, string, error) {
	f, err := getForm(ctx, c, base, xff)
	if err != nil {
		return "", "", err
	}
	status, session, newDevice, err := postLoginDevice(ctx, c, base, f, user, pw, xff,
		device)
	if err != nil {
		return "", "", err
	}
	if status != http.StatusSeeOther || session == "" {
		return "", "", fmt.Errorf("signing in as %s: status %d, want 303 and a session",
			user, status)
	}
	return session, newDevice, nil
}

// cookieOf returns "name=value" for the cookie res sets under name, or "".
func cookieOf(res *http.Response, name string) string {
	for _, ck := range res.Cookies() {
		if ck.Name == name && ck.Value != "" {
			return ck.Name + "=" + ck.Value
		}
	}
	return ""
}

// checkSession checks that GET /app/x with cookie reaches the upstream through base.
func checkSession(ctx context.Context, c *http.Client, base, cookie string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/app/x", nil)
	if err != nil {
		return fmt.Errorf("checking session: %w", err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("checking session: %w", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("checking session: %w", err)
	}
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, upstreamBody) {
		return fmt.Errorf("checking session: status %d, want 200 from the upstream",
			res.StatusCode)
	}
	return nil
}
