package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/storetest"
)

// clock is a time source that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// logBuffer collects log output, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openTest opens a store in a new temporary folder, closed when the test ends.
func openTest(tb testing.TB, o Options) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "sessions.db"), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// raw returns the value under key in bucket, read past the Store, or nil.
func raw(tb testing.TB, s *Store, bucket, key []byte) []byte {
	tb.Helper()
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucket).Get(key))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// putRaw writes value under key in bucket, past the Store, and has the Store forget
// what it read under key before, as its own writes do.
func putRaw(tb testing.TB, s *Store, bucket, key, value []byte) {
	tb.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put(key, value)
	})
	s.read.forget(string(key))
	if err != nil {
		tb.Fatal(err)
	}
}

func TestStoreContract(t *testing.T) {
	c := newClock()
	storetest.Run(t, storetest.Options{
		Open: func(t *testing.T) session.Store {
			return openTest(t, Options{Now: c.Now})
		},
		Advance: func(t *testing.T, d time.Duration) { c.Advance(d) },
	})
}

func TestRestartKeepsSessions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "sessions.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := storetest.Sample("alice")
	if err := s.Put(ctx, "k", want, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("opening again after Close: %v", err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get after a restart: %v", err)
	}
	if got.User != want.User || got.CSRFToken != want.CSRFToken ||
		!got.Expires.Equal(want.Expires) {
		t.Errorf("Get after a restart: got %+v, want %+v", got, want)
	}
	list, err := s.List(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].Key != "k" {
		t.Errorf("List after a restart: got %v, %v; want the one session under k", list, err)
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		name     string
		existing os.FileMode // mode of a file there before Open; 0: none
	}{
		{name: "new file"},
		{name: "existing private file", existing: 0o600},
		{name: "existing file others can read", existing: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			path := filepath.Join(dir, "sessions.db")
			if tt.existing != 0 {
				s, err := Open(path, Options{})
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				if err := os.Chmod(path, tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("mode of %s: got %v, want %v", p, got, want)
				}
			}
		})
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	first, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	start := time.Now()
	second, err := Open(path, Options{})
	took := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("a second Open of a file in use succeeded")
	}
	if took > 2*time.Second {
		t.Errorf("a second Open took %v to fail, want about a second", took)
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: got %v, want an error wrapping ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) ||
		!strings.Contains(msg, "another gateway") {
		t.Errorf("second Open: got %q, want it to name %s and another gateway", msg, path)
	}
}

func TestOpenRefusesForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not bolt "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a file that is not a bolt file succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a foreign file: got %q, want it to name the file", err)
	}
}

// TestOpenRefusesFIFO: a FIFO in the store file's place is refused at once, named as
// what it is, never waited on.
func TestOpenRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		s, err := Open(path, Options{})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Open of a FIFO: got %v, want it refused as not a regular file", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open of a FIFO still waits after 10s")
	}
}

// TestDamagedFile: a file whose pages were overwritten after it was written, as a
// disk fault leaves it, gives an error that names the file, at Open or at the first
// read, and never a panic, which would take the gateway down with a stack trace.
func TestDamagedFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		// the damage is in a page in use, which Open reads; the last page may be free
		atOpen bool
		pages  func(size int64) []int64 // offsets overwritten with 256 bytes of garbage
	}{
		{"every page past the meta pages", true, func(size int64) []int64 {
			var out []int64
			for off := int64(8192); off < size; off += 4096 {
				out = append(out, off)
			}
			return out
		}},
		{"the first page past the meta pages", true,
			func(int64) []int64 { return []int64{8192} }},
		{"the last page", false, func(size int64) []int64 { return []int64{size - 4096} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filledFile(t, 200)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			for _, off := range tt.pages(fi.Size()) {
				f.WriteAt(bytes.Repeat([]byte{0xA5}, 256), off)
			}
			f.Close()

			// every page in use is read at Open, so damage there stops it
			s, err := Open(path, Options{})
			if err != nil {
				if !strings.Contains(err.Error(), path) {
					t.Errorf("Open: %q, want it to name the file", err)
				}
				return
			}
			defer s.Close()
			if tt.atOpen {
				t.Fatal("Open of a file damaged in a page in use succeeded")
			}
			for _, err := range []error{s.Put(ctx, "new", storetest.Sample("bob"), time.Hour),
				s.Delete(ctx, "k100")} {
				if err != nil && !errors.Is(err, ErrDamaged) {
					t.Errorf("a write to the damaged file: %v, want ErrDamaged", err)
				}
			}
		})
	}
}

