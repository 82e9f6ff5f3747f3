package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/frontgate/gateway/proxy"
)

// fakeCounter answers Count with n or err, after delay or when the context ends, and
// counts the calls and keeps the last margin asked for.
type fakeCounter struct {
	mu     sync.Mutex
	n      int
	err    error
	delay  time.Duration
	margin time.Duration
	calls  atomic.Int64
}

func (f *fakeCounter) set(n int, err error) {
	f.mu.Lock()
	f.n, f.err = n, err
	f.mu.Unlock()
}

func (f *fakeCounter) Count(ctx context.Context, margin time.Duration) (int, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.margin = margin
	n, err, delay := f.n, f.err, f.delay
	f.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return n, err
}

// clock is a time source moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// scrape returns the text exposition of reg's gateway_sessions_ metrics, one per line.
func scrape(tb testing.TB, reg *prometheus.Registry) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec,
		httptest.NewRequest("GET", "/metrics", nil))
	var lines []string
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, "gateway_sessions_") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func TestLiveSessions(t *testing.T) {
	down := errors.New("store is down")
	const live, errs = "gateway_sessions_live", "gateway_sessions_count_errors_total"
	type step struct {
		advance time.Duration // before the scrape
		n       int           // what the store counts from then on
		err     error
		want    string // the scrape's gateway_sessions_ lines, sorted
		calls   int64  // counts of the store so far
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"counts", []step{
			{n: 0, want: errs + " 0\n" + live + " 0", calls: 1},
			{advance: 5 * time.Second, n: 3, want: errs + " 0\n" + live + " 3", calls: 2},
		}},
		{"reuses a young count", []step{
			{n: 2, want: errs + " 0\n" + live + " 2", calls: 1},
			{advance: time.Second, n: 7, want: errs + " 0\n" + live + " 2", calls: 1},
			{advance: 3 * time.Second, n: 7, want: errs + " 0\n" + live + " 2", calls: 1},
			{advance: time.Second, n: 7, want: errs + " 0\n" + live + " 7", calls: 2},
		}},
		{"leaves the gauge out after a failure", []step{
			{n: 4, want: errs + " 0\n" + live + " 4", calls: 1},
			{advance: 5 * time.Second, err: down, want: errs + " 1", calls: 2},
			{advance: time.Second, n: 5, want: errs + " 1", calls: 2},
			{advance: 5 * time.Second, err: down, want: errs + " 2", calls: 3},
			{advance: 5 * time.Second, n: 5, want: errs + " 2\n" + live + " 5", calls: 4},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeCounter{}
			clk := &clock{now: time.Now()}
			reg := prometheus.NewRegistry()
			reg.MustRegister(proxy.NewLiveSessions(store, proxy.LiveSessionsOptions{
				Now: clk.Now, Margin: 5 * time.Minute}))
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				store.set(s.n, s.err)
				if got := scrape(t, reg); got != s.want {
					t.Errorf("scrape %d: got\n%s\nwant\n%s", i, got, s.want)
				}
				if got := store.calls.Load(); got != s.calls {
					t.Errorf("scrape %d: store counted %d times, want %d", i, got, s.calls)
				}
			}
			// the margin given, sessions in their grace after expiry, is the store's
			store.mu.Lock()
			defer store.mu.Unlock()
			if store.margin != 5*time.Minute {
				t.Errorf("store counted with a margin of %v, want 5m", store.margin)
			}
		})
	}
}

// A store slower than the timeout fails the count, which is logged; a scrape never waits
// for it longer than the timeout.
func TestLiveSessionsTimeout(t *testing.T) {
	store := &fakeCounter{n: 1, delay: time.Minute}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	reg.MustRegister(proxy.NewLiveSessions(store, proxy.LiveSessionsOptions{
		Timeout: 50 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	}))
	start := time.Now()
	got := scrape(t, reg)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("scrape of a slow store took %v, want about the 50ms timeout", took)
	}
	if want := "gateway_sessions_count_errors_total 1"; got != want {
		t.Errorf("scrape of a slow store: got\n%s\nwant\n%s", got, want)
	}
	if !regexp.MustCompile(`level=ERROR msg="counting live sessions failed" ` +
		`error="context deadline exceeded"`).MatchString(logs.String()) {
		t.Errorf("log of a failed count: got %q", logs.String())
	}
}

// Scrapes at the same moment share one count of the store.
func TestLiveSessionsConcurrentScrapes(t *testing.T) {
	store := &fakeCounter{n: 9, delay: 50 * time.Millisecond}
	reg := prometheus.NewRegistry()
	reg.MustRegister(proxy.NewLiveSessions(store, proxy.LiveSessionsOptions{}))
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec,
				httptest.NewRequest("GET", "/metrics", nil))
			body, _ := io.ReadAll(rec.Body)
			if !strings.Contains(string(body), "\ngateway_sessions_live 9\n") {
				t.Errorf("concurrent scrape lacks gateway_sessions_live 9:\n%s", body)
			}
		})
	}
	wg.Wait()
	if got := store.calls.Load(); got != 1 {
		t.Errorf("10 concurrent scrapes counted the store %d times, want 1", got)
	}
}

// The metrics' help says what they count.
func TestLiveSessionsHelp(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(proxy.NewLiveSessions(&fakeCounter{}, proxy.LiveSessionsOptions{}))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec,
		httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		"# HELP gateway_sessions_live Sessions in the session store that have not " +
			"expired, counted at most every 5s; absent while the store cannot be counted.",
		"# TYPE gateway_sessions_live gauge",
		"# HELP gateway_sessions_count_errors_total Counts of the live sessions that " +
			"failed: the store answered an error or took longer than 2s.",
		"# TYPE gateway_sessions_count_errors_total counter",
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, rec.Body.String())
		}
	}
}

// recordingRegisterer keeps the collectors registered with it.
type recordingRegisterer struct{ collectors []prometheus.Collector }

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	r.collectors = append(r.collectors, cs...)
}

func (r *recordingRegisterer) Unregister(prometheus.Collector) bool { return false }

// descName finds the metric's name in a Desc's description.
var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// TestMetricsDocumented fails when the gateway exports a metric the README's table of
// metrics does not name, so the documentation cannot fall behind the code.
func TestMetricsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	reg := &recordingRegisterer{}
	proxy.NewMetrics(reg)
	reg.MustRegister(proxy.NewLiveSessions(&fakeCounter{}, proxy.LiveSessionsOptions{}))
	ch := make(chan *prometheus.Desc, 100)
	for _, c := range reg.collectors {
		c.Describe(ch)
	}
	close(ch)
	n := 0
	for d := range ch {
		m := descName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		n++
		if !strings.Contains(string(readme), "| `"+m[1]+"` |") {
			t.Errorf("metric %s is not in the README's table of metrics", m[1])
		}
	}
	if n < 7 {
		t.Errorf("found %d metrics, want at least 7", n)
	}
}
