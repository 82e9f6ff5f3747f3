package boltstore

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontgate/gateway/authn/throttle"
	"github.com/frontgate/gateway/authn/throttle/tallytest"
)

func TestTally(t *testing.T) {
	tallytest.Run(t, func(t *testing.T) throttle.Tally {
		return openTest(t, Options{}).Tally()
	})
}

// TestTallySurvivesRestart: a guesser held back before the gateway stopped is held back
// after it starts again.
func TestTallySurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	guesser := netip.MustParseAddr("192.0.2.1")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	th := throttle.NewShared(tallytest.Limits, s.Tally(), nil)
	for i := range tallytest.Limits.UserAddressFailures {
		if w, r := tallytest.FailAt(t, th, "alice", guesser); w > 0 {
			t.Fatalf("failure %d refused: %v %s", i+1, w, r)
		}
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	th = throttle.NewShared(tallytest.Limits, s.Tally(), nil)
	_, w, r, err := th.Begin(t.Context(), "alice", guesser, false)
	if w <= 0 || w > time.Second || r != throttle.ByUserAddress || err != nil {
		t.Errorf("after a restart: %v %q %v; want up to 1s by user and address", w, r, err)
	}
}

// TestTallySwept: the sweep drops a count once its time is past, and writes nothing when
// nothing is due; an entry that holds no count reads as an error until it is swept.
func TestTallySwept(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := openTest(t, Options{Now: clock})
	tally := s.Tally()
	never := []throttle.Rule{{Limit: 1 << 30, MaxWait: time.Minute}}
	if _, err := tally.Claim(ctx, []string{"addr:a"}, never, clock(), time.Minute); err != nil {
		t.Fatal(err)
	}
	advance(30 * time.Second)
	if _, err := tally.Claim(ctx, []string{"addr:b"}, never, clock(), time.Minute); err != nil {
		t.Fatal(err)
	}

	stats := s.db.Stats()
	writes := stats.TxStats.GetWrite()
	if n, err := s.sweepTally(); n != 0 || err != nil {
		t.Errorf("a sweep with nothing due dropped %d (%v)", n, err)
	}
	if stats = s.db.Stats(); stats.TxStats.GetWrite() != writes {
		t.Errorf("a sweep with nothing due wrote %d pages", stats.TxStats.GetWrite()-writes)
	}
	advance(30 * time.Second)
	if c, err := tally.Read(ctx, []string{"addr:a", "addr:b"}); err != nil ||
		c[0] != (throttle.Count{}) || c[1].Failures != 1 {
		t.Errorf("a minute after a's failure: %v, %v; want none for a, one for b", c, err)
	}
	if n, err := s.sweepTally(); n != 1 || err != nil {
		t.Errorf("a minute after a's failure: %d dropped (%v), want a", n, err)
	}

	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTally).Put([]byte("addr:c"), []byte("junk"))
	})
	if c, err := tally.Read(ctx, []string{"addr:c"}); err == nil {
		t.Errorf("Read of an entry that holds no count: %v, want an error", c)
	}
	if n, err := s.sweepTally(); n != 1 || err != nil {
		t.Errorf("sweep with an entry that holds no count: %d dropped (%v), want it", n, err)
	}
	if _, err := tally.Read(ctx, []string{"addr:c"}); err != nil {
		t.Errorf("Read once it is swept: %v", err)
	}
}
