package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadPath is what the load asks for: a protected path, so every gateway request
// resolves the session.
const loadPath = "/app/x"

// loadResult is what one load run saw.
type loadResult struct {
	requests int64 // answers 200
	errors   int64 // transport errors and other answers
	elapsed  time.Duration
	rate     float64 // successful requests per second
	p50, p99 time.Duration
}

// loader drives keep-alive GET requests at a URL.
type loader interface {
	// name says which load generator this is, for the report.
	name() string
	// run issues GET url with the Cookie header cookie (none when empty) on conns
	// keep-alive connections for about d.
	run(ctx context.Context, url, cookie string, conns int, d time.Duration) (loadResult,
		error)
}

// newLoader returns the load generator kind names: "wrk", "builtin", or "auto" for wrk
// when it is on PATH and the built-in one otherwise.
func newLoader(ctx context.Context, kind string) (loader, error) {
	switch kind {
	case "builtin":
		return builtinLoader{}, nil
	case "wrk", "auto":
		path, err := exec.LookPath("wrk")
		if err != nil {
			if kind == "auto" {
				return builtinLoader{}, nil
			}
			return nil, fmt.Errorf("finding wrk: %w", err)
		}
		// wrk has no version flag: it prints its version above its usage, and exits 1
		out, _ := exec.CommandContext(ctx, path, "-v").CombinedOutput()
		version, _, _ := strings.Cut(string(out), "\n")
		version, _, _ = strings.Cut(version, " [")
		return wrkLoader{path: path, version: strings.TrimSpace(version)}, nil
	}
	return nil, fmt.Errorf("unknown load generator %q: want auto, wrk or builtin", kind)
}

// wrkLoader runs wrk, which the harness does not share a process with.
type wrkLoader struct {
	path    string
	version string // such as "wrk 4.1.0"
}

func (w wrkLoader) name() string { return w.version }

// run runs wrk with as many threads as CPUs (no more than conns), for d rounded up to
// whole seconds, the shortest run wrk takes.
func (w wrkLoader) run(ctx context.Context, url, cookie string, conns int,
	d time.Duration) (loadResult, error) {
	args := []string{"-t", strconv.Itoa(min(conns, runtime.NumCPU())),
		"-c", strconv.Itoa(conns), "-d", strconv.Itoa(wrkSeconds(d)) + "s",
		"--timeout", "10s",
		"--latency"}
	if cookie != "" {
		args = append(args, "-H", "Cookie: "+cookie)
	}
	args = append(args, url)
	out, err := exec.CommandContext(ctx, w.path, args...).CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("running wrk: %w\n%s", err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return loadResult{}, fmt.Errorf("reading wrk output: %w\n%s", err, out)
	}
	return r, nil
}

// wrkSeconds is d rounded up to whole seconds, at least one: wrk takes no less.
func wrkSeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

var (
	wrkTotal   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+[a-z]+),`)
	wrkPercent = regexp.MustCompile(`(?m)^\s*(50|99)(?:\.0+)?%\s+([0-9.]+[a-z]+)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSocket  = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), ` +
		`write (\d+), timeout (\d+)`)
	wrkRequests = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
)

// parseWrk reads the output of wrk --latency: the request count and time, the 50% and
// 99% latencies, the rate, and the answers that were not 2xx or 3xx and socket errors,
// which count as errors.
func parseWrk(out string) (loadResult, error) {
	var r loadResult
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no request count")
	}
	total, _ := strconv.ParseInt(m[1], 10, 64)
	elapsed, err := time.ParseDuration(m[2])
	if err != nil {
		return r, fmt.Errorf("parsing run time: %w", err)
	}
	r.elapsed = elapsed

	for _, m := range wrkPercent.FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[2])
		if err != nil {
			return r, fmt.Errorf("parsing latency: %w", err)
		}
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no 50%% and 99%% latency (run wrk with --latency)")
	}

	var bad int64
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		bad, _ = strconv.ParseInt(m[1], 10, 64)
	}
	r.requests = total - bad
	r.errors = bad
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.errors += n
		}
	}
	m = wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec")
	}
	rate, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return r, fmt.Errorf("parsing Requests/sec: %w", err)
	}
	if total > 0 {
		r.rate = rate * float64(r.requests) / float64(total)
	}
	return r, nil
}

// builtinLoader is a Go load generator in the harness's own process: one goroutine and
// one client per connection.
type builtinLoader struct{}

func (builtinLoader) name() string { return "built-in" }

func (builtinLoader) run(ctx context.Context, url, cookie string, conns int,
	d time.Duration) (loadResult, error) {
	type result struct {
		lat    []time.Duration
		errors int64
	}
	results := make([]result, conns)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i := range conns {
		wg.Go(func() {
			results[i].lat, results[i].errors = worker(ctx, url, cookie, end)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}

	// merge the latencies
	var all []time.Duration
	r := loadResult{elapsed: elapsed}
	for _, res := range results {
		all = append(all, res.lat...)
		r.errors += res.errors
	}
	r.requests = int64(len(all))
	if r.requests == 0 {
		return r, fmt.Errorf("no request succeeded (%d errors)", r.errors)
	}
	r.rate = float64(r.requests) / elapsed.Seconds()
	slices.Sort(all)
	r.p50 = all[len(all)*50/100]
	r.p99 = all[len(all)*99/100]
	return r, nil
}

// worker issues requests on one connection until end, or until ctx ends, and returns
// the latency of each successful one and the count of failures. It lets the request in
// flight at end finish rather than cancel it: a cancelled request would close the
// proxy's upstream connection and inflate the next run's count of new connections.
func worker(ctx context.Context, url, cookie string, end time.Time) ([]time.Duration,
	int64) {
	c := newClient(1)
	c.Transport.(*http.Transport).MaxConnsPerHost = 1
	defer c.CloseIdleConnections()
	lat := make([]time.Duration, 0, 4096)
	var errs int64
	for ctx.Err() == nil && time.Now().Before(end) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			errs++
			continue
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			errs++
			continue
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, errs
}
