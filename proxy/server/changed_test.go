package server

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/frontgate/gateway/config"
)

func TestChangedKeys(t *testing.T) {
	const base = "users:\n  file: users.yaml\nroutes:\n  - upstream: http://127.0.0.1:9001\n" +
		"  - path: /admin/\n    upstream: http://127.0.0.1:9002\n"
	parse := func(text string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(text), "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name, text string
		want       []string
	}{
		{"same", base, nil},
		{"same, spelled otherwise", "routes:\n  - {upstream: \"http://127.0.0.1:9001\"}\n" +
			"  - {path: /admin/, upstream: \"http://127.0.0.1:9002\"}\n" +
			"users: {file: users.yaml}\n", nil},
		{"a default written out", base + "session:\n  idle_timeout: 30m\n", nil},
		{"a session key", base + "session:\n  idle_timeout: 5m\n",
			[]string{"session.idle_timeout"}},
		{"a rule of the second route", base + "    allow:\n      groups: [admins]\n",
			[]string{"routes[1]"}},
		{"a route more", base + "  - path: /b/\n    upstream: http://127.0.0.1:9003\n",
			[]string{"routes"}},
		{"top-level keys", base + "trusted_proxies: [10.0.0.0/8]\nlisten: \":9\"\n" +
			"pages:\n  title: Intranet\n",
			[]string{"listen", "trusted_proxies", "pages.title"}},
	}
	old := parse(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := changedKeys(old, parse(tt.text))
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("changedKeys = %q, want %q", got, want)
			}
			// a JSON log shows a list, never null
			if j, _ := json.Marshal(got); j[0] != '[' {
				t.Errorf("changedKeys in JSON: %s, want a list", j)
			}
		})
	}
}
