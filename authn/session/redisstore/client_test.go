package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy/logthin"
)

// TestClientLogThinned: go-redis's messages are logged at most once every
// clientLogEvery, each record counting the messages left out before it.
func TestClientLogThinned(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1e9, 0)
	a := &slogAdapter{lg: slog.New(slog.NewJSONHandler(&buf, nil)),
		thin: logthin.Thinner{Every: clientLogEvery, Now: func() time.Time { return now }}}
	start := now
	for _, at := range []time.Duration{0, time.Second, 5 * time.Second, 11 * time.Second,
		12 * time.Second, 25 * time.Second} {
		now = start.Add(at)
		a.Printf(context.Background(), "dial %s: refused", at)
	}
	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var rec struct {
			Msg, Message, Level string
			Suppressed          int
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Msg != "redis client" || rec.Level != "WARN" {
			t.Errorf("record %s, want a WARN named redis client", line)
		}
		got = append(got, rec.Message+" +"+strings.Repeat("x", rec.Suppressed))
	}
	want := []string{"dial 0s: refused +", "dial 11s: refused +xx", "dial 25s: refused +x"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("records %q, want %q", got, want)
	}
}
