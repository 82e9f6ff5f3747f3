package proxy

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// websocketVersion is the version of the websocket protocol (RFC 6455) the gateway
// passes handshakes on for: the only one browsers and websocket libraries speak.
const websocketVersion = "13"

// handshakeFault returns the status to refuse a websocket handshake with, and why, or 0
// when its header h is well formed (RFC 6455, 4.2.1): one Sec-WebSocket-Version, 13, and
// one Sec-WebSocket-Key, the base64 of 16 bytes. A version the gateway does not speak
// gets 426, which asks the client for version 13 (RFC 6455, 4.2.2); a field missing,
// repeated or malformed gets 400.
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
