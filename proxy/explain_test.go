package proxy

import (
	"testing"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
)

// TestWhyAgreesWithAllows keeps the explained decision and the enforced one the same.
func TestWhyAgreesWithAllows(t *testing.T) {
	users := []*authn.User{
		{Name: "alice", Groups: []string{"staff"}},
		{Name: "bob", Groups: []string{"admins", "staff"}},
		{Name: "carol"},
	}
	rules := []config.Allow{
		{},
		{Groups: []string{"admins"}},
		{Users: []string{"carol"}},
		{Users: []string{"alice"}, Groups: []string{"admins"}, Methods: []string{"GET"}},
		{Methods: []string{"POST", "PUT"}},
	}
	for _, a := range rules {
		rt := &route{allow: a}
		for _, u := range users {
			for _, m := range []string{"GET", "get", "POST", "DELETE"} {
				for _, q := range []string{"", "_method=DELETE", "_method=put"} {
					ok, why := rt.why(u, m, q)
					if ok != rt.allows(u, m, q) || why == "" {
						t.Errorf("rule %+v, %s %s ?%s: why says %v (%q), allows says %v", a,
							u.Name, m, q, ok, why, rt.allows(u, m, q))
					}
				}
			}
		}
	}
}

// TestWhyNamesTheRule checks that a refusal names the parts of the rule there are.
func TestWhyNamesTheRule(t *testing.T) {
	dave := &authn.User{Name: "dave", Groups: []string{"staff"}}
	for _, tt := range []struct {
		allow config.Allow
		want  string
	}{
		{config.Allow{Groups: []string{"admins"}}, "dave is in no group of allow.groups " +
			"[admins]"},
		{config.Allow{Users: []string{"carol"}}, "dave is not in allow.users [carol]"},
		{config.Allow{Users: []string{"carol"}, Groups: []string{"admins", "ops"}},
			"dave is not in allow.users [carol] nor in a group of allow.groups [admins ops]"},
		{config.Allow{Methods: []string{"GET"}}, "method POST is not one of [GET]"},
	} {
		if ok, why := (&route{allow: tt.allow}).why(dave, "POST", ""); ok || why != tt.want {
			t.Errorf("rule %+v: got %v %q, want false %q", tt.allow, ok, why, tt.want)
		}
	}
}
