// Command gateway-bench measures what the gateway costs on top of a bare reverse proxy.
//
// In one process it starts a small upstream, a bare httputil.ReverseProxy in front of
// it (the floor), and the gateway in front of it with the memory and with the bolt
// session store, all on 127.0.0.1. A built-in load generator then drives each target
// with a signed-in session at 1, 16 and 64 keep-alive connections, rotating the order
// of the targets every round, and writes a Markdown table of the medians over rounds.
//
// Usage:
//
//	go run ./cmd/gateway-bench [-duration 5s] [-rounds 3] [-out examples/bench/results.md]
//
// The load generator shares the process and its CPUs with the servers it measures, so
// the numbers compare targets with each other; they are not the gateway's capacity.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

// Options configures run.
type Options struct {
	// Duration is how long each measurement lasts.
	Duration time.Duration
	// Rounds is how many times every target is measured at every connection count.
	Rounds int
	// Conns lists the connection counts to measure.
	Conns []int
	// Out is the Markdown file to write. Empty means only print the table.
	Out string
}

func main() {
	var o Options
	flag.DurationVar(&o.Duration, "duration", 5*time.Second, "length of each measurement")
	flag.IntVar(&o.Rounds, "rounds", 3, "rounds over all targets and connection counts")
	flag.StringVar(&o.Out, "out", "examples/bench/results.md", "Markdown file to write")
	flag.Parse()
	o.Conns = []int{1, 16, 64}
	if o.Duration <= 0 || o.Rounds < 1 {
		fmt.Fprintln(os.Stderr, "gateway-bench: -duration and -rounds must be positive")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "gateway-bench:", err)
		os.Exit(1)
	}
}

// run starts the targets, measures them and writes the report.
func run(ctx context.Context, o Options) error {
	ts, err := startTargets(ctx)
	if err != nil {
		return err
	}
	defer ts.close()

	samples, err := measure(ctx, o, ts.list)
	if err != nil {
		return err
	}
	table := report(o, ts.list, samples)
	fmt.Print(table)
	if o.Out == "" {
		return nil
	}
	if err := os.WriteFile(o.Out, []byte(table), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}
