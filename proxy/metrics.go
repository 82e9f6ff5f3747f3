package proxy

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what a Handler does, for Prometheus. A nil *Metrics counts nothing.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	upstream  *prometheus.CounterVec
	signIns   *prometheus.CounterVec
	throttles *prometheus.CounterVec
}

// NewMetrics registers the gateway's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_total",
			Help: "Requests answered, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_request_duration_seconds",
			Help:    "Time to answer a request, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_errors_total",
			Help: "Requests an upstream could not answer, by route.",
		}, []string{"route"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_sign_ins_total",
			Help: "Sign-in attempts, by result: success, failure or throttled.",
		}, []string{"result"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_throttles_total",
			Help: "Sign-in attempts refused by the throttle, by the limit that refused them.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.upstream, m.signIns, m.throttles)
	return m
}

func (m *Metrics) request(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

func (m *Metrics) upstreamError(route string) {
	if m != nil {
		m.upstream.WithLabelValues(route).Inc()
	}
}

// audit counts an audit record's event.
func (m *Metrics) audit(msg, reason string) {
	if m == nil {
		return
	}
	switch msg {
	case "sign-in":
		m.signIns.WithLabelValues("success").Inc()
	case "sign-in failed":
		m.signIns.WithLabelValues("failure").Inc()
	case "sign-in throttled":
		m.signIns.WithLabelValues("throttled").Inc()
		m.throttles.WithLabelValues(reason).Inc()
	}
}
