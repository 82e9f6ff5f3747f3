package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report renders the medians over rounds as a Markdown document.
func report(o Options, list []*target, samples map[key][]sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Gateway benchmark\n\n")
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- go version: go version %s %s/%s\n", runtime.Version(), runtime.GOOS,
		runtime.GOARCH)
	fmt.Fprintf(&b, "- GOMAXPROCS: %d (NumCPU %d)\n", runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintf(&b, "- CPU: %s\n", cpuModel())
	fmt.Fprintf(&b, "- run: `go run ./cmd/gateway-bench -duration %v -rounds %d`\n\n",
		o.Duration, o.Rounds)

	b.WriteString("Each cell is the median over rounds. `vs bare` is the median of the per-round\n" +
		"ratio of the target's req/s to the bare proxy's at the same connection count.\n" +
		"CPU/req is the whole process's user+system CPU (load generator, proxy and\n" +
		"upstream together, all in this process) divided by requests. `up conns` is the\n" +
		"number of new connections the target opened to its upstream during one run.\n\n")
	b.WriteString("| target | conns | req/s | vs bare | p50 | p99 | CPU/req | up conns | errors |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, n := range o.Conns {
		bare := samples[key{"bare", n}]
		for _, t := range list {
			ss := samples[key{t.name, n}]
			var rps, ratio, p50, p99, cpu, up, errs []float64
			for _, s := range ss {
				rps = append(rps, s.rps())
				p50 = append(p50, float64(s.p50))
				p99 = append(p99, float64(s.p99))
				cpu = append(cpu, float64(s.cpu)/float64(s.requests))
				up = append(up, float64(s.upConns))
				errs = append(errs, float64(s.errors))
				for _, bs := range bare {
					if bs.round == s.round {
						ratio = append(ratio, s.rps()/bs.rps())
					}
				}
			}
			fmt.Fprintf(&b, "| %s | %d | %.0f | %.2f | %s | %s | %s | %.0f | %.0f |\n",
				t.name, n, median(rps), median(ratio), dur(median(p50)), dur(median(p99)),
				dur(median(cpu)), median(up), median(errs))
		}
	}
	b.WriteString("\nNew upstream connections over the whole run, sign-in included:")
	for i, t := range list {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %s %d", sep, t.name, t.accept.Load())
	}
	b.WriteString(".\n")
	b.WriteString("\nNot measured: the Redis store, resident memory, and an external load\n" +
		"generator such as wrk (not installed); the load generator competes with the\n" +
		"servers for the same cores, so compare rows rather than read them as capacity.\n")
	return b.String()
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

// dur formats a number of nanoseconds in microseconds, or milliseconds from 10 ms.
func dur(ns float64) string {
	if ns >= 10e6 {
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
	return fmt.Sprintf("%.0f µs", ns/1e3)
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}
