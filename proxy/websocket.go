package proxy

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// websocketVersion is the version of the websocket protocol (RFC 6455) the gateway
// passes handshakes on for: the only one browsers and websocket libraries speak.
const websocketVersion = "13"

// websocketGUID is what RFC 6455 appends to a handshake's key before hashing it into the
// Sec-WebSocket-Accept of the server's answer.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// handshakeFault returns the status to refuse a websocket handshake with, and why, or 0
// when its header h is well formed (RFC 6455, 4.2.1): one Sec-WebSocket-Version, 13, and
// one Sec-WebSocket-Key, the base64 of 16 bytes. A version the gateway does not speak
// gets 426, which asks the client for version 13 (RFC 6455, 4.2.2); a field missing,
// repeated or malformed gets 400.
//
// The key is what lets the gateway tell, from the app's 101, that the app read the
// request as a websocket handshake (see checkSwitch): without it, no tunnel opens.
func handshakeFault(h http.Header) (status int, reason string) {
	v := h.Values("Sec-WebSocket-Version")
	switch {
	case len(v) != 1 || !versionNumber(v[0]):
		return http.StatusBadRequest, "websocket version missing, repeated or malformed"
	case v[0] != websocketVersion:
		return http.StatusUpgradeRequired, "websocket version not supported"
	}
	if k := h.Values("Sec-WebSocket-Key"); len(k) != 1 || !handshakeKey(k[0]) {
		return http.StatusBadRequest, "websocket key missing, repeated or malformed"
	}
	return 0, ""
}

// versionNumber reports whether v is a websocket version as RFC 6455 writes one: a
// number from 0 to 255, without a sign or leading zeros.
func versionNumber(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n >= 0 && n <= 255 && strconv.Itoa(n) == v
}

// handshakeKey reports whether k is a Sec-WebSocket-Key: the base64 of 16 bytes, padded,
// with no bits set past them.
func handshakeKey(k string) bool {
	if len(k) != 24 {
		return false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(k)
	return err == nil && len(b) == 16
}

// websocketAccept returns the Sec-WebSocket-Accept that answers the handshake key k:
// the base64 of the SHA-1 of k and websocketGUID (RFC 6455, 4.2.2).
func websocketAccept(k string) string {
	sum := sha1.Sum([]byte(k + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// switchError refuses an upstream's 101 that does not complete the websocket handshake
// the gateway passed on: the gateway answers 502 and opens no tunnel. Why says how the
// 101 falls short, for the log.
type switchError struct{ why string }

func (e *switchError) Error() string { return "switching protocols: " + e.why }

// checkSwitch returns a *switchError unless resp, an upstream's 101, completes the
// websocket handshake of resp.Request as RFC 6455 (4.1) has a client check: Upgrade
// websocket, Connection naming upgrade, and the Sec-WebSocket-Accept that the request's
// key makes.
//
// Once a 101 goes through, the connection is a tunnel that carries whatever the client
// writes, unread. A server that answers 101 without reading the request as a websocket
// handshake (a catch-all route, a proxy in front of the app) may go on reading HTTP from
// the tunnel: raw requests, to paths the rules deny, with identity headers of the
// client's choosing. Only a server that took the request for a websocket handshake
// hashes its key into the accept value.
func checkSwitch(resp *http.Response) error {
	req := resp.Request
	if !isUpgrade(req) || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		return &switchError{"101 to a request that asked for no websocket"}
	}
	if up := resp.Header.Values("Upgrade"); len(up) != 1 ||
		!strings.EqualFold(up[0], "websocket") {
		return &switchError{"101 without Upgrade: websocket"}
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		return &switchError{"101 without Connection: upgrade"}
	}
	key, accept := req.Header.Values("Sec-WebSocket-Key"), resp.Header.Values(
		"Sec-WebSocket-Accept")
	if len(key) != 1 || len(accept) != 1 || accept[0] != websocketAccept(key[0]) {
		return &switchError{"101 without the Sec-WebSocket-Accept of the handshake's key"}
	}
	return nil
}
