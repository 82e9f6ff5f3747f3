package main

import (
	"fmt"
	"slices"
	"strings"
)

// check is one target of README "Speed" and what the run measured against it.
type check struct {
	what, want, got string
	met             bool
	skipped         bool   // not measured in this run
	by              string // how far it missed, when it did
}

// result says how the check came out, for the report's table.
func (c check) result() string {
	switch {
	case c.skipped:
		return "not measured"
	case c.met:
		return "met"
	}
	return "**missed** " + c.by
}

// checks holds the run's results against every target of README "Speed".
func (r *results) checks() []check {
	var cs []check
	var gateways []*target
	for _, t := range r.list {
		if strings.HasPrefix(t.name, "gateway-") {
			gateways = append(gateways, t)
		}
	}

	// throughput at the most connections, against the bare proxy's
	top := slices.Max(r.o.Conns)
	for _, t := range gateways {
		want := wantRatio
		if t.name == "gateway-redis" {
			want = wantRedisRatio
		}
		got := r.summarize(t.name, top).ratio
		cs = append(cs, check{what: fmt.Sprintf("%s req/s at %d conns", t.name, top),
			want: fmt.Sprintf("≥ %.2f× bare", want), got: fmt.Sprintf("%.2f×", got),
			met: got >= want, by: fmt.Sprintf("by %.2f×", want-got)})
	}

	if !slices.ContainsFunc(gateways, func(t *target) bool { return t.name == "gateway-redis" }) {
		cs = append(cs, check{what: fmt.Sprintf("gateway-redis req/s at %d conns", top),
			want: fmt.Sprintf("≥ %.2f× bare", wantRedisRatio), got: "left out, no redis-server",
			skipped: true})
	}

	// p99 latency over the bare proxy's, at the connection count where it is worst
	for _, t := range gateways {
		worst, at := -1e18, 0
		for _, n := range r.o.Conns {
			if d := r.summarize(t.name, n).p99 - r.summarize(nameBare, n).p99; d > worst {
				worst, at = d, n
			}
		}
		cs = append(cs, check{what: t.name + " p99, worst over conns",
			want: fmt.Sprintf("≤ bare + %v", wantP99Over),
			got:  fmt.Sprintf("bare %s at %d conns", signedDur(worst), at),
			met:  worst <= float64(wantP99Over),
			by:   fmt.Sprintf("by %.2f ms", (worst-float64(wantP99Over))/1e6)})
	}

	// new upstream connections in any one run, beyond the client connections
	for _, t := range gateways {
		worst := int64(-1 << 62)
		var got []string
		for _, n := range r.o.Conns {
			c := r.summarize(t.name, n)
			worst = max(worst, c.maxUp-int64(n))
			got = append(got, fmt.Sprintf("%d at %d", c.maxUp, n))
		}
		cs = append(cs, check{what: t.name + " new upstream conns in a run, most",
			want: fmt.Sprintf("≤ client conns + %d", wantUpExtra),
			got:  strings.Join(got, ", "),
			met:  worst <= wantUpExtra,
			by:   fmt.Sprintf("by %d", worst-wantUpExtra)})
	}

	// memory idle, and under load against idle
	for _, t := range gateways {
		cs = append(cs, check{what: t.name + " idle RSS", want: "< " + mb(wantIdleRSS),
			got: mb(t.idle.rss), met: t.idle.rss < wantIdleRSS,
			by: "by " + mb(t.idle.rss-wantIdleRSS)})
	}
	for _, t := range gateways {
		x := float64(r.maxPeak(t.name)) / float64(t.idle.rss)
		cs = append(cs, check{what: t.name + " peak RSS under load",
			want: fmt.Sprintf("≤ %.0f× idle", wantLoadRSS), got: fmt.Sprintf("%.2f× idle", x),
			met: x <= wantLoadRSS, by: fmt.Sprintf("by %.2f×", x-wantLoadRSS)})
	}

	cs = append(cs, r.sessionsCheck())
	return append(cs, r.floodChecks()...)
}

// sessionsCheck is the memory of the gateway with wantSessions live sessions.
func (r *results) sessionsCheck() check {
	c := check{what: fmt.Sprintf("RSS with %s sessions (memory store)",
		thousands(wantSessions)),
		want: "< " + mb(wantSessionsRSS), skipped: true}
	s := r.sessions
	if s == nil {
		return c
	}
	c.got = fmt.Sprintf("%s with %s in use (%s right after signing them in)",
		mb(s.inUse.rss), thousands(s.n), mb(s.after.rss))
	if s.n < wantSessions {
		return c
	}
	c.skipped = false
	c.met = s.inUse.rss < wantSessionsRSS
	c.by = "by " + mb(s.inUse.rss-wantSessionsRSS)
	return c
}

// floodChecks are the signed-in load and a real sign-in under the login flood.
func (r *results) floodChecks() []check {
	ratio := check{what: "signed-in req/s under login flood",
		want: fmt.Sprintf("≥ %.2f× without", wantFloodRatio), skipped: true}
	signIn := check{
		what: "real sign-in during login flood, from a browser used before, slowest",
		want: "< " + secs(wantSignIn), skipped: true}
	sameAddr := check{
		what: "the same from a new browser at an address signed in from before, slowest",
		want: "< " + secs(wantSignIn), skipped: true}
	newAddr := check{
		what: "the same from a new browser at a new address, slowest",
		want: "< " + secs(wantSignIn), skipped: true}
	f := r.flood
	if f == nil {
		return []check{ratio, signIn, sameAddr, newAddr}
	}
	var xs []float64
	for _, fr := range f.rounds {
		xs = append(xs, fr.flood.rate/fr.base.rate)
	}
	x := median(xs)
	ratio.skipped = false
	ratio.got = fmt.Sprintf("%.2f×", x)
	ratio.met = x >= wantFloodRatio
	ratio.by = fmt.Sprintf("by %.2f×", wantFloodRatio-x)

	signIn.judge(f.known)
	sameAddr.judge(f.fresh)
	newAddr.judge(f.stranger)
	return []check{ratio, signIn, sameAddr, newAddr}
}

// judge fills c from sign-ins of one kind: met when every one returned a session, the
// slowest within wantSignIn.
func (c *check) judge(s signIns) {
	if len(s.times) == 0 && s.failed == 0 {
		return
	}
	worst := maxDur(s.times)
	c.skipped = false
	c.got = fmt.Sprintf("%s (median %s)", secs(worst), secs(medianDur(s.times)))
	c.met = worst < wantSignIn && s.failed == 0
	c.by = "by " + secs(worst-wantSignIn)
	if s.failed > 0 {
		c.by = fmt.Sprintf("%d sign-ins failed", s.failed)
	}
}

// missed lists the checks that were measured and missed.
func missed(cs []check) []check {
	var out []check
	for _, c := range cs {
		if !c.met && !c.skipped {
			out = append(out, c)
		}
	}
	return out
}
