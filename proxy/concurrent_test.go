package proxy_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// TestConcurrentSignInsAndOuts runs sign-ins, requests and sign-outs side by side, for the
// race detector, on the memory and the bolt store.
func TestConcurrentSignInsAndOuts(t *testing.T) {
	for _, store := range []string{"memory", "bolt"} {
		t.Run(store, func(t *testing.T) {
			up := newEcho(t)
			e := newEnvFromYAML(t, up, t.TempDir(), "session:\n  store: "+store+
				"\n  secrets: [\""+secret+"\"]\n")
			// Fewer sign-ins at once than the throttle's per-user-and-address limit: an
			// attempt in flight counts as a failure until it succeeds.
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := e.browser()
					if r := b.login("alice", alicePass, "/"); r.StatusCode != http.StatusSeeOther {
						t.Errorf("sign-in: status %d", r.StatusCode)
						return
					}
					for j := 0; j < 5; j++ {
						if r := b.get("/app/x"); r.StatusCode != 200 {
							t.Errorf("request: status %d", r.StatusCode)
						}
					}
					token := field(t, csrfRe, b.get("/.gateway/logout").body)
					old := b.cookie("gateway_session")
					b.post("/.gateway/logout", url.Values{"csrf_token": {token}})
					if r := e.raw("GET", "/app/x", old, nil); r.StatusCode != 401 {
						t.Errorf("after sign-out: status %d, want 401", r.StatusCode)
					}
				}()
			}
			wg.Wait()
		})
	}
}
