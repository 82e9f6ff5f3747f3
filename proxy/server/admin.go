package server

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// adminHandler serves /metrics, /healthz (the process is up) and /readyz (the config
// is loaded, which it is once this runs, the session store answers, and with TLS on,
// HTTPS has a certificate to serve), and with withPprof Go's profiles under
// /debug/pprof/.
func adminHandler(reg *prometheus.Registry, g *gateway, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	if withPprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := g.handler().Ready(ctx)
		if f := g.tlsReady.Load(); err == nil && f != nil {
			err = (*f)()
		}
		if err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	return loopbackOnly(mux)
}

// loopbackOnly refuses requests whose Host is not a loopback address or "localhost".
// The admin listener is on loopback, but a web page a browser on the same machine
// loads could still reach it under a name of its own that resolves there (DNS
// rebinding) and read the answers; such a request names that other host.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
		if !strings.EqualFold(host, "localhost") && (err != nil || !ip.IsLoopback()) {
			http.Error(w, "the admin listener answers only for loopback addresses",
				http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// newRegistry returns a registry with the Go and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Limits of the admin listener. Anyone on the machine can connect to it, and its
// connections count toward the process's open files as the gateway's own do: they are
// few, and those left idle are closed, so that nobody can run the gateway out of files
// through it. Monitoring needs a handful; a connection past the limit waits its turn.
var (
	adminMaxConns    = 64
	adminIdleTimeout = time.Minute
)

// serveAdmin starts the admin listener on addr; the returned function stops it. A name
// in addr that resolves to an address other than loopback is refused: the listener is
// for this machine alone.
func serveAdmin(addr string, h http.Handler, lg *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("%s is %s, not a loopback address", addr, ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: adminIdleTimeout, ErrorLog: log.New(serverLog{lg}, "", 0)}
	go srv.Serve(netutil.LimitListener(ln, adminMaxConns))
	lg.Info("admin listener started", "listen", ln.Addr().String())
	return func() { srv.Close() }, nil
}
