package redisstore

import (
	"testing"

	"github.com/frontgate/gateway/authn/session/storetest"
)

// TestDecodeMemoMatchesBytes checks that the memo answers only for the exact bytes it
// decoded, and stays bounded.
func TestDecodeMemoMatchesBytes(t *testing.T) {
	var d decodeMemo
	alice, bob := storetest.Sample("alice"), storetest.Sample("bob")
	d.add("k", `{"user":"alice"}`, alice)
	if s, ok := d.get("k", `{"user":"alice"}`); !ok || s.User != "alice" {
		t.Fatalf("same bytes: %+v, %v", s, ok)
	}
	for _, raw := range []string{`{"user":"bob"}`, `{"user":"alice"} `, ``} {
		if s, ok := d.get("k", raw); ok {
			t.Errorf("bytes %q answered from the memo: %+v", raw, s)
		}
	}
	if _, ok := d.get("other", `{"user":"alice"}`); ok {
		t.Error("another key answered from the memo")
	}
	s, _ := d.get("k", `{"user":"alice"}`)
	s.User = "mallory"
	if s2, _ := d.get("k", `{"user":"alice"}`); s2.User != "alice" {
		t.Error("a caller's change to its copy reached the memo")
	}
	d.forget("k")
	if _, ok := d.get("k", `{"user":"alice"}`); ok {
		t.Error("a forgotten key answered from the memo")
	}
	for i := range memoMax + 10 {
		d.add(string(rune(i)), "x", bob)
	}
	if n := len(d.m); n > memoMax {
		t.Errorf("memo holds %d records, more than %d", n, memoMax)
	}
}
