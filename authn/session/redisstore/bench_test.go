package redisstore

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/session/storetest"
)

// benchKey is the i-th key of a benchmark, as long as a real one (a base64 SHA-256).
func benchKey(i int) string { return fmt.Sprintf("%043d", i) }

// fill stores n sessions of 1000 users for an hour, in pipelines, as Put would store
// them.
func fill(b *testing.B, srv *redistest.Server, st *Store, n int) {
	b.Helper()
	ctx := context.Background()
	pipe := rawClient(b, srv).Pipeline()
	for i := range n {
		user := fmt.Sprint("user", i%1000)
		v, err := session.Marshal(storetest.Sample(user))
		if err != nil {
			b.Fatal(err)
		}
		indexScript.Eval(ctx, pipe, []string{st.indexKey(user)}, benchKey(i),
			time.Hour.Milliseconds(), indexGrace.Milliseconds())
		pipe.Set(ctx, st.sessionKey(benchKey(i)), v, time.Hour)
		if pipe.Len() >= 2000 || i == n-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkGet reads sessions out of order from 100,000 live ones, as the gateway does
// on every request.
func BenchmarkGet(b *testing.B) {
	srv := redistest.Start(b)
	st := newStore(b, srv, "gw:")
	const n = 100_000
	fill(b, srv, st, n)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := st.Get(ctx, benchKey(i%n)); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime, so the walk visits every key out of order
	}
}

// BenchmarkGetInUse reads one session over and over, as the requests of a signed-in
// user do: Redis is asked every time, but the JSON is parsed once.
func BenchmarkGetInUse(b *testing.B) {
	srv := redistest.Start(b)
	st := newStore(b, srv, "gw:")
	fill(b, srv, st, 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := st.Get(ctx, benchKey(0)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetConcurrent reads one session from 64 goroutines at once, as the requests
// of many signed-in users served together do; their reads share round trips to Redis.
func BenchmarkGetConcurrent(b *testing.B) {
	srv := redistest.Start(b)
	st := newStore(b, srv, "gw:")
	fill(b, srv, st, 1)
	ctx := context.Background()
	b.SetParallelism(64 / max(runtime.GOMAXPROCS(0), 1))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.Get(ctx, benchKey(0)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPut stores new sessions of 1000 users, as sign-ins do.
func BenchmarkPut(b *testing.B) {
	srv := redistest.Start(b)
	st := newStore(b, srv, "gw:")
	ctx := context.Background()
	sess := storetest.Sample("user0")
	i := 0
	for b.Loop() {
		sess.User = fmt.Sprint("user", i%1000)
		if err := st.Put(ctx, benchKey(i), sess, 30*time.Minute); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTouch renews sessions among 100,000 live ones, as the gateway does at most
// once per renewal interval per session.
func BenchmarkTouch(b *testing.B) {
	srv := redistest.Start(b)
	st := newStore(b, srv, "gw:")
	const n = 100_000
	fill(b, srv, st, n)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := st.Touch(ctx, benchKey(i%n), time.Now(), time.Hour); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkCount counts 100,000 live sessions, as each scrape of the metrics does at
// most every few seconds.
func BenchmarkCount(b *testing.B) {
	srv := redistest.Start(b)
	st := newStore(b, srv, "gw:")
	const n = 100_000
	fill(b, srv, st, n)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got, err := st.Count(ctx, session.ExpiryGrace)
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("Count: got %d, want %d", got, n)
		}
	}
}
