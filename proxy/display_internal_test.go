package proxy

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/frontgate/gateway/authn"
)

// TestDisplayName: a name shown back on the form is cut to the longest a sign-in takes,
// never inside a character.
func TestDisplayName(t *testing.T) {
	long := strings.Repeat("a", authn.MaxUsernameLength-1) + "é" + "x"
	got := displayName(long)
	if !utf8.ValidString(got) || len(got) != authn.MaxUsernameLength-1 {
		t.Errorf("displayName cut to %d bytes (valid UTF-8: %v), want %d", len(got),
			utf8.ValidString(got), authn.MaxUsernameLength-1)
	}
	if displayName("alice") != "alice" {
		t.Error("a short name was changed")
	}
}
