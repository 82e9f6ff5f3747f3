package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAdminEndpoints(t *testing.T) {
	up := newUpstream(t)
	admin := freeAddr(t)
	path := writeConfig(t, up, "admin:\n  listen: \""+admin+"\"\n")
	base := startGateway(t, path)
	signIn(t, base, "alice", "pw")
	res, _ := http.Get(base + "/app/")
	res.Body.Close()

	get := func(p string) (int, string) {
		res, err := http.Get("http://" + admin + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	code, body := get("/metrics")
	for _, want := range []string{
		`gateway_sign_ins_total{result="success"} 1`,
		`gateway_requests_total{code="401",route="/"} 1`,
		`gateway_request_duration_seconds_bucket`,
		`go_goroutines`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The admin listener serves nothing of the gateway's own.
	if code, _ := get("/.gateway/login"); code != http.StatusNotFound {
		t.Errorf("admin listener serves /.gateway/login: %d", code)
	}
}
