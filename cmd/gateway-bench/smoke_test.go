package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the harness start this test binary in a role, as it starts itself.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole harness with tiny durations and counts: every role in its
// own process, the gateway from server.Run, the built-in load generator, the sessions
// and the flood, and checks that the report has every section.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dozen processes")
	}
	// a race-enabled child otherwise waits a second before it exits
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	out := filepath.Join(t.TempDir(), "results.md")
	peers := "auto"
	if os.Getenv("CI") == "true" {
		peers = strings.Join(peerNames, ",")
	}
	o := Options{Duration: 100 * time.Millisecond, Rounds: 2, Conns: []int{1, 4},
		Out: out, Load: "builtin", Gateway: gatewaySelf, GatewayLog: "error",
		Redis: "redis-server", Peers: peers, Sessions: 20, FloodRounds: 1, FloodConns: 4,
		FloodLoadConns: 2, Command: "test"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{"## Targets", "| bare | 4 |", "| gateway-memory | 4 |",
		"| gateway-bolt | 1 |", "## Memory", "## 20 live sessions", "## Login flood",
		"load generator: built-in"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	for _, name := range peerNames {
		if peers == "auto" && !strings.Contains(doc, "| "+name+" | 1 |") {
			t.Logf("%s was not measured: not installed", name)
			continue
		}
		for _, want := range []string{"| " + name + " | 4 |", "\n| " + name + " | "} {
			if !strings.Contains(doc, want) {
				t.Errorf("report lacks %q:\n%s", want, doc)
			}
		}
	}
}
