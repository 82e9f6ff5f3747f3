package session

import (
	"strings"
	"testing"
	"time"
)

// TestMemEntryRoundTrip keeps sessions whose digests can and cannot be packed, and reads
// them back unchanged.
func TestMemEntryRoundTrip(t *testing.T) {
	hexDigest := strings.Repeat("0123456789abcdef", 4)
	now := time.Unix(1_700_000_000, 123456789)
	for _, c := range []struct {
		name, authHash, mac string
		packed              uint8
	}{
		{"both hex", hexDigest, strings.Repeat("f0", 32), memPackedHash | memPackedMAC},
		{"upper case", strings.ToUpper(hexDigest), hexDigest, memPackedMAC},
		{"not hex", "digest-of-alice", strings.Repeat("zz", 32), 0},
		{"short", hexDigest[:62], "", 0},
	} {
		s := Session{User: "alice", Backend: "file", AuthHash: c.authHash, CSRFToken: "tok",
			ClientIP: "192.0.2.1", MAC: c.mac, Created: now, LastSeen: now.Add(time.Minute),
			Expires: now.Add(time.Hour), Remember: c.name == "short"}
		e := newMemEntry(&s, now.Add(2*time.Hour))
		if got := e.flags &^ memRemember; got != c.packed {
			t.Errorf("%s: packed flags %b, want %b", c.name, got, c.packed)
		}
		got := e.session()
		if got.User != s.User || got.Backend != s.Backend || got.AuthHash != s.AuthHash ||
			got.CSRFToken != s.CSRFToken || got.ClientIP != s.ClientIP || got.MAC != s.MAC ||
			!got.Created.Equal(s.Created) || !got.LastSeen.Equal(s.LastSeen) ||
			!got.Expires.Equal(s.Expires) || got.Remember != s.Remember {
			t.Errorf("%s: read back %+v, want %+v", c.name, got, s)
		}
	}
}