// TestDamagedFreeList damages the free list, the page that tells bolt where it may
// write: a write with it would go outside the file or over sessions in use. Open checks
// it before its first write and refuses the file, naming it, with the file unchanged.
func TestDamagedFreeList(t *testing.T) {
	data, err := os.ReadFile(filledFile(t, 300))
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	// each meta page (0 and 1) names a free list page, 48 bytes in
	lists := []uint64{binary.LittleEndian.Uint64(data[48:]),
		binary.LittleEndian.Uint64(data[pageSize+48:])}
	rng := rand.New(rand.NewPCG(3, 9))
	for _, tt := range []struct {
		name   string
		damage func(page []byte)
	}{
		{"noise", func(page []byte) {
			for i := 16; i < 80; i++ {
				page[i] = byte(rng.Uint32())
			}
		}},
		{"page ids past the file's end", func(page []byte) {
			binary.LittleEndian.PutUint16(page[10:], 3) // count
			for i := range 3 {
				binary.LittleEndian.PutUint64(page[16+8*i:], 1000+rng.Uint64N(1<<40))
			}
		}},
		{"page ids in use", func(page []byte) {
			binary.LittleEndian.PutUint16(page[10:], 3)
			for i := range 3 {
				binary.LittleEndian.PutUint64(page[16+8*i:], uint64(2+i))
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			damaged := bytes.Clone(data)
			for _, id := range lists {
				tt.damage(damaged[id*pageSize : (id+1)*pageSize])
			}
			path := filepath.Join(t.TempDir(), "sessions.db")
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open of a file with a damaged free list succeeded")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open: %v, want ErrDamaged naming %s", err, path)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
				t.Error("Open wrote to the damaged file")
			}
		})
	}
}

// TestDamagedPagesNeverCrash damages each page of a file in turn, past its header, with
// noise: a page whose offsets send bolt outside its memory map makes it fault (the
// twentieth here), and the fault, like a panic, must give an error naming the file, not
// end the process.
func TestDamagedPagesNeverCrash(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile(filledFile(t, 300))
	if err != nil {
		t.Fatal(err)
	}
	size := os.Getpagesize()
	rng := rand.New(rand.NewPCG(1, 7))
	refused := 0
	for page := 2; page*size < len(data); page++ {
		damaged := bytes.Clone(data)
		for i := range 252 {
			damaged[page*size+16+i] = byte(rng.Uint32())
		}
		path := filepath.Join(t.TempDir(), "sessions.db")
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{})
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("page %d: Open: %q, want it to name the file", page, err)
			}
			refused++
			continue
		}
		// a page Open does not read is free: a write may use it, and fail, but not crash
		s.Put(ctx, "new", storetest.Sample("bob"), time.Hour)
		s.Close()
	}
	// the pages in use, the faulting one among them, are found damaged at Open
	if refused == 0 {
		t.Error("no damaged file was refused at Open")
	}
}

// filledFile returns the path of a closed bolt file holding n sessions of alice, under
// keys k000 on.
func filledFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := s.Put(context.Background(), fmt.Sprintf("k%03d", i),
			storetest.Sample("alice"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	var expired []string // the users Options.Expired is told of
	s := openTest(t, Options{Now: c.Now, SweepInterval: time.Hour,
		Expired: func(user string) { expired = append(expired, user) }})
	for key, ttl := range map[string]time.Duration{
		"short": time.Minute, "renewed": time.Minute, "long": time.Hour,
	} {
		user := "alice"
		if key == "short" {
			user = "bob"
		}
		if err := s.Put(ctx, key, storetest.Sample(user), ttl); err != nil {
			t.Fatal(err)
		}
	}
	putRaw(t, s, bucketSessions, []byte("stub"), []byte{1, 2})
	c.Advance(30 * time.Second)
	if err := s.Touch(ctx, "renewed", c.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)

	n, err := s.Sweep()
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Sweep: got %d deleted, want 2 (the short session and the stub)", n)
	}
	for key, want := range map[string]bool{
		"short": false, "stub": false, "renewed": true, "long": true,
	} {
		if got := raw(t, s, bucketSessions, []byte(key)) != nil; got != want {
			t.Errorf("after Sweep, record %q present: got %v, want %v", key, got, want)
		}
	}
	if raw(t, s, bucketByUser, indexKey("bob", []byte("short"))) != nil {
		t.Error("Sweep left the index entry of the session it deleted")
	}
	if n, err := s.Sweep(); n != 0 || err != nil {
		t.Errorf("second Sweep: got %d, %v; want 0, nil", n, err)
	}
	// the stub had no user to tell of
	if fmt.Sprint(expired) != "[bob]" {
		t.Errorf("Expired was told of %v, want [bob]", expired)
	}
}

