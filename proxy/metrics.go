package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/throttle"
)

// Metrics counts what a Handler does, for Prometheus. A nil *Metrics counts nothing.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	upstream  *prometheus.CounterVec
	signIns   *prometheus.CounterVec
	throttles *prometheus.CounterVec
	checks    *prometheus.CounterVec
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
			Help: "Sign-in attempts, by result: success, failure, throttled, or " +
				"unavailable (the session store failed).",
		}, []string{"result"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_throttles_total",
			Help: "Sign-in attempts refused by the throttle, by the limit that refused them.",
		}, []string{"reason"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_password_checks_total",
			Help: "Password checks of sign-ins, by the queue they waited in while others " +
				"waited too: known, quiet or stranger.",
		}, []string{"queue"}),
	}
	reg.MustRegister(m.requests, m.duration, m.upstream, m.signIns, m.throttles, m.checks)
	// Counters that exist from the start read as zero rather than absent, so that a rate
	// or an alert on them works before the first event.
	for _, r := range []string{"success", "failure", "throttled", "unavailable"} {
		m.signIns.WithLabelValues(r)
	}
	for _, r := range throttleReasons {
		m.throttles.WithLabelValues(r)
	}
	for _, p := range []authn.Priority{authn.Known, authn.Quiet, authn.Stranger} {
		m.checks.WithLabelValues(p.String())
	}
	return m
}

// throttleReasons are the reasons a sign-in is throttled for, as the audit records and
// gateway_throttles_total give them: the limit, and the step or kind of sign-in.
var throttleReasons = []string{
	string(throttle.ByAddress), string(throttle.ByUserAddress), string(throttle.ByUser),
	string(throttle.ByAddress) + ", code", string(throttle.ByUserAddress) + ", code",
	"wrong codes, code",
	string(throttle.ByAddress) + ", basic", string(throttle.ByUserAddress) + ", basic",
	string(throttle.ByUser) + ", basic", reasonBusy,
}

// routes makes the upstream errors of each of names read as zero until the first.
func (m *Metrics) routes(names []string) {
	if m == nil {
		return
	}
	for _, n := range names {
		m.upstream.WithLabelValues(n)
	}
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

// passwordCheck counts a password check that waited in queue p.
func (m *Metrics) passwordCheck(p authn.Priority) {
	if m != nil {
		m.checks.WithLabelValues(p.String()).Inc()
	}
}

// signInUnavailable counts a sign-in that a failure of the session store stopped.
func (m *Metrics) signInUnavailable() {
	if m != nil {
		m.signIns.WithLabelValues("unavailable").Inc()
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

// LiveSessionsOptions configures NewLiveSessions. The zero value is ready to use.
type LiveSessionsOptions struct {
	// MaxAge is how long one count of the store serves scrapes before the store is
	// counted again, so that frequent scrapes, or several Prometheus servers, do not
	// each walk the store. Zero or less means the default. Default: 5 seconds.
	MaxAge time.Duration
	// Timeout bounds one count; a count that takes longer has failed. Zero or less
	// means the default. Default: 2 seconds.
	Timeout time.Duration
	// Margin leaves out of the count the sessions with no more than it left of their
	// ttl: the gateway's stores keep a session session.ExpiryGrace past its end.
	// Default: 0, every session stored.
	Margin time.Duration
	// Logger receives a record for each count that failed. Default: nil, which
	// discards them.
	Logger *slog.Logger
	// Now returns the current time, which ages the counts; tests set it to a clock
	// they move by hand. Default: time.Now.
	Now func() time.Time
}

// Defaults of LiveSessionsOptions.
const (
	defaultLiveSessionsMaxAge  = 5 * time.Second
	defaultLiveSessionsTimeout = 2 * time.Second
)

// NewLiveSessions returns a collector of two metrics for store: gateway_sessions_live,
// the sessions it counts as live, and gateway_sessions_count_errors_total, the counts
// that failed. A scrape reuses a count younger than o.MaxAge, and waits for a count
// under way rather than starting another, so a scrape never costs more than one count
// bounded by o.Timeout. After a failed count, scrapes leave gateway_sessions_live out
// until a count succeeds again: an old number would claim sessions the store may no
// longer hold. Register the collector once, with the registry /metrics serves.
func NewLiveSessions(store session.Counter, o LiveSessionsOptions) prometheus.Collector {
	if o.MaxAge <= 0 {
		o.MaxAge = defaultLiveSessionsMaxAge
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultLiveSessionsTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &liveSessions{
		store: store,
		o:     o,
		live: prometheus.NewDesc("gateway_sessions_live", fmt.Sprintf(
			"Sessions in the session store that have not expired, counted at most every "+
				"%v; absent while the store cannot be counted. With a shared store, "+
				"every gateway on it reports the same sessions.", o.MaxAge), nil, nil),
		errors: prometheus.NewDesc("gateway_sessions_count_errors_total", fmt.Sprintf(
			"Counts of the live sessions that failed: the store answered an error or "+
				"took longer than %v.", o.Timeout), nil, nil),
	}
}

// liveSessions is the collector NewLiveSessions returns.
type liveSessions struct {
	store        session.Counter
	o            LiveSessionsOptions
	live, errors *prometheus.Desc

	mu       sync.Mutex // held for a count, so that scrapes share one
	at       time.Time  // when the last count started; zero before the first
	n        int        // the last count, when err is nil
	err      error      // why the last count failed
	failures int        // counts that failed, ever
}

// Describe implements prometheus.Collector.
func (l *liveSessions) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.live
	ch <- l.errors
}

// Collect implements prometheus.Collector.
func (l *liveSessions) Collect(ch chan<- prometheus.Metric) {
	n, failures, err := l.count()
	if err == nil {
		ch <- prometheus.MustNewConstMetric(l.live, prometheus.GaugeValue, float64(n))
	}
	ch <- prometheus.MustNewConstMetric(l.errors, prometheus.CounterValue, float64(failures))
}

// count returns the last count, or why it failed, if it is younger than MaxAge, and
// otherwise counts the store again; and the number of failed counts so far.
func (l *liveSessions) count() (n, failures int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.o.Now()
	if !l.at.IsZero() && now.Sub(l.at) < l.o.MaxAge {
		return l.n, l.failures, l.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.o.Timeout)
	defer cancel()
	l.at = now
	l.n, l.err = l.store.Count(ctx, l.o.Margin)
	if l.err != nil {
		l.failures++
		l.o.Logger.Error("counting live sessions failed", "error", l.err)
	}
	return l.n, l.failures, l.err
}
