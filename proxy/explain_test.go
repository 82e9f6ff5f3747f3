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
