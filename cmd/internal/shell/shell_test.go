package shell

import "testing"

func TestQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"alice", "alice"},
		{"a.b-c_d@example.com", "a.b-c_d@example.com"},
		{"", "''"},
		{"bob smith", "'bob smith'"},
		{"o'brien", `'o'\''brien'`},
		{"$(id)", "'$(id)'"},
		{"-x", "-x"},
		{"älice", "'älice'"},
	} {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
