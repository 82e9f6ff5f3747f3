// Command quickstart runs the gateway from gateway.yaml in front of the sample legacy app,
// both in one process, so the gateway can be tried with nothing else to start:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -listen 127.0.0.1:8081   # when 8080 is taken
//
// It is for trying the gateway out; a production setup runs the gateway binary alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/examples/legacyapp"
	"github.com/frontgate/gateway/proxy/server"
)

func main() {
	path := flag.String("config", "gateway.yaml", "gateway config `file`")
	listen := flag.String("listen", "", "`address` the gateway listens on, in place of "+
		"the config's listen")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *path, *listen); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, path, listen string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	var gw net.Listener
	if listen != "" {
		if gw, err = net.Listen("tcp", listen); err != nil {
			return fmt.Errorf("listening on %s: %w", listen, err)
		}
	}
	// The sample app listens where the config's first route sends requests.
	up := cfg.Routes[0].UpstreamURL
	ln, err := net.Listen("tcp", up.Host)
	if err != nil {
		return fmt.Errorf("starting the sample app on %s: %w", up.Host, err)
	}
	app := &http.Server{
		Handler:           legacyapp.Handler(cfg.IdentityHeaders.User),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go app.Serve(ln)
	defer app.Close()

	err = server.Run(ctx, server.Options{
		ConfigPath: path,
		Listener:   gw,
		Ready: func(addr net.Addr) {
			if len(cfg.TrustedProxies) > 0 {
				// behind a front proxy, browsers go to the proxy, not here
				fmt.Printf("\nThe gateway is in front of the sample app, listening on %s "+
					"for the front proxy its config trusts.\nOpen the address that proxy "+
					"serves, and sign in as demo with the password demo-password.\n"+
					"Press Ctrl-C to stop.\n\n", addr)
				return
			}
			fmt.Printf("\nThe gateway is in front of the sample app.\n"+
				"Open http://%s/ and sign in as demo with the password demo-password.\n"+
				"Press Ctrl-C to stop.\n\n", addr)
		},
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