func TestSweepManyBatches(t *testing.T) {
	c := newClock()
	s := openTest(t, Options{Now: c.Now, SweepInterval: time.Hour})
	const n = 3*sweepBatch + 17
	fill(t, s, n, 1, time.Minute)
	fill(t, s, 10, 1, time.Hour) // overwrites the first ten with longer ones
	c.Advance(2 * time.Minute)
	got, err := s.Sweep()
	if err != nil {
		t.Fatal(err)
	}
	if got != n-10 {
		t.Errorf("Sweep: got %d deleted, want %d", got, n-10)
	}
	list, err := s.List(context.Background(), "")
	if err != nil || len(list) != 10 {
		t.Errorf("List after Sweep: got %d sessions, %v; want 10", len(list), err)
	}
}

func TestSweeperRuns(t *testing.T) {
	c := newClock()
	s := openTest(t, Options{Now: c.Now, SweepInterval: 10 * time.Millisecond})
	err := s.Put(context.Background(), "k", storetest.Sample("alice"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if raw(t, s, bucketSessions, []byte("k")) == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the sweeper did not delete an expired session within 5s")
}

// TestCorruptRecords checks that a value that is not a whole record is never taken for
// a session, whichever method finds it, and is deleted.
func TestCorruptRecords(t *testing.T) {
	future := mustRecord(t, storetest.Sample("alice"), time.Now().Add(time.Hour))[:headerLen]
	values := map[string][]byte{
		"short":           []byte("abc"),
		"header only":     bytes.Clone(future),
		"not json":        append(bytes.Clone(future), "{not json"...),
		"incomplete":      append(bytes.Clone(future), `{"user":"alice"}`...),
		"json, no header": []byte(`{"user":"alice","backend":"file"}`),
	}
	ctx := context.Background()
	ops := map[string]func(s *Store) error{
		"Get": func(s *Store) error {
			_, err := s.Get(ctx, "k")
			return err
		},
		"Touch": func(s *Store) error { return s.Touch(ctx, "k", time.Now(), time.Hour) },
		"List": func(s *Store) error {
			list, err := s.List(ctx, "")
			if err == nil && len(list) > 0 {
				return fmt.Errorf("listed %+v", list)
			}
			return session.ErrNotFound
		},
		"List(user)": func(s *Store) error {
			list, err := s.List(ctx, "alice")
			if err == nil && len(list) > 0 {
				return fmt.Errorf("listed %+v", list)
			}
			return session.ErrNotFound
		},
	}
	for vname, value := range values {
		for oname, op := range ops {
			t.Run(oname+"/"+vname, func(t *testing.T) {
				var logs logBuffer
				s := openTest(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
				// a real session first, so the index names the key
				if err := s.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
					t.Fatal(err)
				}
				putRaw(t, s, bucketSessions, []byte("k"), value)

				if err := op(s); !errors.Is(err, session.ErrNotFound) {
					t.Errorf("%s of a corrupt record: got %v, want ErrNotFound", oname, err)
				}
				if v := raw(t, s, bucketSessions, []byte("k")); v != nil {
					t.Errorf("%s left the corrupt record %q", oname, v)
				}
				if !strings.Contains(logs.String(), "does not decode") {
					t.Errorf("%s logged %q, want a record that does not decode", oname,
						logs.String())
				}
				if _, err := s.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
					t.Errorf("Get afterwards: got %v, want ErrNotFound", err)
				}
			})
		}
	}
}

func mustRecord(tb testing.TB, s *session.Session, expires time.Time) []byte {
	tb.Helper()
	v, err := encodeRecord(s, expires.UnixNano())
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestListIndex checks List(user) against the index's hard cases.
func TestListIndex(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, s *Store)
		user  string
		want  string
	}{
		{
			name: "one user's name is a prefix of another's",
			setup: func(t *testing.T, s *Store) {
				s.Put(ctx, "a", storetest.Sample("al"), time.Hour)
				s.Put(ctx, "b", storetest.Sample("alice"), time.Hour)
				s.Put(ctx, "c", storetest.Sample("a"), time.Hour)
			},
			user: "al", want: "[a]",
		},
		{
			name: "a key passes to another user",
			setup: func(t *testing.T, s *Store) {
				s.Put(ctx, "k", storetest.Sample("alice"), time.Hour)
				s.Put(ctx, "k", storetest.Sample("bob"), time.Hour)
			},
			user: "alice", want: "[]",
		},
		{
			name: "an index entry outlives its record",
			setup: func(t *testing.T, s *Store) {
				s.Put(ctx, "k", storetest.Sample("alice"), time.Hour)
				putRaw(t, s, bucketByUser, indexKey("alice", []byte("gone")), []byte{})
			},
			user: "alice", want: "[k]",
		},
		{
			name: "an index entry names another user's record",
			setup: func(t *testing.T, s *Store) {
				s.Put(ctx, "k", storetest.Sample("bob"), time.Hour)
				putRaw(t, s, bucketByUser, indexKey("alice", []byte("k")), []byte{})
			},
			user: "alice", want: "[]",
		},
		{
			name: "names with odd bytes",
			setup: func(t *testing.T, s *Store) {
				s.Put(ctx, "a", storetest.Sample("x\x00y"), time.Hour)
				s.Put(ctx, "b", storetest.Sample("x"), time.Hour)
				s.Put(ctx, "c", storetest.Sample("\xff"), time.Hour)
			},
			user: "x", want: "[b]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, Options{})
			tt.setup(t, s)
			for range 2 { // the first listing tidies stale entries; the second must agree
				list, err := s.List(ctx, tt.user)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(keysOf(list)); got != tt.want {
					t.Errorf("List(%q): got %s, want %s", tt.user, got, tt.want)
				}
			}
			// no entry the listing found stale is left
			err := s.db.View(func(tx *bolt.Tx) error {
				sessions := tx.Bucket(bucketSessions)
				prefix := userPrefix(tt.user)
				c := tx.Bucket(bucketByUser).Cursor()
				for k, _ := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, _ = c.Next() {
					if sessions.Get(k[len(prefix):]) == nil {
						t.Errorf("stale index entry %q left", k)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestIndexRebuiltWhenMissing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Put(ctx, "a1", storetest.Sample("alice"), time.Hour)
	s.Put(ctx, "b1", storetest.Sample("bob"), time.Hour)
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketByUser) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(keysOf(list)); got != "[a1]" {
		t.Errorf("List after the index was rebuilt: got %s, want [a1]", got)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "sessions.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ops := map[string]func() error{
		"Get": func() error { _, err := s.Get(ctx, "k"); return err },
		"Put": func() error {
			return s.Put(ctx, "k", storetest.Sample("alice"), time.Hour)
		},
		"Touch":  func() error { return s.Touch(ctx, "k", time.Now(), time.Hour) },
		"Delete": func() error { return s.Delete(ctx, "k") },
		"List":   func() error { _, err := s.List(ctx, ""); return err },
		"Sweep":  func() error { _, err := s.Sweep(); return err },
	}
	for name, op := range ops {
		// a closed store must not look like one without the session: callers fail closed
		if err := op(); err == nil || errors.Is(err, session.ErrNotFound) {
			t.Errorf("%s after Close: got %v, want an error other than ErrNotFound", name, err)
		}
	}
}

// lateCancel is a context that ends once its Err has been called after times.
type lateCancel struct {
	context.Context
	mu    sync.Mutex
	after int
}

func (c *lateCancel) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.after--; c.after < 0 {
		return context.Canceled
	}
	return nil
}

func TestListStopsWithContext(t *testing.T) {
	s := openTest(t, Options{})
	fill(t, s, 3*ctxEvery, 1, time.Hour)
	for _, user := range []string{"", "user0"} {
		if _, err := s.List(context.Background(), user); err != nil {
			t.Fatal(err)
		}
		for _, after := range []int{0, 1} { // before the listing, and while reading
			ctx := &lateCancel{Context: context.Background(), after: after}
			if _, err := s.List(ctx, user); !errors.Is(err, context.Canceled) {
				t.Errorf("List(%q) with a context ending after %d looks: got %v, want "+
					"context.Canceled", user, after, err)
			}
		}
	}
}

func TestExpiresAtSaturates(t *testing.T) {
	now := time.Now()
	tests := []struct {
		ttl  time.Duration
		want bool // live a second from now
	}{
		{time.Hour, true},
		{1<<63 - 1, true},
		{0, false},
		{-time.Hour, false},
	}
	for _, tt := range tests {
		v := binary.BigEndian.AppendUint64(nil, uint64(expiresAt(now, tt.ttl)))
		if got := live(v, now.Add(time.Second).UnixNano()); got != tt.want {
			t.Errorf("ttl %v: live a second later: got %v, want %v", tt.ttl, got, tt.want)
		}
	}
}

func keysOf(list []session.Entry) []string {
	keys := make([]string, 0, len(list))
	for _, e := range list {
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	return keys
}

// fill stores n sessions under the keys key0, key1, …, spread over users user0, user1,
// … in turn, writing many to a transaction so that large stores fill fast.
func fill(tb testing.TB, s *Store, n, users int, ttl time.Duration) {
	tb.Helper()
	const perTx = 10000
	exp := expiresAt(s.now(), ttl)
	for start := 0; start < n; start += perTx {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i := start; i < min(start+perTx, n); i++ {
				sess := storetest.Sample(fmt.Sprintf("user%d", i%users))
				v, err := encodeRecord(sess, exp)
				if err != nil {
					return err
				}
				if err := put(tx, fmt.Appendf(nil, "key%d", i), sess.User, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// benchSessions is how many live sessions the benchmarks run against.
const benchSessions = 100_000

// BenchmarkGet reads 1024 sessions in use out of 100,000, which the Store keeps decoded
// after the first read, and, for "file", sessions it has to read from the file.
func BenchmarkGet(b *testing.B) {
	s := openTest(b, Options{SweepInterval: time.Hour})
	fill(b, s, benchSessions, benchSessions/10, time.Hour)
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%d", rand.IntN(benchSessions))
	}
	for _, c := range []struct {
		name string
		cold bool
	}{{"in-use", false}, {"file", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if c.cold {
					s.read.forgetAll()
				}
				if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkPut(b *testing.B) {
	s := openTest(b, Options{SweepInterval: time.Hour})
	ctx := context.Background()
	sess := storetest.Sample("alice")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Put(ctx, fmt.Sprintf("key%d", i), sess, time.Hour); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkList(b *testing.B) {
	s := openTest(b, Options{SweepInterval: time.Hour})
	fill(b, s, benchSessions, benchSessions/10, time.Hour)
	ctx := context.Background()
	for _, tt := range []struct {
		name, user string
		want       int
	}{
		{"all", "", benchSessions},
		{"one user", "user7", 10},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				list, err := s.List(ctx, tt.user)
				if err != nil {
					b.Fatal(err)
				}
				if len(list) != tt.want {
					b.Fatalf("List(%q): got %d sessions, want %d", tt.user, len(list), tt.want)
				}
			}
		})
	}
}

// BenchmarkCount counts 100,000 live sessions, as each scrape of the metrics does at
// most every few seconds.
func BenchmarkCount(b *testing.B) {
	s := openTest(b, Options{SweepInterval: time.Hour})
	fill(b, s, benchSessions, benchSessions/10, time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n, err := s.Count(ctx, session.ExpiryGrace)
		if err != nil {
			b.Fatal(err)
		}
		if n != benchSessions {
			b.Fatalf("Count: got %d, want %d", n, benchSessions)
		}
	}
}

// TestCheckSeesTheFileGone: a store whose file was removed, or replaced by another, while
// open goes on working in the file it has open, but says so: what it holds is lost at
// the next restart. Its sweep logs it; readiness reports it.
func TestCheckSeesTheFileGone(t *testing.T) {
	logs := &logBuffer{}
	s := openTest(t, Options{SweepInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("a store with its file in place: %v", err)
	}
	if err := os.Remove(s.path); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(),
		"was removed while open: the sessions it holds are lost at the next restart") {
		t.Errorf("the file removed: %v", err)
	}
	if err := os.WriteFile(s.path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), "was replaced") {
		t.Errorf("another file in its place: %v", err)
	}
	// a session written meanwhile is still served, from the file the store has open
	if err := s.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "k"); err != nil || got.User != "alice" {
		t.Errorf("Get after the file went: %+v, %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="session store file gone"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no sweep logged the file gone within 10s; log:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	keys, _ := session.DeriveKeys([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	m, err := session.NewManager(session.Options{Store: s, Keys: keys,
		IdleTimeout: time.Hour, Lifetime: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(ctx); err == nil || !strings.Contains(err.Error(), "was replaced") {
		t.Errorf("the manager's readiness check: %v, want the replaced file named", err)
	}
}
