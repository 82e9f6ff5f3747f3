package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestConfigReloadsLive(t *testing.T) {
	configPollInterval = 20 * time.Millisecond
	defer func() { configPollInterval = 2 * time.Second }()
	up := newUpstream(t)
	path := writeConfig(t, up)
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: path, Stderr: logs,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	defer func() { cancel(); <-done }()
	base := "http://" + (<-ready).String()
	status := func(p string) int {
		res, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s; log:\n%s", what, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if status("/open/x") != http.StatusUnauthorized {
		t.Fatal("/open/ public before the change")
	}
	orig, _ := os.ReadFile(path)

	// A new public prefix takes effect without a restart.
	edit := strings.Replace(string(orig), "public: [/public/]", "public: [/public/, /open/]",
		1)
	os.WriteFile(path, []byte(edit), 0o600)
	waitFor("new public path served", func() bool { return status("/open/x") == 200 })

	// A broken config is refused with its line and key; the running one keeps serving.
	os.WriteFile(path, []byte(edit+"bogus_key: 1\n"), 0o600)
	waitFor("broken config reported", func() bool {
		return strings.Contains(logs.String(), "bogus_key: unknown key")
	})
	if status("/open/x") != 200 {
		t.Error("a rejected config changed what is served")
	}

	// Keys that need a restart are named, and the rest applies.
	restart := strings.Replace(edit, `listen: "127.0.0.1:0"`, `listen: "127.0.0.1:1"`, 1)
	restart = strings.Replace(restart, "public: [/public/, /open/]", "public: [/public/]", 1)
	os.WriteFile(path, []byte(restart), 0o600)
	waitFor("restart keys named", func() bool {
		return strings.Contains(logs.String(), "need a restart") &&
			strings.Contains(logs.String(), "listen")
	})
	waitFor("the rest applied", func() bool { return status("/open/x") != 200 })
}
