// Command gateway-bench measures what the gateway costs on top of a bare reverse proxy.
//
// In one run on one machine it starts, each in its own process on 127.0.0.1, a small
// upstream, a bare httputil.ReverseProxy in front of it (the floor), and the gateway in
// front of it on the memory, bolt and redis session stores (redis with a redis-server
// of its own, when one is installed), each signed in once, and beside them such peers
// as are installed: nginx and Caddy, which pass requests on without a sign-in, and
// oauth2-proxy, signed in once as the gateway is. It then drives each target
// with the same signed-in keep-alive load at 1, 16 and 64 connections, interleaved over
// rounds whose order rotates, with wrk when it is on PATH and a built-in Go load
// generator otherwise. From /proc it reads each server's CPU time and resident memory,
// and from the upstream the connections each target opened.
//
// Then it fills a gateway's memory store with 100,000 sessions and reads its memory, and
// floods a gateway with wrong-password sign-ins while measuring the signed-in load and
// the time a real user takes to sign in. It writes a Markdown report of the medians and
// of which targets of README "Speed" were met.
//
// Usage:
//
//	go run ./cmd/gateway-bench [-duration 3s] [-rounds 5] [-out examples/bench/results.md]
//	go run ./cmd/gateway-bench -quick -out ''    # a smoke run of half a minute
//
// The gateway is built from ./cmd/gateway with go build, so run it from the module.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/cmd/internal/shell"
)

// gatewaySelf as Options.Gateway runs this binary's copy of server.Run, the code
// `gateway run` runs, instead of a gateway binary.
const gatewaySelf = "self"

// Options configures run.
type Options struct {
	// Quick marks a smoke run, whose verdicts mean nothing.
	Quick bool
	// Duration is how long each load run lasts; wrk rounds it up to whole seconds.
	Duration time.Duration
	// Rounds is how many times every target is measured at every connection count.
	Rounds int
	// Conns lists the connection counts to measure.
	Conns []int
	// Out is the Markdown file to write. Empty means only print the report.
	Out string
	// Load is the load generator: "wrk", "builtin", or "auto" for wrk when on PATH.
	Load string
	// Gateway is the gateway binary to run; empty means build ./cmd/gateway with
	// go build, and gatewaySelf means run this binary in the gateway role.
	Gateway string
	// GatewayLog is the gateways' log level. At "info", the gateway's default, they log
	// every request.
	GatewayLog string
	// Peers lists the other proxies to measure beside the gateway: "auto" for each of
	// nginx, Caddy and oauth2-proxy that is installed, "none", or a comma-separated list
	// of those names, each of which must be installed.
	Peers string
	// Redis is the redis-server to run for the redis store, looked up on PATH. Empty,
	// or not installed, leaves the redis store out.
	Redis string
	// Sessions is how many sessions to fill the memory store with; 0 skips it.
	Sessions int
	// FloodRounds is how many rounds of the login flood to measure; 0 skips it.
	FloodRounds int
	// FloodConns is how many clients post wrong passwords at once during the flood.
	FloodConns int
	// FloodSpread sends each wrong attempt from another /24 network, as a botnet with
	// hundreds of networks would, rather than from the next address of floodNet.
	FloodSpread bool
	// FloodLoadConns is how many connections carry the signed-in load that is measured
	// with and without the flood.
	FloodLoadConns int
	// Command is how the run was started, for the report.
	Command string
}

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "gateway-bench:", err)
		os.Exit(1)
	}
}

