package session_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/storetest"
)

// BenchmarkMemoryGet looks sessions up in a memory store holding 100,000 of them, and
// reports the heap the store takes per session.
func BenchmarkMemoryGet(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st := session.NewMemory()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%043d", i) // as long as a real key
		s := storetest.Sample(fmt.Sprintf("user%d", i%1000))
		// digests and a token as long as real ones
		s.AuthHash, s.MAC = fmt.Sprintf("%064x", i), fmt.Sprintf("%064x", i+n)
		s.CSRFToken, s.ClientIP = fmt.Sprintf("%043d", i), "192.0.2.1"
		st.Put(ctx, keys[i], s, time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSession := float64(after.HeapAlloc-before.HeapAlloc) / n
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := st.Get(ctx, keys[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(perSession, "heap-B/session")
	runtime.KeepAlive(keys)
}

// BenchmarkManagerResolve is the per-request cost of finding a session from its
// cookie: decoding the cookie and one store lookup.
func BenchmarkManagerResolve(b *testing.B) {
	ctx := context.Background()
	keys, _ := session.DeriveKeys([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	m, _ := session.NewManager(session.Options{Store: session.NewMemory(), Keys: keys,
		IdleTimeout: time.Hour, Lifetime: 2 * time.Hour})
	_, v, err := m.Create(ctx, session.Login{User: "alice", Backend: "file",
		PasswordHash: "h"})
	if err != nil {
		b.Fatal(err)
	}
	values := []string{v}
	for b.Loop() {
		if _, err := m.Resolve(ctx, values); err != nil {
			b.Fatal(err)
		}
	}
}
