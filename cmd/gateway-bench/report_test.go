package main

import (
	"strings"
	"testing"
	"time"
)

// fakeResults returns results of two rounds at 64 connections in which gateway-memory
// does as well as bare and gateway-bolt misses every target it can.
func fakeResults() *results {
	r := &results{o: Options{Rounds: 2, Conns: []int{64}, Duration: time.Second,
		GatewayLog: "error", Command: "go run ./cmd/gateway-bench"}, loader: "built-in",
		samples: make(map[key][]sample)}
	add := func(name string, rate float64, p99 time.Duration, up int64, peak int64) {
		for round := range 2 {
			r.samples[key{name, 64}] = append(r.samples[key{name, 64}], sample{
				loadResult: loadResult{requests: 1000, rate: rate, p50: p99 / 2, p99: p99},
				round:      round, cpu: 100 * time.Millisecond, peak: peak, upConns: up})
		}
	}
	add(nameBare, 10000, 10*time.Millisecond, 64, 20e6)
	add("gateway-memory", 10000, 10500*time.Microsecond, 64, 30e6)
	add("gateway-bolt", 8000, 13*time.Millisecond, 200, 50e6)
	r.list = []*target{
		{name: nameBare, idle: memInfo{rss: 10e6}},
		{name: "gateway-memory", idle: memInfo{rss: 15e6}},
		{name: "gateway-bolt", idle: memInfo{rss: 22e6}},
	}
	r.sessions = &sessionsResult{n: 100000, elapsed: time.Minute,
		idle: memInfo{rss: 15e6}, after: memInfo{rss: 80e6}}
	r.flood = &floodResult{rounds: []floodRound{{base: loadResult{rate: 1000},
		flood: loadResult{rate: 300}, span: time.Second}},
		known:    signIns{times: []time.Duration{time.Second, 3 * time.Second}},
		fresh:    signIns{times: []time.Duration{time.Second}},
		stranger: signIns{times: []time.Duration{time.Second}, failed: 1}}
	return r
}

func TestChecks(t *testing.T) {
	got := make(map[string]check)
	for _, c := range fakeResults().checks() {
		got[c.what] = c
	}
	for _, tt := range []struct {
		what string
		met  bool
		by   string
	}{
		{"gateway-memory req/s at 64 conns", true, ""},
		{"gateway-bolt req/s at 64 conns", false, "by 0.20×"},
		{"gateway-memory p99, worst over conns", true, ""},
		{"gateway-bolt p99, worst over conns", false, "by 2.00 ms"},
		{"gateway-memory new upstream conns in a run, most", true, ""},
		{"gateway-bolt new upstream conns in a run, most", false, "by 132"},
		{"gateway-memory idle RSS", true, ""},
		{"gateway-bolt idle RSS", false, "by 2.0 MB"},
		{"gateway-memory peak RSS under load", true, ""},
		{"gateway-bolt peak RSS under load", false, "by 0.27×"},
		{"RSS with 100,000 sessions (memory store)", true, ""},
		{"signed-in req/s under login flood", false, "by 0.40×"},
		{"real sign-in during login flood, from a browser used before, slowest", false,
			"by 1.00 s"},
		{"the same from a new browser at an address signed in from before, slowest", true,
			""},
		{"the same from a new browser at a new address, slowest", false,
			"1 sign-ins failed"},
	} {
		c, ok := got[tt.what]
		if !ok {
			t.Errorf("no check %q", tt.what)
			continue
		}
		if c.skipped || c.met != tt.met || (!tt.met && c.by != tt.by) {
			t.Errorf("%s: got met %v by %q (skipped %v), want met %v by %q", tt.what,
				c.met, c.by, c.skipped, tt.met, tt.by)
		}
	}
	if c := got["gateway-redis req/s at 64 conns"]; !c.skipped {
		t.Errorf("gateway-redis was not measured, but its check says %+v", c)
	}
	if len(got) != 16 {
		t.Errorf("got %d checks, want 14", len(got))
	}
}

func TestReport(t *testing.T) {
	doc := report(fakeResults())
	for _, want := range []string{
		"Of the 15 targets of README \"Speed\" measured, 7 were met (1 not measured). " +
			"Missed:",
		"- gateway-bolt req/s at 64 conns: 0.80×, wanted ≥ 1.00× bare; missed by 0.20×",
		"| gateway-bolt | 64 | 8000 | 0.80× | 6500 µs | 13.0 ms | +3.00 ms | 100 µs | " +
			"50.0 MB | 200 | 0 | 0% |",
		"| gateway-bolt | 22.0 MB | 50.0 MB | 2.27× |",
		"## 100,000 live sessions",
		"median 2.00 s, max 3.00 s",
		"- command: `go run ./cmd/gateway-bench`",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	r := fakeResults()
	r.sessions, r.flood = nil, nil
	if doc := report(r); !strings.Contains(doc, "(6 not measured)") {
		t.Errorf("report without sessions and flood does not say 6 were not measured:\n%s",
			doc)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick", "-rounds", "3", "-out", "", "-conns", "2, 8"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration != 300*time.Millisecond || o.Rounds != 3 || o.Sessions != 200 ||
		o.FloodRounds != 1 || len(o.Conns) != 2 || o.Conns[1] != 8 {
		t.Errorf("got %+v, want -quick's duration, sessions and flood rounds, 3 rounds, "+
			"conns 2 and 8", o)
	}
	want := "go run ./cmd/gateway-bench -conns='2, 8' -out='' -quick=true -rounds=3"
	if o.Command != want {
		t.Errorf("command: got %q, want %q", o.Command, want)
	}
	for _, args := range [][]string{{"-conns", "0"}, {"-rounds", "0"}, {"-duration", "0s"},
		{"extra"}, {"-sessions", "-1"}} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q): got no error", args)
		}
	}
}

func TestFloodAddr(t *testing.T) {
	for _, spread := range []bool{false, true} {
		seen := make(map[string]bool)
		for i := range int64(1 << 17) {
			a := floodAddr(i, spread)
			if seen[a] {
				t.Fatalf("spread %v: floodAddr(%d) = %s again", spread, i, a)
			}
			seen[a] = true
		}
	}
	if a, b := floodAddr(0, false), floodAddr(1<<17-1, false); a != "198.18.0.0" ||
		b != "198.19.255.255" {
		t.Errorf("got %s to %s, want 198.18.0.0 to 198.19.255.255", a, b)
	}
	// spread: 512 attempts in a row, each from another /24
	for i, want := range map[int64]string{0: "198.18.0.0", 1: "198.18.1.0",
		255: "198.18.255.0", 256: "198.19.0.0", 511: "198.19.255.0", 512: "198.18.0.1",
		1<<17 - 1: "198.19.255.255"} {
		if got := floodAddr(i, true); got != want {
			t.Errorf("floodAddr(%d, true) = %s, want %s", i, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000",
		100000: "100,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d): got %q, want %q", n, got, want)
		}
	}
}
