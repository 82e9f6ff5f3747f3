package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// sample is one load run at one target and connection count, with what the target's
// process spent on it.
type sample struct {
	loadResult
	round   int
	cpu     time.Duration // user+system CPU of the target's process during the run
	sideCPU time.Duration // the same for the target's side process (redis-server)
	peak    int64         // peak resident memory of the target's process during the run
	upConns int64         // new connections the upstream accepted from the target
	others  float64       // share of all CPUs' time that processes not ours used
}

// key names a target and a connection count.
type key struct {
	target string
	conns  int
}

// measure runs every round. Within a round, each connection count is measured on
// every target in turn, and the order of the targets rotates from round to round, so
// that drift in the machine's speed spreads over all targets alike.
func (b *bench) measure(ctx context.Context, ld loader, list []*target) (map[key][]sample,
	error) {
	out := make(map[key][]sample)
	for r := range b.o.Rounds {
		order := append(slices.Clone(list[r%len(list):]), list[:r%len(list)]...)
		for _, n := range b.o.Conns {
			for _, t := range order {
				s, err := b.runOnce(ctx, ld, t, n, b.o.Duration)
				if err != nil {
					return nil, fmt.Errorf("%s at %d connections: %w", t.name, n, err)
				}
				s.round = r
				k := key{t.name, n}
				out[k] = append(out[k], s)
				fmt.Printf("round %d  %-15s %3d conns  %8.0f req/s  p50 %-9v p99 %-9v "+
					"cpu/req %-7v peak %s  up conns %d  errors %d  others %.0f%%\n",
					r+1, t.name, n, s.rate, s.p50, s.p99, s.cpuPerRequest(),
					mb(s.peak), s.upConns, s.errors, 100*s.others)
			}
		}
	}
	return out, nil
}

// cpuPerRequest returns the target process's CPU time per successful request.
func (s sample) cpuPerRequest() time.Duration {
	if s.requests == 0 {
		return 0
	}
	return s.cpu / time.Duration(s.requests)
}

// runOnce runs one load at t and reads, around it, t's CPU time, its peak memory and
// the connections its upstream accepted.
func (b *bench) runOnce(ctx context.Context, ld loader, t *target, conns int,
	d time.Duration) (sample, error) {
	var s sample
	before, err := b.snapshot(ctx, t)
	if err != nil {
		return s, err
	}
	if err := resetFamilyPeak(t.proc.pid()); err != nil {
		b.notePeak(err)
	}
	r, err := ld.run(ctx, t.url+loadPath, t.cookie, conns, d)
	if err != nil {
		return s, t.proc.failure(err)
	}
	after, err := b.snapshot(ctx, t)
	if err != nil {
		return s, err
	}
	mem, err := familyMem(t.proc.pid())
	if err != nil {
		return s, err
	}
	s = sample{loadResult: r, cpu: after.cpu - before.cpu,
		sideCPU: after.sideCPU - before.sideCPU, peak: mem.peak,
		upConns: after.accepts - before.accepts}
	if total := after.total - before.total; total > 0 {
		others := (after.busy - before.busy) - (after.ours - before.ours)
		s.others = max(0, float64(others)/float64(total))
	}

	// let the load's connections close before the next run
	select {
	case <-ctx.Done():
		return s, ctx.Err()
	case <-time.After(200 * time.Millisecond):
	}
	return s, nil
}

// notePeak notes, once, that peaks are since the process started, since err kept the
// harness from resetting them.
func (b *bench) notePeak(err error) {
	if !b.peakLifetime {
		b.peakLifetime = true
		b.notes = append(b.notes, fmt.Sprintf("Peak RSS is each process's peak since it "+
			"started: %v.", err))
	}
}

// counters is what runOnce reads before and after a run.
type counters struct {
	cpu, sideCPU time.Duration // of the target and its side process
	ours         time.Duration // of the harness, its waited-for children and its servers
	busy, total  time.Duration // of all the machine's CPUs
	accepts      int64
}

// snapshot reads t's CPU time, its side process's, the CPU time of all the harness's
// processes and of the machine, and the upstream's accept count.
func (b *bench) snapshot(ctx context.Context, t *target) (counters, error) {
	var c counters
	if t.proc.exited() {
		return c, t.proc.failure(errors.New("exited during the run"))
	}
	var err error
	if c.cpu, err = familyCPU(t.proc.pid()); err != nil {
		return c, err
	}
	if t.side != nil {
		if c.sideCPU, err = procCPU(t.side.pid()); err != nil {
			return c, err
		}
	}
	acc, err := b.up.accepts(ctx)
	if err != nil {
		return c, err
	}
	c.accepts = acc[t.name]

	// wrk counts among the harness's children once it has been waited for
	if c.ours, err = treeCPU(os.Getpid()); err != nil {
		return c, err
	}
	for _, p := range b.procs {
		if p.exited() {
			continue
		}
		cpu, err := familyCPU(p.pid())
		if err != nil {
			return c, err
		}
		c.ours += cpu
	}
	c.busy, c.total, err = machineCPU()
	return c, err
}

// mb formats a number of bytes in megabytes of 10^6 bytes, the unit of the targets.
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
