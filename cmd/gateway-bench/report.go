package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

// results is everything one run measured, for the report.
type results struct {
	o        Options
	date     time.Time
	loader   string // which load generator ran
	version  string // what the gateway binary says it is
	list     []*target
	peers    []peer // the peers among list, in the same order
	samples  map[key][]sample
	sessions *sessionsResult // nil when not measured
	flood    *floodResult    // nil when not measured
	notes    []string
}

// The targets of README "Speed".
const (
	wantRatio       = 1.0 // memory and bolt against bare, req/s at the most connections
	wantRedisRatio  = 0.8 // redis against bare
	wantP99Over     = time.Millisecond
	wantUpExtra     = 4    // new upstream connections per run beyond client connections
	wantIdleRSS     = 20e6 // bytes
	wantLoadRSS     = 2.0  // peak under load against idle
	wantSessions    = 100000
	wantSessionsRSS = 100e6 // bytes, with wantSessions live sessions
	wantFloodRatio  = 0.7
	wantSignIn      = 2 * time.Second
)

// cell sums up the samples of one target at one connection count: medians over rounds.
type cell struct {
	rate, ratio, p50, p99, cpu, side, peak, up, errs, others float64

	maxUp   int64 // most new upstream connections in a run
	maxPeak int64 // highest peak RSS of a run
}

// summarize returns the cell of target name at conns.
func (r *results) summarize(name string, conns int) cell {
	var c cell
	var rate, ratio, p50, p99, cpu, side, peak, up, errs, others []float64
	for _, s := range r.samples[key{name, conns}] {
		rate = append(rate, s.rate)
		p50 = append(p50, float64(s.p50))
		p99 = append(p99, float64(s.p99))
		cpu = append(cpu, float64(s.cpuPerRequest()))
		side = append(side, float64(s.sideCPU)/float64(max(s.requests, 1)))
		peak = append(peak, float64(s.peak))
		up = append(up, float64(s.upConns))
		errs = append(errs, float64(s.errors))
		others = append(others, s.others)
		c.maxUp = max(c.maxUp, s.upConns)
		c.maxPeak = max(c.maxPeak, s.peak)
		for _, bs := range r.samples[key{nameBare, conns}] {
			if bs.round == s.round && bs.rate > 0 {
				ratio = append(ratio, s.rate/bs.rate)
			}
		}
	}
	c.rate, c.ratio, c.p50, c.p99 = median(rate), median(ratio), median(p50), median(p99)
	c.cpu, c.side, c.peak = median(cpu), median(side), median(peak)
	c.up, c.errs, c.others = median(up), median(errs), median(others)
	return c
}

// report renders r as a Markdown document.
func report(r *results) string {
	var b strings.Builder
	b.WriteString("# Gateway benchmark\n\n")
	fmt.Fprintf(&b, "- date: %s\n", r.date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s, %d cores, %s/%s\n", cpuModel(), runtime.NumCPU(),
		runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "- Go: %s\n", runtime.Version())
	fmt.Fprintf(&b, "- load generator: %s\n", r.loader)
	fmt.Fprintf(&b, "- gateway: %s, log level %s\n", r.version, r.o.GatewayLog)
	fmt.Fprintf(&b, "- command: `%s`\n", r.o.Command)
	var others []float64
	for _, ss := range r.samples {
		for _, s := range ss {
			others = append(others, s.others)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "- other load: processes other than the harness's used %.0f%% of "+
			"the machine's CPU time in the median run, %.0f%% at most\n",
			100*median(others), 100*slices.Max(others))
	}
	b.WriteString("\n")

	r.writeChecks(&b)
	r.writeLoad(&b)
	r.writePeers(&b)
	r.writeMemory(&b)
	r.writeSessions(&b)
	r.writeFlood(&b)
	r.writeMethod(&b)
	return b.String()
}

