package proxy

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"testing"
)

// TestWebsocketAcceptOfRFCExample: the accept value of the key in RFC 6455's example
// (1.3) is the one the RFC gives.
func TestWebsocketAcceptOfRFCExample(t *testing.T) {
	got := websocketAccept("dGhlIHNhbXBsZSBub25jZQ==")
	if want := "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// versionSyntax is RFC 6455's grammar of a version (4.1), within its range of 0 to 255.
var versionSyntax = regexp.MustCompile(`^(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$`)

// FuzzHandshakeFault: a handshake passes only with the version 13 and a key that is the
// base64 of 16 bytes as base64 writes them; another version in RFC 6455's grammar gets
// 426; anything else 400.
func FuzzHandshakeFault(f *testing.F) {
	for _, s := range [][2]string{
		{"13", "dGhlIHNhbXBsZSBub25jZQ=="}, {"13", "dGhlIHNhbXBsZSBub25jZR=="},
		{"8", "dGhlIHNhbXBsZSBub25jZQ=="}, {"013", ""}, {"+13", "AAECAwQFBgcICQoLDA0ODxA="},
		{"255", "dGhlIHNhbXBsZSBub25jZQ"}, {"256", "dGhlIHNhbXBsZSBub25jZQ=\n"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, version, key string) {
		h := http.Header{"Sec-Websocket-Version": {version}, "Sec-Websocket-Key": {key}}
		got, _ := handshakeFault(h)
		b, err := base64.StdEncoding.DecodeString(key)
		keyOK := err == nil && len(b) == 16 && base64.StdEncoding.EncodeToString(b) == key
		want := http.StatusBadRequest
		switch {
		case version == "13" && keyOK:
			want = 0
		case version != "13" && versionSyntax.MatchString(version):
			want = http.StatusUpgradeRequired
		}
		if got != want {
			t.Errorf("version %q, key %q: got %d, want %d", version, key, got, want)
		}
	})
}
