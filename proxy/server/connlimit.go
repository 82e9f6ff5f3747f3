package server

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/connlimit"
	"github.com/frontgate/gateway/proxy/logthin"
)

// refusalLogEvery is the least time between two log records of connections refused for
// their client's count: a client opening connections in a loop would otherwise write
// one for each.
const refusalLogEvery = 10 * time.Second

// connPolicy is the connection limit cfg sets.
func connPolicy(cfg *config.Config) connlimit.Policy {
	return connlimit.Policy{Max: cfg.Limits.ClientConnections, Exempt: cfg.Trusted}
}

// refusals counts, and logs, the connections closed for their client's count, and the
// HTTP/2 requests refused for it.
type refusals struct {
	lg       *slog.Logger
	counter  prometheus.Counter // connections
	requests prometheus.Counter
	thin     logthin.Thinner
}

func newRefusals(lg *slog.Logger, reg prometheus.Registerer) *refusals {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gateway_connections_refused_total",
		Help: "Connections closed as soon as they were accepted, their client holding " +
			"limits.client_connections already.",
	})
	rc := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gateway_requests_refused_total",
		Help: "HTTP/2 requests answered 429 at once, their client having " +
			"limits.client_connections of them in flight already.",
	})
	reg.MustRegister(c, rc)
	return &refusals{lg: lg, counter: c, requests: rc,
		thin: logthin.Thinner{Every: refusalLogEvery}}
}

// refused records r.
func (f *refusals) refused(r connlimit.Refusal) {
	if r.Request {
		f.requests.Inc()
	} else {
		f.counter.Inc()
	}
	n, ok := f.thin.Allow()
	if !ok {
		return
	}
	msg := "connection refused: its client holds the most connections it may"
	if r.Request {
		msg = "HTTP/2 request refused: its client has the most requests in flight it may"
	}
	f.lg.Warn(msg, "client_ip", r.Client.String(), "open", r.Open, "limit", r.Max,
		"refused_since_last_record", n)
}

// limitConns returns a Limiter of the connections each client holds, over all the
// gateway's listeners, to cfg's limit, and has reloads apply theirs.
func (g *gateway) limitConns(cfg *config.Config, f *refusals) *connlimit.Limiter {
	l := connlimit.New(connPolicy(cfg), f.refused)
	g.mu.Lock()
	g.limiter = l
	g.mu.Unlock()
	return l
}