// writeChecks writes the targets of README "Speed", met or missed and by how much.
func (r *results) writeChecks(b *strings.Builder) {
	cs := r.checks()
	measured := 0
	for _, c := range cs {
		if !c.skipped {
			measured++
		}
	}
	miss := missed(cs)
	b.WriteString("## Targets\n\n")
	if r.o.Quick {
		b.WriteString("A smoke run (-quick): one short round shows that the harness works, " +
			"and says nothing of the targets. The verdicts below are not measurements.\n\n")
	}
	fmt.Fprintf(b, "Of the %d targets of README \"Speed\" measured, %d were "+
		"met", measured, measured-len(miss))
	if skipped := len(cs) - measured; skipped > 0 {
		fmt.Fprintf(b, " (%d not measured)", skipped)
	}
	if len(miss) == 0 {
		b.WriteString(".\n\n")
	} else {
		b.WriteString(". Missed:\n\n")
		for _, c := range miss {
			fmt.Fprintf(b, "- %s: %s, wanted %s; missed %s\n", c.what, c.got, c.want, c.by)
		}
		b.WriteString("\n")
	}
	b.WriteString("| target | wanted | measured | result |\n|---|---|---|---|\n")
	for _, c := range cs {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", c.what, c.want, c.got, c.result())
	}
}

// writeLoad writes the table of throughput, latency and cost.
func (r *results) writeLoad(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Signed-in load\n\nMedians over %d rounds of %v per target and "+
		"connection count.\n\n", r.o.Rounds, r.runTime())
	b.WriteString("| target | conns | req/s | vs bare | p50 | p99 | p99 − bare | CPU/req " +
		"| peak RSS | new upstream conns | errors | other load |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, n := range r.o.Conns {
		bare := r.summarize(nameBare, n)
		for _, t := range r.list {
			c := r.summarize(t.name, n)
			over := "—"
			if t.name != nameBare {
				over = signedDur(c.p99 - bare.p99)
			}
			fmt.Fprintf(b, "| %s | %d | %.0f | %.2f× | %s | %s | %s | %s | %s | %.0f | "+
				"%.0f | %.0f%% |\n", t.name, n, c.rate, c.ratio, dur(c.p50), dur(c.p99),
				over, dur(c.cpu), mb(int64(c.peak)), c.up, c.errs, 100*c.others)
		}
	}
	for _, t := range r.list {
		if t.side == nil {
			continue
		}
		var parts []string
		for _, n := range r.o.Conns {
			parts = append(parts, fmt.Sprintf("%s at %d", dur(r.summarize(t.name, n).side), n))
		}
		fmt.Fprintf(b, "\nEach request of %s also cost %s CPU time, not counted in its "+
			"CPU/req: %s connections.\n", t.name, t.side.name, strings.Join(parts, ", "))
	}
}

// writePeers writes how each peer ran and how it compares with the bare proxy and the
// gateway at the most connections.
func (r *results) writePeers(b *strings.Builder) {
	if len(r.peers) == 0 {
		return
	}
	top := slices.Max(r.o.Conns)
	gw := r.summarize("gateway-memory", top)
	b.WriteString("\n## Peers\n\nOther proxies, measured in the same rounds under the " +
		"same load, each in front of a listener of the same upstream. Their CPU time and " +
		"memory are summed over all their processes.\n\n")
	fmt.Fprintf(b, "| peer | release | how it runs | req/s at %d conns | vs bare | "+
		"gateway-memory vs it | p99 | CPU/req | new upstream conns, most |\n", top)
	b.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range r.peers {
		c := r.summarize(p.name, top)
		vs := "—"
		if c.rate > 0 && gw.rate > 0 {
			vs = fmt.Sprintf("%.2f×", gw.rate/c.rate)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.0f | %.2f× | %s | %s | %s | %d |\n", p.name,
			p.version, p.what(), c.rate, c.ratio, vs, dur(c.p99), dur(c.cpu), c.maxUp)
	}
}

// writeMemory writes the resident memory of each target, idle and under load.
func (r *results) writeMemory(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Memory\n\nIdle is VmRSS %v after the process started "+
		"listening, before any request; the gateways' users have argon2id hashes of the "+
		"default cost, which the gateway checks once at start. Under load is the "+
		"highest VmHWM of any run.\n\n", settleTime)
	b.WriteString("| target | idle RSS | peak RSS under load | × idle |\n")
	b.WriteString("|---|--:|--:|--:|\n")
	for _, t := range r.list {
		peak := r.maxPeak(t.name)
		fmt.Fprintf(b, "| %s | %s | %s | %.2f× |\n", t.name, mb(t.idle.rss), mb(peak),
			float64(peak)/float64(t.idle.rss))
	}
}

