package redisledger_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/authn/totp/ledgertest"
	"github.com/frontgate/gateway/authn/totp/redisledger"
)

func TestLedger(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	n := 0
	ledgertest.Run(t, func(t *testing.T) totp.Ledger {
		n++
		return redisledger.New(rdb, "test"+strings.Repeat("x", n)+":")
	})
}

// TestShared checks that two gateways, each with its own client, share what one knows.
func TestShared(t *testing.T) {
	srv := redistest.Start(t)
	a := redisledger.New(srv.Client(t), "gw:")
	b := redisledger.New(srv.Client(t), "gw:")
	ctx := t.Context()
	now := time.Now()
	step := totp.Step(now)
	if ok, err := a.Claim(ctx, "alice", 0, step, now); !ok || err != nil {
		t.Fatalf("claim at the first gateway: %v, %v", ok, err)
	}
	if ok, err := b.Claim(ctx, "alice", 0, step, now); ok || err != nil {
		t.Errorf("the same code at the second gateway: %v, %v", ok, err)
	}
	if last, err := b.Last(ctx, "alice"); last != step || err != nil {
		t.Errorf("Last at the second gateway: %d, %v, want %d", last, err, step)
	}
	for i := range totp.FreeWrong {
		g := []*redisledger.Ledger{a, b}[i%2]
		if w, err := g.Take(ctx, "key", now); w != 0 || err != nil {
			t.Fatalf("wrong code %d: %v, %v", i+1, w, err)
		}
	}
	if w, err := b.Take(ctx, "key", now); w != totp.FirstWait || err != nil {
		t.Errorf("after %d wrong codes spread over both: wait %v, %v", totp.FreeWrong, w, err)
	}

	// the step is kept for totp.Remember, and not much longer
	sum := sha256.Sum256([]byte("alice"))
	ttl, err := srv.Client(t).PTTL(ctx, "gw:used:"+hex.EncodeToString(sum[:])).Result()
	if err != nil || ttl <= totp.Remember || ttl > totp.Remember+2*time.Minute {
		t.Errorf("the step of the last code expires in %v (%v)", ttl, err)
	}
}

// TestDown checks that a ledger whose Redis is gone fails, so that no code is taken.
func TestDown(t *testing.T) {
	srv := redistest.Start(t)
	l := redisledger.New(srv.Client(t), "gw:")
	srv.Stop()
	ctx := t.Context()
	now := time.Now()
	if _, err := l.Last(ctx, "alice"); err == nil {
		t.Error("Last with Redis down: no error")
	}
	if ok, err := l.Claim(ctx, "alice", 0, totp.Step(now), now); ok || err == nil {
		t.Errorf("Claim with Redis down: %v, %v", ok, err)
	}
	if _, err := l.Take(ctx, "key", now); err == nil {
		t.Error("Take with Redis down: no error")
	}
	if err := l.Right(ctx, "key"); err == nil {
		t.Error("Right with Redis down: no error")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Claim(ctx, "alice", 0, totp.Step(now), now); !ok || err != nil {
		t.Errorf("Claim once Redis is back: %v, %v", ok, err)
	}
}
