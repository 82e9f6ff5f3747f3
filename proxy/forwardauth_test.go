package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/frontgate/gateway/proxy"
	"github.com/frontgate/gateway/proxy/redirect"
)

// forwardAuthConfig adds to newEnv's route a /api/ route with a methods rule, a /cors/
// route that passes CORS preflights, and a route for the host admin.example.test that
// only bob may use, and trusts the front proxy at 10.0.0.2.
const forwardAuthConfig = "  - path: /api/\n    upstream: \"http://127.0.0.1:1\"\n" +
	"    allow:\n      methods: [GET]\n" +
	"  - path: /cors/\n    upstream: \"http://127.0.0.1:1\"\n    cors_preflight: pass\n" +
	"  - path: /rw/\n    upstream: \"http://127.0.0.1:1\"\n" +
	"    allow:\n      methods: [GET, POST]\n" +
	"  - host: admin.example.test\n    upstream: \"http://127.0.0.1:1\"\n" +
	"    allow:\n      users: [bob]\n" + "trusted_proxies: [\"10.0.0.2/32\"]\n"

// Addresses of the trusted front proxy and of a client that reaches the gateway directly.
const faProxy, faDirect = "10.0.0.2", "10.9.9.9"

// askForwardAuth sends e's handler an auth request for target (AuthPath, with a query or
// not) from the address from, with a session cookie when one is given and the header
// pairs in hdr. The request is addressed to the gateway as Traefik addresses it, unless
// a "Host" pair names another Host. It names the host gw.example.test in
// X-Forwarded-Host, as a front proxy must, unless hdr names one there (an empty value
// names none).
func askForwardAuth(t testing.TB, e *env, target, from, cookie string,
	hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", "http://127.0.0.1:8080"+target, nil)
	req.RemoteAddr = from + ":5000"
	req.Header.Set("X-Forwarded-Host", "gw.example.test")
	named := false
	for i := 0; i+1 < len(hdr); i += 2 {
		switch {
		case hdr[i] == "Host":
			req.Host = hdr[i+1] // the auth request's own Host, as the proxy sets it
		case hdr[i] == "X-Forwarded-Host":
			if !named {
				req.Header.Del("X-Forwarded-Host")
				named = true
			}
			if hdr[i+1] != "" {
				req.Header.Add(hdr[i], hdr[i+1])
			}
		default:
			req.Header.Add(hdr[i], hdr[i+1])
		}
	}
	if cookie != "" {
		// a browser keeps the session cookie of an HTTPS site under the __Host- prefix
		name := "gateway_session"
		if from == faProxy && strings.EqualFold(req.Header.Get("X-Forwarded-Proto"),
			"https") {
			name = "__Host-gateway_session"
		}
		req.Header.Set("Cookie", name+"="+cookie)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestForwardAuth(t *testing.T) {
	e := newEnv(t, forwardAuthConfig)
	alice, bob := e.session("alice", alicePass), e.session("bob", bobPass)
	tests := []struct {
		name, from, cookie string
		hdr                []string
		want               int
		user               string
	}{
		{"direct client, public claim", faDirect, "", []string{"X-Forwarded-Uri", "/public/"},
			401, ""},
		{"direct client with a session", faDirect, alice, []string{"X-Forwarded-Uri",
			"/app/"}, 401, ""},
		{"no session", faProxy, "", []string{"X-Forwarded-Uri", "/app/whoami"}, 401, ""},
		{"public", faProxy, "", []string{"X-Forwarded-Uri", "/public/x?y=1"}, 200, ""},
		{"signed in", faProxy, alice, []string{"X-Forwarded-Method", "GET",
			"X-Forwarded-Uri", "/app/whoami"}, 200, "alice"},
		{"signed in, public", faProxy, alice, []string{"X-Forwarded-Uri", "/public/"}, 200,
			"alice"},
		{"nginx X-Original-URL", faProxy, alice, []string{"X-Original-URL",
			"https://gw.example.test/app/x?y"}, 200, "alice"},
		{"garbage cookie", faProxy, "AAAA", []string{"X-Forwarded-Uri", "/app/"}, 401, ""},
		{"no target", faProxy, alice, nil, 403, ""},
		// an app framework reads these as paths under /api/, with its methods rule
		{"format reading", faProxy, alice, []string{"X-Forwarded-Method", "POST",
			"X-Forwarded-Uri", "/api.json"}, 403, ""},
		{"PATH_INFO reading", faProxy, alice, []string{"X-Forwarded-Method", "POST",
			"X-Forwarded-Uri", "/index.php/api/x"}, 403, ""},
		// the front proxy passes the client's headers on, cleaning only the
		// spellings it is told of; a CGI app reads this one as X-Forwarded-User
		{"identity header spelt with ~", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X~Forwarded~User", "bob"}, 403, ""},
		{"alias spelt with _", faProxy, "", []string{"X-Forwarded-Uri", "/public/x",
			"Remote_User", "bob"}, 403, ""},
		{"identity header as the proxy overwrites it", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Forwarded-User", "bob"}, 200, "alice"},
		// nor does it remove the other names apps read as the user, unless told to
		{"alias", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"Remote-User", "bob"}, 403, ""},
		{"alias on a public path", faProxy, "", []string{"X-Forwarded-Uri", "/public/x",
			"x-auth-request-email", "bob@example.com"}, 403, ""},
		{"alias of a family", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-User-Id", "2"}, 403, ""},
		{"an app server's private identity header", faProxy, "", []string{
			"X-Forwarded-Uri", "/public/x", "$WSRU", "bob"}, 403, ""},
		{"an app server's private scheme header", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "$WSSC", "https"}, 403, ""},
		{"gRPC-Web's X-User-Agent", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-User-Agent", "grpc-web-javascript/0.1"}, 200, "alice"},
		{"ingress-nginx's X-Auth-Request-Redirect", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Auth-Request-Redirect", "/app/x"}, 200, "alice"},
		// nor the X-Forwarded- headers it does not set, nor headers naming another path
		// a front proxy takes any answer but 2xx, 401 and 403 for its own error
		{"a Host that is not one host", faProxy, alice, []string{"Host",
			"admin.example.test:abc", "X-Forwarded-Uri", "/app/x"}, 403, ""},
		{"a Host of userinfo", faProxy, alice, []string{"Host", "x@admin.example.test",
			"X-Forwarded-Uri", "/app/x"}, 403, ""},
		// the gateway is no forward proxy
		{"CONNECT", faProxy, alice, []string{"X-Forwarded-Method", "CONNECT",
			"X-Forwarded-Uri", "/"}, 403, ""},
		{"X-Forwarded- header the proxy does not set", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Forwarded-Preferred-Username", "admin"}, 403, ""},
		{"X-Forwarded- header spelt in lower case", faProxy, "", []string{
			"X-Forwarded-Uri", "/public/x", "x-forwarded-roles", "admin"}, 403, ""},
		{"a path for the app to take instead", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Rewrite-URL", "/admin/"}, 403, ""},
		{"a Forwarded host the rules did not judge", faProxy, bob, []string{
			"X-Forwarded-Uri", "/x", "Forwarded",
			"host=admin.example.test;proto=https;for=192.0.2.1"}, 403, ""},
		{"a Forwarded host, one of a chain", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Forwarded", "for=192.0.2.1",
			"Forwarded", "for=192.0.2.2;Host=\"admin.example.test:443\""}, 403, ""},
		{"an X-Forwarded host", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-Forwarded", "host=admin.example.test"}, 403, ""},
		{"a Forwarded host, the judged one", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Forwarded",
			"for=\"[2001:db8::1]:4711\";host=\"GW.example.test:443\";proto=https"},
			200, "alice"},
		{"a Forwarded scheme not the proxy's", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Forwarded-Proto", "http", "Forwarded",
			"proto=https"}, 403, ""},
		{"a Forwarded scheme of no web", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Forwarded", "proto=javascript"}, 403, ""},
		{"a Forwarded header that does not parse", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Forwarded", "for=\"192.0.2.1;host=x"}, 403, ""},
		{"a Forwarded host unquoted with its port", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Forwarded", "host=gw.example.test:443"}, 403, ""},
		{"a parameter whose name ends in host", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Forwarded", "for=192.0.2.1;xhost=evil.test"},
			403, ""},
		{"a parameter RFC 7239 does not define", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Forwarded", "by-host=evil.test"}, 403, ""},
		{"X-Scheme not the proxy's", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-Forwarded-Proto", "http", "X-Scheme", "https"}, 403, ""},
		{"Front-End-Https not the proxy's", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Forwarded-Proto", "http", "Front-End-Https", "on"}, 403, ""},
		{"X-Url-Scheme of no web", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-Url-Scheme", "gopher"}, 403, ""},
		{"ARR's mark of TLS over plain HTTP", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Forwarded-Proto", "http", "X-ARR-SSL", "2048|256|C=US"}, 403, ""},
		{"Cloudflare's scheme not the proxy's", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Forwarded-Proto", "http", "CF-Visitor", `{"scheme":"https"}`},
			403, ""},
		{"WebLogic's mark not the proxy's", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Forwarded-Proto", "http", "WL-Proxy-SSL", "true"}, 403, ""},
		{"Cloudflare's scheme, the proxy's", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Forwarded-Proto", "https", "CF-Visitor", `{"scheme":"https"}`,
			"CloudFront-Forwarded-Proto", "https", "X-Proxied-Https", "on"}, 200, "alice"},
		{"scheme headers at odds, the proxy naming none", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Scheme", "http", "X-Forwarded-Ssl", "on"},
			403, ""},
		{"a scheme header twice, at odds", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Scheme", "http", "X-Scheme", "https"}, 403, ""},
		{"a Forwarded scheme at odds with a scheme header", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Scheme", "https", "Forwarded", "proto=http"},
			403, ""},
		{"Forwarded schemes at odds", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"Forwarded", "proto=http, proto=https"}, 403, ""},
		{"CF-Visitor not as Cloudflare writes it", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Forwarded-Proto", "https", "CF-Visitor",
			`{"scheme":"https","\u017fcheme":"http"}`}, 403, ""},
		{"scheme headers that agree", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-Forwarded-Proto", "https", "X-Scheme", "https", "X-Forwarded-Ssl", "on",
			"Forwarded-Proto", "HTTPS"}, 200, "alice"},
		{"Forwarded-Host", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"Forwarded-Host", "admin.example.test"}, 403, ""},
		{"Envoy's original path", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-Envoy-Original-Path", "/admin/"}, 403, ""},
		{"a host override", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"X-HTTP-Host-Override", "evil.example"}, 403, ""},
		{"a base URL", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x",
			"Base-Url", "http://evil.example/"}, 403, ""},
		{"a proxy URL, spelt in lower case", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "proxy-url", "http://evil.example/"}, 403, ""},
		{"Envoy's original destination", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Envoy-Original-Dst-Host", "10.0.0.9:80"}, 403, ""},
		{"an original scheme not the proxy's", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Forwarded-Proto", "http", "X-Original-Proto", "https"}, 403, ""},
		{"another of the X-Original- family", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Original-Scheme", "https"}, 403, ""},
		{"an original client address", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Original-Forwarded-For", "10.0.0.1"}, 403, ""},
		{"Envoy's word that a request is internal", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Envoy-Internal", "true"}, 403, ""},
		{"the X-Original- headers front proxies set", faProxy, alice, []string{
			"X-Original-URL", "https://gw.example.test/app/x", "X-Original-Method", "GET"},
			200, "alice"},
		{"an original scheme, the proxy's", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Forwarded-Proto", "https", "X-Original-Proto", "https"}, 200,
			"alice"},
		{"an assertion of the client's", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x", "X-Gateway-Assertion", "eyJ.x.y"}, 403, ""},
		{"a header under the gateway's prefix", faProxy, "", []string{"X-Forwarded-Uri",
			"/public/x", "x-gateway-user", "bob"}, 403, ""},
		{"the hop header of a gateway in front", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Gateway-Hop", "a-token-of-another"}, 200,
			"alice"},
		{"a header named like the gateway's cookie", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "Gateway-Session", "x"}, 403, ""},
		{"headers Traefik and ingress-nginx set", faProxy, alice, []string{
			"X-Forwarded-Uri", "/app/x", "X-Forwarded-Port", "443", "X-Forwarded-Server",
			"traefik-1", "X-Forwarded-Prefix", "/app", "X-Forwarded-Scheme", "https",
			"X-Real-Ip", "192.0.2.9", "X-Forwarded-For", "192.0.2.9"}, 200, "alice"},
		{"case-blind reading", faProxy, alice, []string{"X-Forwarded-Method", "POST",
			"X-Forwarded-Uri", "/API/x"}, 403, ""},
		{"case-blind and Windows readings together", faProxy, alice, []string{
			"X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/Api+/x"}, 403, ""},
		{"case-blind reading, allowed", faProxy, alice, []string{"X-Forwarded-Method",
			"GET", "X-Forwarded-Uri", "/Api/x"}, 200, "alice"},
		{"PATH_INFO reading, allowed", faProxy, alice, []string{"X-Forwarded-Method", "GET",
			"X-Forwarded-Uri", "/index.php/api/x"}, 200, "alice"},
		// the front proxy cannot show the body, whose _method an app would obey
		{"methods rule, a form body", faProxy, alice, []string{"X-Forwarded-Method", "POST",
			"X-Forwarded-Uri", "/rw/x", "Content-Type",
			"Application/X-WWW-Form-Urlencoded"}, 403, ""},
		{"methods rule, a JSON body", faProxy, alice, []string{"X-Forwarded-Method", "POST",
			"X-Forwarded-Uri", "/index.php/rw/x", "Content-Type", "application/json"}, 403, ""},
		{"methods rule, a type spelt with _", faProxy, alice, []string{"X-Forwarded-Method",
			"POST", "X-Forwarded-Uri", "/rw/x", "Content-Type", "text/plain", "Content_Type",
			"application/x-www-form-urlencoded"}, 403, ""},
		{"methods rule, a POST of text", faProxy, alice, []string{"X-Forwarded-Method",
			"POST", "X-Forwarded-Uri", "/rw/x", "Content-Type", "text/plain"}, 200, "alice"},
		{"methods rule, a GET with a JSON type", faProxy, alice, []string{
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/rw/x", "Content-Type",
			"application/json"}, 200, "alice"},
		{"no methods rule, a form body", faProxy, alice, []string{"X-Forwarded-Method",
			"POST", "X-Forwarded-Uri", "/app/x", "Content-Type", "multipart/form-data; b=1"},
			200, "alice"},
		{"PATH_INFO reading, no method", faProxy, alice, []string{
			"X-Forwarded-Uri", "/index.php/api/x"}, 403, ""},
		{"two targets that differ", faProxy, "", []string{"X-Forwarded-Uri", "/public/",
			"X-Original-URL", "/app/"}, 403, ""},
		{"two targets whose queries differ", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x?a=1", "X-Original-URI", "/app/x?a=2"}, 403, ""},
		{"two targets that agree", faProxy, alice, []string{"X-Forwarded-Uri", "/app/x?a=1",
			"X-Original-URL", "https://gw.example.test/app/x?a=1"}, 200, "alice"},
		{"target repeated", faProxy, "", []string{"X-Forwarded-Uri", "/public/",
			"X-Forwarded-Uri", "/public/"}, 403, ""},
		{"dot segments", faProxy, "", []string{"X-Forwarded-Uri", "/public/../app/"}, 403,
			""},
		{"encoded dots", faProxy, "", []string{"X-Forwarded-Uri", "/public/%2e%2e/app/"},
			403, ""},
		{"params that change the decision", faProxy, "", []string{"X-Forwarded-Uri",
			"/public;x/../app"}, 403, ""},
		// the app gets the path unmerged, which many a URL parser reads as a host and a
		// path: "//public/app/x" is the host "public" and the path /app/x
		{"a leading double slash", faProxy, "", []string{"X-Forwarded-Uri",
			"//public/app/x"}, 403, ""},
		{"a leading double slash, signed in", faProxy, alice, []string{"X-Original-URI",
			"//public/app/x"}, 403, ""},
		{"three slashes", faProxy, "", []string{"X-Forwarded-Uri", "///public//app/"}, 403,
			""},
		{"a double slash inside", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app//x"}, 403, ""},
		{"a double slash in an absolute target", faProxy, "", []string{"X-Original-URL",
			"https://gw.example.test//public/app/x"}, 403, ""},
		{"a double slash in the query only", faProxy, alice, []string{"X-Forwarded-Uri",
			"/app/x?u=https://a.example//b"}, 200, "alice"},
		{"the gateway's own pages", faProxy, alice, []string{"X-Forwarded-Uri",
			"/.gateway/logout"}, 403, ""},
		{"relative target", faProxy, "", []string{"X-Forwarded-Uri", "public/x"}, 403, ""},
		{"javascript target", faProxy, "", []string{"X-Original-URL", "javascript:x"}, 403,
			""},
		{"bad method", faProxy, alice, []string{"X-Forwarded-Method", "GET /x",
			"X-Forwarded-Uri", "/app/"}, 403, ""},
		{"nginx X-Original-URI", faProxy, alice, []string{"X-Original-URI", "/app/x"}, 200,
			"alice"},
		{"X-Original-URI disagrees", faProxy, alice, []string{"X-Original-URI", "/admin/",
			"X-Forwarded-Uri", "/public/x"}, 403, ""},
		{"methods rule, method given", faProxy, alice, []string{"X-Forwarded-Uri", "/api/x",
			"X-Forwarded-Method", "GET"}, 200, "alice"},
		// the app gets the method as the client spelt it, which it may not read as GET
		{"methods rule, method in lower case", faProxy, alice, []string{"X-Forwarded-Uri",
			"/api/x", "X-Forwarded-Method", "get"}, 403, ""},
		{"no methods rule, method in lower case", faProxy, alice, []string{
			"X-Forwarded-Uri", "/x", "X-Forwarded-Method", "get"}, 200, "alice"},
		{"methods rule, other method", faProxy, alice, []string{"X-Forwarded-Uri", "/api/x",
			"X-Forwarded-Method", "DELETE"}, 403, ""},
		{"methods rule, no method", faProxy, alice, []string{"X-Forwarded-Uri", "/api/x"},
			403, ""},
		// the client's headers reach the app through the front proxy: an override in
		// any spelling would make the app run a method the rule never judged
		{"methods rule, method override", faProxy, alice, []string{"X-Forwarded-Uri",
			"/api/x", "X-Forwarded-Method", "GET", "X-HTTP-Method-Override", "DELETE"},
			403, ""},
		{"methods rule, override spelt otherwise", faProxy, alice, []string{
			"X-Forwarded-Uri", "/api/x", "X-Forwarded-Method", "GET", "x_http_method",
			"DELETE"}, 403, ""},
		{"methods rule, X-Method-Override", faProxy, alice, []string{"X-Forwarded-Uri",
			"/api/x", "X-Forwarded-Method", "GET", "X-Method-Override", "PUT"}, 403, ""},
		{"methods rule, X-Original-Method disagrees", faProxy, alice, []string{
			"X-Forwarded-Uri", "/api/x", "X-Forwarded-Method", "GET", "X-Original-Method",
			"DELETE"}, 403, ""},
		{"methods rule, X-Original-Method alone", faProxy, alice, []string{
			"X-Forwarded-Uri", "/api/x", "X-Original-Method", "DELETE"}, 403, ""},
		{"methods rule, X-Original-Method agrees", faProxy, alice, []string{
			"X-Forwarded-Uri", "/api/x", "X-Forwarded-Method", "GET", "X-Original-Method",
			"GET"}, 200, "alice"},
		{"methods rule, X-Original-Method agrees but in lower case", faProxy, alice,
			[]string{"X-Forwarded-Uri", "/api/x", "X-Forwarded-Method", "GET",
				"X-Original-Method", "get"}, 403, ""},
		{"methods rule, _method in the query", faProxy, alice, []string{"X-Forwarded-Uri",
			"/api/x?_method=DELETE", "X-Forwarded-Method", "GET"}, 403, ""},
		{"methods rule, _method after a space", faProxy, alice, []string{
			"X-Original-URI", "/api/x?+_method=DELETE", "X-Forwarded-Method", "GET"}, 403, ""},
		{"methods rule, _method in a pair Go would skip", faProxy, alice, []string{
			"X-Original-URI", "/api/x?_method%00%zz=DELETE", "X-Forwarded-Method", "GET"},
			403, ""},
		{"methods rule, allowed _method in the query", faProxy, alice, []string{
			"X-Forwarded-Uri", "/api/x?_method=get", "X-Forwarded-Method", "GET"}, 200,
			"alice"},
		// a genuine preflight passes anonymously where the route lets it; nothing else does
		{"preflight", faProxy, "", []string{"X-Forwarded-Uri", "/cors/x",
			"X-Forwarded-Method", "OPTIONS", "Origin", "https://other.example",
			"Access-Control-Request-Method", "PUT"}, 200, ""},
		{"preflight without its request method", faProxy, "", []string{"X-Forwarded-Uri",
			"/cors/x", "X-Forwarded-Method", "OPTIONS", "Origin", "https://other.example"},
			401, ""},
		{"preflight described as a GET", faProxy, "", []string{"X-Forwarded-Uri",
			"/cors/x", "X-Forwarded-Method", "GET", "Origin", "https://other.example",
			"Access-Control-Request-Method", "PUT"}, 401, ""},
		{"preflight on a route that does not pass them", faProxy, "", []string{
			"X-Forwarded-Uri", "/x", "X-Forwarded-Method", "OPTIONS", "Origin",
			"https://other.example", "Access-Control-Request-Method", "PUT"}, 401, ""},
		{"preflight with a session carries no identity", faProxy, alice, []string{
			"X-Forwarded-Uri", "/cors/x", "X-Forwarded-Method", "OPTIONS", "Origin",
			"https://other.example", "Access-Control-Request-Method", "PUT"}, 200, ""},
		{"preflight with a method override", faProxy, "", []string{"X-Forwarded-Uri",
			"/cors/x", "X-Forwarded-Method", "OPTIONS", "Origin", "https://other.example",
			"Access-Control-Request-Method", "PUT", "X-HTTP-Method-Override", "DELETE"},
			401, ""},
		{"preflight with _method in the query", faProxy, "", []string{"X-Forwarded-Uri",
			"/cors/x?_method=DELETE", "X-Forwarded-Method", "OPTIONS", "Origin",
			"https://other.example", "Access-Control-Request-Method", "PUT"}, 401, ""},

		// a websocket handshake from another site is refused, as when proxying
		{"websocket from another origin", faProxy, alice, []string{"X-Forwarded-Uri", "/ws",
			"X-Forwarded-Method", "GET", "X-Forwarded-Host", "app.example.test",
			"X-Forwarded-Proto", "https", "Upgrade", "websocket", "Origin",
			"https://evil.example"}, 403, ""},
		{"websocket key alone, another origin", faProxy, alice, []string{"X-Forwarded-Uri",
			"/ws", "X-Forwarded-Method", "GET", "X-Forwarded-Host", "app.example.test",
			"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Origin",
			"https://evil.example"}, 403, ""},
		{"websocket from another scheme", faProxy, alice, []string{"X-Forwarded-Uri", "/ws",
			"X-Forwarded-Method", "GET", "X-Forwarded-Host", "app.example.test",
			"X-Forwarded-Proto", "https", "Upgrade", "websocket", "Origin",
			"http://app.example.test"}, 403, ""},
		{"websocket from its own origin", faProxy, alice, []string{"X-Forwarded-Uri", "/ws",
			"X-Forwarded-Method", "GET", "X-Forwarded-Host", "app.example.test:8443",
			"X-Forwarded-Proto", "https", "Upgrade", "websocket", "Origin",
			"https://app.example.test:8443"}, 200, "alice"},
		{"websocket from another port", faProxy, alice, []string{"X-Forwarded-Uri", "/ws",
			"X-Forwarded-Method", "GET", "X-Forwarded-Host", "app.example.test:8443",
			"Upgrade", "websocket", "Origin", "https://app.example.test:9999"}, 403, ""},
		{"websocket, proxy names no port", faProxy, alice, []string{"X-Forwarded-Uri", "/ws",
			"X-Forwarded-Method", "GET", "X-Forwarded-Host", "app.example.test",
			"Upgrade", "websocket", "Origin", "https://app.example.test:8443"}, 200, "alice"},
		{"websocket over HTTP/2 from another origin", faProxy, alice, []string{
			"X-Forwarded-Uri", "/ws", "X-Forwarded-Method", "CONNECT", "X-Forwarded-Host",
			"app.example.test", "Sec-WebSocket-Version", "13", "Origin",
			"https://evil.example"}, 403, ""},
		{"websocket over HTTP/2 from its own origin", faProxy, alice, []string{
			"X-Forwarded-Uri", "/ws", "X-Forwarded-Method", "CONNECT", "X-Forwarded-Host",
			"app.example.test", "X-Forwarded-Proto", "https", "Sec-WebSocket-Version", "13",
			"Origin", "https://app.example.test"}, 200, "alice"},
		{"cross-origin request that is no handshake", faProxy, alice, []string{
			"X-Forwarded-Uri", "/x", "X-Forwarded-Method", "GET", "Origin",
			"https://other.example"}, 200, "alice"},

		// an absolute URL is judged as the app gets it
		{"fragment in X-Original-URL", faProxy, "", []string{"X-Original-URL",
			"http://gw.example.test/public/#/../../admin/"}, 403, ""},
		{"encoded slash beside a byte the parser escapes", faProxy, alice, []string{
			"X-Original-URL", "http://gw.example.test/public%2Fx{"}, 403, ""},
		// the proxy must name the host: the auth request's own Host cannot stand in
		{"no host named", faProxy, alice, []string{"Host", "gw.example.test",
			"X-Forwarded-Uri", "/x", "X-Forwarded-Host", ""}, 403, ""},
		{"host named by an absolute URL alone", faProxy, alice, []string{"X-Original-URL",
			"http://gw.example.test/x", "X-Forwarded-Host", ""}, 200, "alice"},
		{"host named in another spelling than the URL's", faProxy, bob, []string{
			"X-Forwarded-Host", "ADMIN.example.test.:8443", "X-Original-URL",
			"https://admin.example.test/x"}, 200, "bob"},
		{"no methods rule, override", faProxy, alice, []string{"X-Forwarded-Uri", "/x",
			"X-Forwarded-Method", "GET", "X-HTTP-Method-Override", "DELETE"}, 200, "alice"},

		// the host is judged from whatever names it, and all that name it must agree
		{"host rule", faProxy, alice, []string{"X-Forwarded-Host", "admin.example.test",
			"X-Forwarded-Uri", "/x"}, 403, ""},
		{"host rule, host in any case and with a port", faProxy, alice, []string{
			"X-Forwarded-Host", "ADMIN.example.test.:8443", "X-Forwarded-Uri", "/x"}, 403, ""},
		{"host rule, host only in X-Original-URL", faProxy, alice, []string{
			"X-Original-URL", "https://admin.example.test/x"}, 403, ""},
		{"X-Forwarded-Host sent twice", faProxy, alice, []string{"X-Forwarded-Host",
			"other.example.test", "X-Forwarded-Host", "admin.example.test",
			"X-Forwarded-Uri", "/x"}, 403, ""},
		{"X-Original-URL and X-Forwarded-Host disagree", faProxy, alice, []string{
			"X-Original-URL", "https://admin.example.test/x", "X-Forwarded-Host",
			"other.example.test"}, 403, ""},
		{"X-Original-URL and X-Forwarded-Proto disagree", faProxy, alice, []string{
			"X-Original-URL", "http://gw.example.test/app/x", "X-Forwarded-Proto", "https"},
			403, ""},
		{"X-Original-URL and X-Forwarded-Host agree", faProxy, alice, []string{
			"X-Original-URL", "https://gw.example.test:8443/app/x", "X-Forwarded-Host",
			"GW.example.test", "X-Forwarded-Proto", "https"}, 200, "alice"},
		{"unparsable X-Forwarded-Host", faProxy, alice, []string{"X-Forwarded-Host", "a b/c",
			"X-Forwarded-Uri", "/app/x"}, 403, ""},
		{"X-Original-URL with user-info", faProxy, alice, []string{"X-Original-URL",
			"https://gw.example.test@admin.example.test/x"}, 403, ""},
		{"unknown X-Forwarded-Proto", faProxy, alice, []string{"X-Forwarded-Proto", "ftp",
			"X-Forwarded-Uri", "/app/x"}, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := askForwardAuth(t, e, proxy.AuthPath, tt.from, tt.cookie, tt.hdr...)
			if res.StatusCode != tt.want {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.want)
			}
			if got := res.Header.Get("X-Forwarded-User"); got != tt.user {
				t.Errorf("X-Forwarded-User: got %q, want %q", got, tt.user)
			}
			groups := map[string]string{"alice": "staff", "bob": "admins,staff"}[tt.user]
			if got := res.Header.Get("X-Forwarded-Groups"); got != groups {
				t.Errorf("X-Forwarded-Groups: got %q, want %q", got, groups)
			}
			name := map[string]string{"alice": "Alice Ærø", "bob": "bob"}[tt.user]
			if got := res.Header.Get("X-Forwarded-Name"); got != name {
				t.Errorf("X-Forwarded-Name: got %q, want %q", got, name)
			}
		})
	}
	if n := e.up.count(); n != 0 {
		t.Errorf("forward-auth contacted the upstream %d times", n)
	}
}

// TestForwardAuthSignInRedirect covers how an auth answer points a browser at the sign-in
// page: redirect mode's 302 for Traefik and Caddy, and the LoginHeader of nginx's 401.
func TestForwardAuthSignInRedirect(t *testing.T) {
	e := newEnv(t, forwardAuthConfig)
	alice := e.session("alice", alicePass)
	const (
		viaRedirect = proxy.AuthPath + "?redirect=1"
		viaNginx    = proxy.AuthPath
		origin      = "https://app.example.test:8443"
		// the sign-in page for /app/x?a=1&b=2, next escaped
		login = proxy.LoginPath + "?next=%2Fapp%2Fx%3Fa%3D1%26b%3D2"
	)
	// browser describes a browser's GET of /app/x?a=1&b=2 on origin, as Traefik does;
	// more pairs are added, and a pair with an empty value drops that header.
	browser := func(more ...string) []string {
		hdr := map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
			"X-Forwarded-Host": "app.example.test:8443", "X-Forwarded-Uri": "/app/x?a=1&b=2",
			"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
		for i := 0; i+1 < len(more); i += 2 {
			hdr[more[i]] = more[i+1]
		}
		var pairs []string
		for k, v := range hdr {
			if v != "" || k == "X-Forwarded-Host" { // empty: no X-Forwarded-Host
				pairs = append(pairs, k, v)
			}
		}
		return pairs
	}
	tests := []struct {
		name, target, from, cookie string
		hdr                        []string
		status                     int
		location, loginHeader      string // want; empty means none
		next                       string // want, when location is set
	}{
		{"browser GET", viaRedirect, faProxy, "", browser(), 302, origin + login, "",
			"/app/x?a=1&b=2"},
		{"browser HEAD", viaRedirect, faProxy, "", browser("X-Forwarded-Method", "HEAD"), 302,
			origin + login, "", "/app/x?a=1&b=2"},
		{"plain http origin", viaRedirect, faProxy, "", browser("X-Forwarded-Proto", "HTTP",
			"X-Forwarded-Host", "app.example.test"), 302,
			"http://app.example.test" + login, "", "/app/x?a=1&b=2"},
		{"IPv6 host", viaRedirect, faProxy, "", browser("X-Forwarded-Host", "[::1]:8443"), 302,
			"https://[::1]:8443" + login, "", "/app/x?a=1&b=2"},
		{"no proto: relative", viaRedirect, faProxy, "", browser("X-Forwarded-Proto", ""), 302,
			login, "", "/app/x?a=1&b=2"},
		// a proxy that names no host is refused: the Host cannot stand in for it
		{"no host named", viaRedirect, faProxy, "", browser("X-Forwarded-Host", ""), 403,
			"", "", ""},
		// a scheme or host the proxy names must parse, be named once, and agree with the
		// target's: otherwise the description is ambiguous, and that is a deny
		{"other scheme", viaRedirect, faProxy, "", browser("X-Forwarded-Proto",
			"javascript"), 403, "", "", ""},
		{"host with a path", viaRedirect, faProxy, "", browser("X-Forwarded-Host",
			"evil.test/x"), 403, "", "", ""},
		{"host with user-info", viaRedirect, faProxy, "", browser("X-Forwarded-Host",
			"app.example.test@evil.test"), 403, "", "", ""},
		{"host with a bad port", viaRedirect, faProxy, "", browser("X-Forwarded-Host",
			"app.example.test:x"), 403, "", "", ""},
		{"host list", viaRedirect, faProxy, "", browser("X-Forwarded-Host",
			"evil.test, app.example.test"), 403, "", "", ""},
		{"host sent twice", viaRedirect, faProxy, "", append(browser(),
			"X-Forwarded-Host", "evil.test"), 403, "", "", ""},
		{"proto sent twice", viaRedirect, faProxy, "", append(browser(),
			"X-Forwarded-Proto", "http"), 403, "", "", ""},
		{"URL names another host", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "",
			"X-Original-URL", "https://evil.test/app/x?a=1&b=2"), 403, "", "", ""},
		{"URL names another scheme", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "",
			"X-Original-URL", "http://app.example.test/app/x?a=1&b=2"), 403, "", "", ""},
		{"URL alone names the origin", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "",
			"X-Forwarded-Proto", "", "X-Forwarded-Host", "",
			"X-Original-URL", "https://app.example.test:8443/app/x?a=1&b=2"), 302,
			origin + login, "", "/app/x?a=1&b=2"},
		// the app would get the slashes unmerged
		{"a double slash", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "/app//x"),
			403, "", "", ""},
		{"nginx X-Original-URI", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "",
			"X-Original-URI", "/app/x?a=1&b=2"), 302, origin + login, "", "/app/x?a=1&b=2"},
		{"absolute X-Original-URL", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "",
			"X-Original-URL", "https://app.example.test/app/x?a=1&b=2"), 302,
			origin + login, "", "/app/x?a=1&b=2"},
		{"query the redirect policy refuses", viaRedirect, faProxy, "", browser(
			"X-Forwarded-Uri", `/app/x?a=\`), 302, origin + proxy.LoginPath, "", ""},
		{"encoded query survives", viaRedirect, faProxy, "", browser("X-Forwarded-Uri",
			"/app/x?q=a%26b+c"), 302, origin + proxy.LoginPath +
			"?next=%2Fapp%2Fx%3Fq%3Da%2526b%2Bc", "", "/app/x?q=a%26b+c"},
		{"POST", viaRedirect, faProxy, "", browser("X-Forwarded-Method", "POST"), 401, "", "",
			""},
		{"method not stated", viaRedirect, faProxy, "", browser("X-Forwarded-Method", ""), 401,
			"", "", ""},
		{"method in X-Original-Method", viaRedirect, faProxy, "", browser(
			"X-Forwarded-Method", "", "X-Original-Method", "GET"), 302, origin + login, "",
			"/app/x?a=1&b=2"},
		{"lower-case get", viaRedirect, faProxy, "", browser("X-Forwarded-Method", "get"), 401,
			"", "", ""},
		{"JSON client", viaRedirect, faProxy, "", browser("Accept", "application/json"), 401,
			"", "", ""},
		{"HTML refused", viaRedirect, faProxy, "", browser("Accept", "text/html;q=0"), 401, "",
			"", ""},
		{"no Accept", viaRedirect, faProxy, "", browser("Accept", ""), 401, "", "", ""},
		{"garbage cookie", viaRedirect, faProxy, "AAAA", browser(), 302, origin + login, "",
			"/app/x?a=1&b=2"},

		// every deny stays a deny
		{"direct client", viaRedirect, faDirect, "", browser(), 401, "", "", ""},
		{"direct client, nginx mode", viaNginx, faDirect, "", browser(), 401, "", "", ""},
		{"no target", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", ""), 403, "", "",
			""},
		{"targets disagree", viaRedirect, faProxy, "", browser("X-Original-URI", "/public/"),
			403, "", "", ""},
		{"dot segments", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "/public/../app/"),
			403, "", "", ""},
		{"the gateway's own pages", viaRedirect, faProxy, "", browser("X-Forwarded-Uri",
			"/.gateway/logout"), 403, "", "", ""},
		{"not allowed", viaRedirect, faProxy, alice, browser("X-Forwarded-Uri", "/api/x",
			"X-Forwarded-Method", "DELETE"), 403, "", "", ""},

		// a session or a public path passes, in either mode
		{"signed in", viaRedirect, faProxy, alice, browser(), 200, "", "", ""},
		{"public", viaRedirect, faProxy, "", browser("X-Forwarded-Uri", "/public/x"), 200, "",
			"", ""},

		// nginx mode: still a 401, with the sign-in URL for nginx to redirect to
		{"nginx mode, browser GET", viaNginx, faProxy, "", browser(), 401, "", login,
			"/app/x?a=1&b=2"},
		{"nginx mode, POST", viaNginx, faProxy, "", browser("X-Forwarded-Method", "POST"), 401,
			"", "", ""},
		{"nginx mode, JSON client", viaNginx, faProxy, "", browser("Accept",
			"application/json"), 401, "", "", ""},
		{"nginx mode, signed in", viaNginx, faProxy, alice, browser(), 200, "", "", ""},
		{"redirect=true is nginx mode", proxy.AuthPath + "?redirect=true", faProxy, "",
			browser(), 401, "", login, "/app/x?a=1&b=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := askForwardAuth(t, e, tt.target, tt.from, tt.cookie, tt.hdr...)
			if res.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.status)
			}
			loc := res.Header.Get("Location")
			if loc != tt.location {
				t.Errorf("Location: got %q, want %q", loc, tt.location)
			}
			lh := res.Header.Get(proxy.LoginHeader)
			if lh != tt.loginHeader {
				t.Errorf("%s: got %q, want %q", proxy.LoginHeader, lh, tt.loginHeader)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", got)
			}
			sent := loc + lh
			if sent == "" {
				return
			}
			u, err := url.Parse(sent)
			if err != nil {
				t.Fatalf("sign-in URL %q: %v", sent, err)
			}
			if got := u.Query().Get("next"); got != tt.next {
				t.Errorf("next: got %q, want %q", got, tt.next)
			}
			if tt.next != "" && !(&redirect.Policy{}).Allowed(tt.next) {
				t.Errorf("next %q is not one the redirect policy allows", tt.next)
			}
		})
	}
	if n := e.up.count(); n != 0 {
		t.Errorf("forward-auth contacted the upstream %d times", n)
	}
}

// TestForwardAuthAliasesFollowConfig: the names forward-auth refuses are those
// identity_aliases makes the gateway remove when it proxies.
func TestForwardAuthAliasesFollowConfig(t *testing.T) {
	e := newEnv(t, forwardAuthConfig+
		"identity_aliases:\n  builtin: false\n  extra: [X-App-User, X-Team-*]\n")
	alice := e.session("alice", alicePass)
	for name, want := range map[string]int{
		"Remote-User": 200, "X-Auth-Request-User": 200, // built-in, turned off
		"X-App-User": 403, "x-app-user": 403, "X-Team-Lead": 403, "X-Teams": 200,
	} {
		r := askForwardAuth(t, e, proxy.AuthPath, faProxy, alice, "X-Forwarded-Uri", "/app/x",
			name, "bob")
		if r.StatusCode != want {
			t.Errorf("%s: status %d, want %d", name, r.StatusCode, want)
		}
	}
}

// TestForwardAuthAnswersCarryPages: Traefik and Caddy hand a refusal to the browser as
// it is, so it carries the page the gateway shows when it proxies, or plain text for a
// script.
func TestForwardAuthAnswersCarryPages(t *testing.T) {
	e := newEnv(t, forwardAuthConfig)
	alice := e.session("alice", alicePass)
	const html = "text/html,*/*;q=0.8"
	for _, tt := range []struct {
		name, cookie, accept string
		hdr                  []string
		status               int
		ctype, body          string
	}{
		{"a rule refuses a browser", alice, html, []string{"X-Forwarded-Host",
			"admin.example.test", "X-Forwarded-Uri", "/x"}, 403, "text/html",
			"You are signed in as alice, who may not open this page."},
		{"a rule refuses a script", alice, "", []string{"X-Forwarded-Host",
			"admin.example.test", "X-Forwarded-Uri", "/x"}, 403, "text/plain",
			"Forbidden: You are signed in as alice, who may not open this page.\n"},
		{"a methods rule refuses", alice, "", []string{"X-Forwarded-Method", "DELETE",
			"X-Forwarded-Uri", "/api/x"}, 403, "text/plain",
			"Forbidden: You are signed in as alice, who may not send a DELETE request to " +
				"this page.\n"},
		{"a methods rule refuses a method named in the query", alice, "", []string{
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri",
			"/api/x?_method=DELETE.%20CALL%20555"}, 403, "text/plain",
			"Forbidden: You are signed in as alice, who may not send this request to this " +
				"page.\n"},
		{"a script needs a session", "", "", []string{"X-Forwarded-Uri", "/app/x"}, 401,
			"text/plain", "Unauthorized: Sign in first.\n"},
		{"a path read two ways", alice, "", []string{"X-Forwarded-Uri", "/app%2fx"}, 403,
			"text/plain", "Forbidden: The gateway refused this request: the path could " +
				"be read two ways.\n"},
	} {
		hdr := append([]string{"Accept", tt.accept}, tt.hdr...)
		r := askForwardAuth(t, e, proxy.AuthPath+"?redirect=1", faProxy, tt.cookie, hdr...)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != tt.status || !strings.HasPrefix(r.Header.Get("Content-Type"),
			tt.ctype) {
			t.Errorf("%s: status %d, type %q; want %d, %s", tt.name, r.StatusCode,
				r.Header.Get("Content-Type"), tt.status, tt.ctype)
		}
		if tt.ctype == "text/plain" && string(body) != tt.body ||
			tt.ctype == "text/html" && !strings.Contains(string(body), tt.body) {
			t.Errorf("%s: body %q, want %q", tt.name, body, tt.body)
		}
	}
}