// maxPeak returns the highest peak RSS of any run of target name.
func (r *results) maxPeak(name string) int64 {
	var p int64
	for _, n := range r.o.Conns {
		p = max(p, r.summarize(name, n).maxPeak)
	}
	return p
}

// writeSessions writes the memory of the gateway holding many sessions.
func (r *results) writeSessions(b *strings.Builder) {
	s := r.sessions
	if s == nil {
		b.WriteString("\n## Live sessions\n\nNot measured (-sessions 0).\n")
		return
	}
	fmt.Fprintf(b, "\n## %s live sessions\n\n", thousands(s.n))
	fmt.Fprintf(b, "A gateway on the memory store, signed in %s times, %d at a time, each "+
		"time as a new browser (sign-in page, then the form), in %.1f s (%.0f sign-ins/s). "+
		"Its throttle allows 50 failures per address, user and pair instead of 20, 10 and "+
		"5: attempts in flight count as failures until they succeed, so %[2]d at once as "+
		"one user from one address would pass the default 5 and some would get 429. "+
		"Its resident memory:\n\n", thousands(s.n), sessionWorkers, s.elapsed.Seconds(),
		float64(s.n)/s.elapsed.Seconds())
	b.WriteString("| | RSS | peak RSS |\n|---|--:|--:|\n")
	fmt.Fprintf(b, "| idle, no session | %s | %s |\n", mb(s.idle.rss), mb(s.idle.peak))
	fmt.Fprintf(b, "| %s sessions, right after the last sign-in | %s | %s |\n",
		thousands(s.n), mb(s.after.rss), mb(s.after.peak))
	fmt.Fprintf(b, "| %s sessions, after %v of signed-in load at %d connections | %s | %s |\n",
		thousands(s.n), r.runTime(), r.o.FloodLoadConns, mb(s.inUse.rss), mb(s.inUse.peak))
	fmt.Fprintf(b, "\nRight after the sign-ins, the heap still holds their garbage; the load "+
		"that follows lets the collector run. In use, that is %.0f bytes of RSS per "+
		"session over idle.", float64(s.inUse.rss-s.idle.rss)/float64(max(s.n, 1)))
	if s.failed > 0 {
		fmt.Fprintf(b, " %d sign-ins failed; the first: %v.", s.failed, s.firstErr)
	}
	b.WriteString("\n")
}

// writeFlood writes the login flood's rounds and the real user's sign-ins.
func (r *results) writeFlood(b *strings.Builder) {
	f := r.flood
	if f == nil {
		b.WriteString("\n## Login flood\n\nNot measured (-flood-rounds 0).\n")
		return
	}
	fmt.Fprintf(b, "\n## Login flood\n\nA gateway on the memory store whose users have "+
		"argon2id hashes at the default cost (%s). Each round measures the signed-in load "+
		"at %d connections alone, then again while %d clients post wrong passwords without "+
		"pause. Each wrong attempt is for a user name that does not exist, from an "+
		"X-Forwarded-For address of %s used once%s (the gateway trusts 127.0.0.1 as a "+
		"proxy), so that the throttle, which counts per address and per name, lets every "+
		"one through to a full check against a dummy hash of the users' cost: the most "+
		"work a flood can make. Meanwhile a real user signs in again "+
		"and again from %s: in turn from a browser it signed in with before the flood, "+
		"which carries the gateway's device cookie, from a browser never used before, "+
		"and from a browser never used before at an address never used before "+
		"(192.0.2.100 on).\n\n", argonString(),
		r.o.FloodLoadConns, r.o.FloodConns, floodNet, spreadNote(r.o.FloodSpread),
		realUserAddr)
	b.WriteString("| round | req/s alone | req/s under flood | ratio | passwords checked/s " +
		"| refused (429) | other |\n|--:|--:|--:|--:|--:|--:|--:|\n")
	for i, fr := range f.rounds {
		fmt.Fprintf(b, "| %d | %.0f | %.0f | %.2f× | %.0f | %d | %d |\n", i+1, fr.base.rate,
			fr.flood.rate, fr.flood.rate/fr.base.rate, float64(fr.checked)/fr.span.Seconds(),
			fr.refused, fr.other)
	}
	b.WriteString("\nDuring the floods, the real user signed in")
	for i, k := range []struct {
		what string
		s    signIns
	}{{"from the browser it had used before", f.known},
		{"from a browser never used before", f.fresh},
		{"from a browser and an address never used before", f.stranger}} {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(b, " %s %d times: median %s, max %s", k.what, len(k.s.times),
			secs(medianDur(k.s.times)), secs(maxDur(k.s.times)))
		if k.s.failed > 0 {
			fmt.Fprintf(b, " (%d sign-ins failed)", k.s.failed)
		}
	}
	fmt.Fprintf(b, ". The gateway's RSS went from %s idle to a peak of %s.\n",
		mb(f.idle.rss), mb(f.peak))
}

