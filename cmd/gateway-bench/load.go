package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// sample is one measurement of one target at one connection count.
type sample struct {
	round    int
	requests int
	errors   int // transport errors and non-200 answers
	elapsed  time.Duration
	p50, p99 time.Duration
	cpu      time.Duration // user+system CPU of the whole process during the run
	upConns  int64         // new connections the target opened to its upstream
}

// rps returns the sample's successful requests per second.
func (s sample) rps() float64 { return float64(s.requests) / s.elapsed.Seconds() }

// key names a target and a connection count.
type key struct {
	target string
	conns  int
}

// measure runs every round. Within a round, each connection count is measured on
// every target in turn, and the order of the targets rotates from round to round, so
// that drift in the machine's speed spreads over all targets alike.
func measure(ctx context.Context, o Options, list []*target) (map[key][]sample, error) {
	out := make(map[key][]sample)
	for r := range o.Rounds {
		order := append(slices.Clone(list[r%len(list):]), list[:r%len(list)]...)
		for _, n := range o.Conns {
			for _, t := range order {
				s, err := load(ctx, t, n, o.Duration)
				if err != nil {
					return nil, fmt.Errorf("%s at %d connections: %w", t.name, n, err)
				}
				s.round = r
				k := key{t.name, n}
				out[k] = append(out[k], s)
				fmt.Printf("round %d  %-15s %3d conns  %8.0f req/s  p50 %v  p99 %v  errors %d\n",
					r+1, t.name, n, s.rps(), s.p50, s.p99, s.errors)
			}
		}
	}
	return out, nil
}

// load drives t with conns keep-alive connections, each its own goroutine and client,
// issuing GET /app/x for d.
func load(ctx context.Context, t *target, conns int, d time.Duration) (sample, error) {
	type result struct {
		lat    []time.Duration
		errors int
	}
	results := make([]result, conns)
	var wg sync.WaitGroup

	up0 := t.accept.Load()
	cpu0, err := processCPU()
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	end := start.Add(d)
	for i := range conns {
		wg.Go(func() {
			results[i].lat, results[i].errors = worker(ctx, t, end)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, err := processCPU()
	if err != nil {
		return sample{}, err
	}
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}

	// merge the latencies
	var all []time.Duration
	s := sample{elapsed: elapsed, cpu: cpu1 - cpu0, upConns: t.accept.Load() - up0}
	for _, r := range results {
		all = append(all, r.lat...)
		s.errors += r.errors
	}
	s.requests = len(all)
	if s.requests == 0 {
		return s, fmt.Errorf("no request succeeded (%d errors)", s.errors)
	}
	slices.Sort(all)
	s.p50 = all[len(all)*50/100]
	s.p99 = all[len(all)*99/100]
	return s, nil
}

// worker issues requests on one connection until end, or until ctx ends, and returns
// the latency of each successful one and the count of failures. It lets the request in
// flight at end finish rather than cancel it: a cancelled request would close the
// proxy's upstream connection and inflate the next run's count of new connections.
func worker(ctx context.Context, t *target, end time.Time) ([]time.Duration, int) {
	tr := &http.Transport{
		Proxy:               nil,
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	lat := make([]time.Duration, 0, 4096)
	errs := 0
	for ctx.Err() == nil && time.Now().Before(end) {
		req, _ := http.NewRequestWithContext(ctx, "GET", t.url+"/app/x", nil)
		if t.cookie != "" {
			req.Header.Set("Cookie", t.cookie)
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

// processCPU returns the user and system CPU time the whole process has used.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("reading rusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
