package boltstore

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/authn/totp/ledgertest"
)

func TestCodes(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) totp.Ledger {
		return openTest(t, Options{}).Codes()
	})
}

// TestCodesSurviveRestart: the last code of a user and the wrong codes given for one are
// still known after the file is closed and opened again.
func TestCodesSurviveRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	now := time.Now()
	step := totp.Step(now)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Codes().Claim(ctx, "alice", 0, step, now); !ok || err != nil {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	for range totp.FreeWrong {
		if w, err := s.Codes().Take(ctx, "key", now); w != 0 || err != nil {
			t.Fatalf("wrong code: %v, %v", w, err)
		}
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.Codes().Claim(ctx, "alice", 0, step, now); ok || err != nil {
		t.Errorf("the same code after a restart: %v, %v; want refused", ok, err)
	}
	if last, err := s.Codes().Last(ctx, "alice"); last != step || err != nil {
		t.Errorf("Last after a restart: %d, %v; want %d", last, err, step)
	}
	if w, err := s.Codes().Take(ctx, "key", now); w != totp.FirstWait || err != nil {
		t.Errorf("a wrong code after a restart: wait %v, %v; want %v", w, err,
			totp.FirstWait)
	}
}

// TestCodesSwept: the sweep drops a user's last code once totp.Remember has passed, and
// wrong codes once totp.WrongMemory has, and writes nothing when nothing is due.
func TestCodesSwept(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := openTest(t, Options{Now: clock})
	l := s.Codes()
	l.Claim(ctx, "alice", 0, totp.Step(clock()), clock())
	l.Take(ctx, "key", clock())

	stats := s.db.Stats()
	writes := stats.TxStats.GetWrite()
	if n, err := s.sweepCodes(); n != 0 || err != nil {
		t.Errorf("a sweep with nothing due dropped %d (%v)", n, err)
	}
	if stats = s.db.Stats(); stats.TxStats.GetWrite() != writes {
		t.Errorf("a sweep with nothing due wrote %d pages",
			stats.TxStats.GetWrite()-writes)
	}
	advance(totp.Remember)
	if n, err := s.sweepCodes(); n != 1 || err != nil {
		t.Errorf("after %v: %d dropped (%v), want the last code", totp.Remember, n, err)
	}
	if last, _ := l.Last(ctx, "alice"); last != 0 {
		t.Errorf("Last after the sweep: %d", last)
	}
	advance(totp.WrongMemory)
	if n, err := s.sweepCodes(); n != 1 || err != nil {
		t.Errorf("after %v: %d dropped (%v), want the wrong codes", totp.WrongMemory, n, err)
	}
}