// writeMethod says how the numbers were taken, and what was left out.
func (r *results) writeMethod(b *strings.Builder) {
	b.WriteString("\n## How it was measured\n\n")
	b.WriteString("Every server runs in its own process on 127.0.0.1: the upstream (one " +
		"listener per target, counting the connections it accepts), the bare " +
		"`httputil.ReverseProxy` (the floor: a stock proxy whose transport keeps 256 idle " +
		"connections), `bare-pooled` (the same with pooled copy buffers, as the gateway's " +
		"routes have; for reference, ratios are to the floor) and one gateway process per " +
		"session store, " +
		"each signed in once; redis-server for the redis store. The load generator runs " +
		"apart from them, and all of them share the machine's cores; nothing is pinned. " +
		"Within a round every target is measured at each connection count in turn, the " +
		"order of the targets rotating from round to round. `vs bare` is the median of " +
		"the per-round ratios to the bare proxy's req/s. CPU/req is the target process's " +
		"utime+stime from /proc/PID/stat (10 ms ticks) over the run, divided by its " +
		"requests. Peak RSS is VmHWM from /proc/PID/status, reset before each run " +
		"through /proc/PID/clear_refs. New upstream connections are those the " +
		"upstream accepted from the target during one run. A proxy that reuses its " +
		"connections opens at most one per client connection in a run, and none once " +
		"its pool is full, unless it closes the upstream connection of a request whose " +
		"client gave up (wrk stops with requests in flight) or its pool sat idle past " +
		"its idle timeout. Errors are answers other than 200, " +
		"and transport errors. " +
		"Other load is the share of the machine's CPU time (/proc/stat) that processes " +
		"other than the harness's own used during a run: work of others on a shared " +
		"machine, which the numbers beside it suffered.\n")
	b.WriteString("\nThe bare proxy and the upstream run in the harness's own binary, " +
		"which links the gateway's packages, so the bare proxy's idle RSS is more than a " +
		"minimal proxy's. The gateways run the gateway binary (or, with -gateway self, " +
		"the harness binary in a role that calls server.Run, as `gateway run` does).\n")
	for _, n := range r.notes {
		fmt.Fprintf(b, "\n%s\n", n)
	}
}

// runTime is how long each load run lasted: wrk rounds up to whole seconds.
func (r *results) runTime() time.Duration {
	if strings.HasPrefix(r.loader, "wrk") {
		return time.Duration(wrkSeconds(r.o.Duration)) * time.Second
	}
	return r.o.Duration
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// argonString describes the default argon2id parameters.
func argonString() string {
	p := password.DefaultArgon2
	return fmt.Sprintf("m=%d KiB, t=%d, p=%d", p.Memory, p.Time, p.Threads)
}

// median returns the median of xs, or 0 when xs is empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// medianDur returns the median of ds, or 0 when ds is empty.
func medianDur(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}

// maxDur returns the largest of ds, or 0 when ds is empty.
func maxDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}

// dur formats a number of nanoseconds in microseconds, or milliseconds from 10 ms.
func dur(ns float64) string {
	if ns >= 10e6 || ns <= -10e6 {
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
	return fmt.Sprintf("%.0f µs", ns/1e3)
}

// signedDur formats a difference of nanoseconds with its sign, in milliseconds.
func signedDur(ns float64) string { return fmt.Sprintf("%+.2f ms", ns/1e6) }

// secs formats d in seconds.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// cpuModel returns the first "model name" of /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// spreadNote says how the flood's addresses are spread over networks.
func spreadNote(spread bool) string {
	if spread {
		return ", each in another /24 network than the 511 before it (-flood-spread)"
	}
	return ", the next address each time, so that a /24 network sends 256 in a row"
}