// parseFlags returns the Options args ask for.
func parseFlags(args []string) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("gateway-bench", flag.ContinueOnError)
	fs.DurationVar(&o.Duration, "duration", 3*time.Second, "length of each load run")
	fs.IntVar(&o.Rounds, "rounds", 5, "rounds over all targets and connection counts")
	conns := fs.String("conns", "1,16,64", "connection counts, comma-separated")
	fs.StringVar(&o.Out, "out", "examples/bench/results.md", "Markdown file to write, "+
		"or empty")
	fs.StringVar(&o.Load, "load", "auto", "load generator: wrk, builtin, or auto")
	fs.StringVar(&o.Gateway, "gateway", "", "gateway binary to run; empty builds "+
		"./cmd/gateway, \"self\" runs server.Run in this binary")
	fs.StringVar(&o.GatewayLog, "gateway-log", "info",
		"the gateways' log level; info, the default, logs every request")
	fs.StringVar(&o.Peers, "peers", "auto", "other proxies to measure: auto (each of "+
		"nginx, caddy and oauth2-proxy found), none, or a comma-separated list")
	fs.StringVar(&o.Redis, "redis-server", "redis-server", "redis-server to run, or "+
		"empty to leave the redis store out")
	fs.IntVar(&o.Sessions, "sessions", 100000, "sessions to fill the memory store with, "+
		"or 0")
	fs.IntVar(&o.FloodRounds, "flood-rounds", 5, "rounds of the login flood, or 0")
	fs.IntVar(&o.FloodConns, "flood-conns", 50, "concurrent wrong-password sign-ins")
	fs.BoolVar(&o.FloodSpread, "flood-spread", false, "send each wrong sign-in from "+
		"another /24 network, not from the next address")
	fs.IntVar(&o.FloodLoadConns, "flood-load-conns", 16, "signed-in connections "+
		"measured under the flood")
	quick := fs.Bool("quick", false, "smoke run: 1 round of 300ms (1s with wrk), 200 sessions, "+
		"1 flood round, unless set otherwise")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	set := make(map[string]bool)
	var cmd []string
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		cmd = append(cmd, "-"+f.Name+"="+shell.Quote(f.Value.String()))
	})
	o.Command = strings.Join(append([]string{"go run ./cmd/gateway-bench"}, cmd...), " ")
	o.Quick = *quick
	if *quick {
		setDefault(set["duration"], &o.Duration, 300*time.Millisecond)
		setDefault(set["rounds"], &o.Rounds, 1)
		setDefault(set["sessions"], &o.Sessions, 200)
		setDefault(set["flood-rounds"], &o.FloodRounds, 1)
	}

	for _, s := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-conns: %q is not a positive number", s)
		}
		o.Conns = append(o.Conns, n)
	}
	if o.Duration <= 0 || o.Rounds < 1 || o.Sessions < 0 || o.FloodRounds < 0 ||
		o.FloodConns < 1 || o.FloodLoadConns < 1 {
		return o, fmt.Errorf("-duration, -rounds, -flood-conns and -flood-load-conns " +
			"must be positive; -sessions and -flood-rounds may be 0")
	}
	return o, nil
}

// setDefault sets *p to v unless the flag behind it was set.
func setDefault[T any](set bool, p *T, v T) {
	if !set {
		*p = v
	}
}

// run starts the servers, measures them and writes the report.
func run(ctx context.Context, o Options) error {
	ld, err := newLoader(ctx, o.Load)
	if err != nil {
		return err
	}
	b, err := startBench(ctx, o)
	if err != nil {
		return err
	}
	defer b.close()
	res := &results{o: b.o, date: time.Now(), loader: ld.name(), version: b.version}

	// the targets under load: the bare proxy, the same with pooled buffers, then a
	// gateway per store
	for _, pooled := range []bool{false, true} {
		bare, err := b.startBare(ctx, pooled)
		if err != nil {
			return err
		}
		res.list = append(res.list, bare)
	}
	for _, store := range b.stores() {
		t, err := b.startGateway(ctx, gatewaySpec{name: "gateway-" + store, store: store,
			users: map[string]string{benchUser: benchPassword}, hash: password.DefaultArgon2})
		if err != nil {
			return err
		}
		res.list = append(res.list, t)
	}
	for _, p := range b.peers {
		t, err := b.startPeer(ctx, p)
		if err != nil {
			return err
		}
		res.list = append(res.list, t)
	}
	res.peers = b.peers
	if res.samples, err = b.measure(ctx, ld, res.list); err != nil {
		return err
	}
	for _, t := range res.list {
		t.proc.stop()
	}

	if o.Sessions > 0 {
		if res.sessions, err = b.measureSessions(ctx, ld); err != nil {
			return err
		}
	}
	if o.FloodRounds > 0 {
		if res.flood, err = b.measureFlood(ctx, ld); err != nil {
			return err
		}
	}
	res.notes = b.notes

	doc := report(res)
	fmt.Print("\n", doc)
	if o.Out == "" {
		return nil
	}
	if err := os.WriteFile(o.Out, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	fmt.Println("wrote", o.Out)
	return nil
}
