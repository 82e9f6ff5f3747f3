package tlsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
)

// Test timings: a short lease, so that tests of expiry take a second or two, and
// quick retries, so that waiting for a lock adds little to them.
const (
	testLease = 500 * time.Millisecond
	testRetry = 20 * time.Millisecond
)

// newStorage returns a Storage on srv under prefix, with a client of its own (as a
// gateway of its own would have), closed when tb ends.
func newStorage(tb testing.TB, srv *redistest.Server, prefix string) *Storage {
	tb.Helper()
	s := New(rawClient(tb, srv), prefix)
	s.lease, s.retry = testLease, testRetry
	return s
}

// rawClient returns a plain client on srv, closed when tb ends.
func rawClient(tb testing.TB, srv *redistest.Server) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// mustStore stores each key with its own name as the value.
func mustStore(tb testing.TB, s *Storage, keys ...string) {
	tb.Helper()
	for _, k := range keys {
		if err := s.Store(context.Background(), k, []byte(k)); err != nil {
			tb.Fatal(err)
		}
	}
}

// tree is a storage laid out as certmagic lays out its own, plus keys that start
// like its directories without lying in them.
var tree = []string{
	"acme/ca-dir/users/a@example.com/a.json",
	"acme/ca-dir/users/a@example.com/a.key",
	"certificates/ca-dir/example.com/example.com.crt",
	"certificates/ca-dir/example.com/example.com.json",
	"certificates/ca-dir/example.com/example.com.key",
	"certificates/ca-dir/www.example.com/www.example.com.crt",
	"certificates/other-ca/example.com/example.com.crt",
	"certificates-old/ca-dir/example.com/example.com.crt",
	"certificatesX",
	"ocsp/example.com-1234",
}

func TestStoreLoad(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	ctx := context.Background()
	key := "certificates/ca-dir/example.com/example.com.crt"

	for _, value := range [][]byte{
		[]byte("first"),
		[]byte("second, and longer than the first"),
		[]byte("3"), // shorter: nothing of the longer value may remain
		{0, 0xff, '\r', '\n', 0},
		{},
	} {
		if err := s.Store(ctx, key, value); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, value) {
			t.Errorf("Load after Store(%q): got %q", value, got)
		}
	}
}

func TestMissing(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	ctx := context.Background()
	mustStore(t, s, "certificates/ca-dir/example.com/example.com.crt")

	for _, key := range []string{
		"certificates/ca-dir/example.com/example.com.key",
		"certificates/ca-dir/example.org",
		"cert", // a prefix, but not on a component basis
		"certificates/ca-dir/example.com/example.com.crt/more",
		"nothing",
	} {
		if _, err := s.Load(ctx, key); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%q): got %v, want fs.ErrNotExist", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%q): got %v, want fs.ErrNotExist", key, err)
		}
		if _, err := s.List(ctx, key, false); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("List(%q): got %v, want fs.ErrNotExist", key, err)
		}
		if s.Exists(ctx, key) {
			t.Errorf("Exists(%q): got true", key)
		}
	}
}

// A directory is not a file: it has no value to load.
func TestLoadDirectory(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	mustStore(t, s, "certificates/ca-dir/example.com/example.com.crt")
	_, err := s.Load(context.Background(), "certificates/ca-dir")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a directory: got %v, want fs.ErrNotExist", err)
	}
}

func TestStat(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	ctx := context.Background()
	file := "certificates/ca-dir/example.com/example.com.crt"

	before := time.Now()
	if err := s.Store(ctx, file, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	info, err := s.Stat(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != file || info.Size != 10 || !info.IsTerminal {
		t.Errorf("Stat(file): got %+v, want key %q, size 10, terminal", info, file)
	}
	// the server's clock, on this machine, with a margin for rounding
	early, late := before.Add(-time.Second), after.Add(time.Second)
	if info.Modified.Before(early) || info.Modified.After(late) {
		t.Errorf("Stat(file): modified %v, want between %v and %v", info.Modified, before, after)
	}

	// a later write is newer, which certmagic relies on to pick the newest account
	time.Sleep(5 * time.Millisecond)
	if err := s.Store(ctx, file, []byte("x")); err != nil {
		t.Fatal(err)
	}
	again, err := s.Stat(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Modified.After(info.Modified) || again.Size != 1 {
		t.Errorf("Stat after overwrite: got %+v, want newer than %v and size 1",
			again, info.Modified)
	}

	for _, dir := range []string{"certificates", "certificates/ca-dir/example.com"} {
		info, err := s.Stat(ctx, dir)
		if err != nil {
			t.Fatalf("Stat(%q): %v", dir, err)
		}
		if info.Key != dir || info.IsTerminal {
			t.Errorf("Stat(%q): got %+v, want a directory", dir, info)
		}
	}
}

func TestExists(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	mustStore(t, s, tree...)
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"certificates/ca-dir/example.com/example.com.crt", true},
		{"certificates/ca-dir/example.com", true},
		{"certificates", true},
		{"certificatesX", true},
		{"certificates/ca", false},
		{"certificates/ca-dir/example", false},
		{"cert", false},
		{"certificates/ca-dir/example.com/example.com.crt/x", false},
		{"", false},
	} {
		if got := s.Exists(context.Background(), tc.key); got != tc.want {
			t.Errorf("Exists(%q): got %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	mustStore(t, s, tree...)
	checkList(t, s)
}

// checkList checks List on s, which holds tree.
func checkList(t *testing.T, s *Storage) {
	t.Helper()
	for _, tc := range []struct {
		dir       string
		recursive bool
		want      []string
	}{
		{"certificates", false, []string{
			"certificates/ca-dir",
			"certificates/other-ca",
		}},
		{"certificates/ca-dir", false, []string{
			"certificates/ca-dir/example.com",
			"certificates/ca-dir/www.example.com",
		}},
		{"certificates/ca-dir/example.com", false, []string{
			"certificates/ca-dir/example.com/example.com.crt",
			"certificates/ca-dir/example.com/example.com.json",
			"certificates/ca-dir/example.com/example.com.key",
		}},
		{"certificates", true, []string{
			"certificates/ca-dir/example.com/example.com.crt",
			"certificates/ca-dir/example.com/example.com.json",
			"certificates/ca-dir/example.com/example.com.key",
			"certificates/ca-dir/www.example.com/www.example.com.crt",
			"certificates/other-ca/example.com/example.com.crt",
		}},
		{"ocsp", false, []string{"ocsp/example.com-1234"}},
		{"ocsp", true, []string{"ocsp/example.com-1234"}},
		{"", false, []string{"acme", "certificates", "certificates-old", "certificatesX", "ocsp"}},
		{"", true, slices.Sorted(slices.Values(tree))},
		// a file has nothing under it
		{"certificatesX", false, nil},
		{"certificatesX", true, nil},
	} {
		t.Run(fmt.Sprintf("%s,recursive=%v", tc.dir, tc.recursive), func(t *testing.T) {
			got, err := s.List(context.Background(), tc.dir, tc.recursive)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q,\nwant %q", got, tc.want)
			}
		})
	}
}

// More keys than one SCAN step returns, so that List has to go on with the cursor.
func TestListMany(t *testing.T) {
	srv := redistest.Start(t)
	s := newStorage(t, srv, "tls:")
	ctx := context.Background()
	var want []string
	pipe := rawClient(t, srv).Pipeline()
	for i := range 3 * scanBatch {
		key := fmt.Sprintf("ocsp/staple-%04d", i)
		want = append(want, key)
		pipe.HSet(ctx, s.fileKey(key), "value", "v", "modified", "0")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, "ocsp", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d keys, want %d", len(got), len(want))
	}
}

func TestDelete(t *testing.T) {
	for _, tc := range []struct {
		key  string
		gone []string // keys of tree the delete removes
	}{
		{"certificates/ca-dir/example.com/example.com.crt", []string{
			"certificates/ca-dir/example.com/example.com.crt",
		}},
		{"certificates/ca-dir/example.com", []string{
			"certificates/ca-dir/example.com/example.com.crt",
			"certificates/ca-dir/example.com/example.com.json",
			"certificates/ca-dir/example.com/example.com.key",
		}},
		{"certificates", []string{
			"certificates/ca-dir/example.com/example.com.crt",
			"certificates/ca-dir/example.com/example.com.json",
			"certificates/ca-dir/example.com/example.com.key",
			"certificates/ca-dir/www.example.com/www.example.com.crt",
			"certificates/other-ca/example.com/example.com.crt",
		}},
		{"certificatesX", []string{"certificatesX"}},
		// not a prefix on a component basis, or not there at all: nothing goes
		{"certificates/ca", nil},
		{"cert", nil},
		{"nothing/at/all", nil},
	} {
		t.Run(tc.key, func(t *testing.T) {
			s := newStorage(t, redistest.Start(t), "tls:")
			ctx := context.Background()
			mustStore(t, s, tree...)
			if err := s.Delete(ctx, tc.key); err != nil {
				t.Fatal(err)
			}
			for _, k := range tree {
				if got, want := s.Exists(ctx, k), !slices.Contains(tc.gone, k); got != want {
					t.Errorf("Exists(%q) after Delete: got %v, want %v", k, got, want)
				}
			}
			if s.Exists(ctx, tc.key) {
				t.Errorf("Exists(%q) after its Delete: got true", tc.key)
			}
			// deleting again is not an error
			if err := s.Delete(ctx, tc.key); err != nil {
				t.Errorf("second Delete: %v", err)
			}
		})
	}
}

// Keys that SCAN's MATCH would read as patterns match only themselves, in the
// prefix as in the key.
func TestGlobCharacters(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	glob, plain := newStorage(t, srv, "gw[1]:"), newStorage(t, srv, "gw1:")
	mustStore(t, glob, "a[1]/x", "a1/y", "a*/z", "ab/w", `a\/v`)
	mustStore(t, plain, "a1/other")

	for _, tc := range []struct {
		s    *Storage
		dir  string
		want []string
	}{
		{glob, "a[1]", []string{"a[1]/x"}},
		{glob, "a1", []string{"a1/y"}},
		{glob, "a*", []string{"a*/z"}},
		{glob, `a\`, []string{`a\/v`}},
		{plain, "a1", []string{"a1/other"}},
	} {
		got, err := tc.s.List(ctx, tc.dir, true)
		if err != nil {
			t.Errorf("List(%q) under %q: %v", tc.dir, tc.s.prefix, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) under %q: got %q, want %q", tc.dir, tc.s.prefix, got, tc.want)
		}
	}
	if _, err := glob.List(ctx, "a?", true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(`List("a?"): got %v, want fs.ErrNotExist`, err)
	}

	// deleting "a*" must not take "ab" with it
	if err := glob.Delete(ctx, "a*"); err != nil {
		t.Fatal(err)
	}
	if !glob.Exists(ctx, "ab/w") || glob.Exists(ctx, "a*/z") {
		t.Errorf(`after Delete("a*"): got ab/w %v, a*/z %v; want true, false`,
			glob.Exists(ctx, "ab/w"), glob.Exists(ctx, "a*/z"))
	}
}

// Two prefixes on one Redis are two storages that never see each other's keys.
func TestPrefixes(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := newStorage(t, srv, "a:"), newStorage(t, srv, "b:")
	mustStore(t, a, "certificates/ca/x.crt")
	if b.Exists(ctx, "certificates/ca/x.crt") || b.Exists(ctx, "certificates") {
		t.Error("b sees a's key")
	}
	if _, err := b.List(ctx, "", true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of b's root: got %v, want fs.ErrNotExist", err)
	}
	if err := b.Delete(ctx, "certificates"); err != nil {
		t.Fatal(err)
	}
	if !a.Exists(ctx, "certificates/ca/x.crt") {
		t.Error("b's Delete removed a's key")
	}

	// and every Redis key a wrote starts with its prefix
	var keys []string
	iter := rawClient(t, srv).Scan(ctx, 0, "*", 0).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if iter.Err() != nil {
		t.Fatal(iter.Err())
	}
	if want := []string{"a:file:certificates/ca/x.crt"}; !slices.Equal(keys, want) {
		t.Errorf("Redis keys: got %q, want %q", keys, want)
	}
}

// Two gateways are two Storages with a client each: what one stores the other loads.
func TestShared(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := newStorage(t, srv, "gw:"), newStorage(t, srv, "gw:")
	mustStore(t, a, "certificates/ca/x.crt")
	got, err := b.Load(ctx, "certificates/ca/x.crt")
	if err != nil || string(got) != "certificates/ca/x.crt" {
		t.Errorf("b.Load: got %q, %v", got, err)
	}
	if err := b.Delete(ctx, "certificates"); err != nil {
		t.Fatal(err)
	}
	if a.Exists(ctx, "certificates/ca/x.crt") {
		t.Error("a still sees the key b deleted")
	}
}

func TestInvalidKeys(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	ctx := context.Background()
	mustStore(t, s, "a/b")
	for _, key := range []string{"", "/a", "a/", "a//b", "/"} {
		if err := s.Store(ctx, key, []byte("x")); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Store(%q): got %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Load(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Load(%q): got %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Stat(%q): got %v, want ErrInvalidKey", key, err)
		}
		// above all, an empty key must not delete everything
		if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%q): got %v, want ErrInvalidKey", key, err)
		}
		if s.Exists(ctx, key) {
			t.Errorf("Exists(%q): got true", key)
		}
		if key != "" {
			if _, err := s.List(ctx, key, false); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("List(%q): got %v, want ErrInvalidKey", key, err)
			}
		}
	}
	if !s.Exists(ctx, "a/b") {
		t.Error("a/b is gone")
	}
}

// Concurrent writes of one key never mix: every Load returns one whole value.
func TestConcurrentStore(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	const key = "certificates/ca/x.crt"
	values := make(map[string]bool)
	for i := range 4 {
		values[strings.Repeat(string(rune('a'+i)), 4096*(i+1))] = true
	}
	mustStore(t, newStorage(t, srv, "tls:"), key)
	values[key] = true

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for v := range values {
		s := newStorage(t, srv, "tls:")
		wg.Go(func() {
			for range 50 {
				if err := s.Store(ctx, key, []byte(v)); err != nil {
					errs <- err
					return
				}
				got, err := s.Load(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				info, err := s.Stat(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				if !values[string(got)] || !info.IsTerminal {
					errs <- fmt.Errorf("got a value of %d bytes that was never stored", len(got))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A Storage on a Redis that is down fails, and says so, rather than reporting keys
// missing, which would make certmagic order certificates it has.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	// retrying as the gateway's own client does, once, not for seconds
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialerRetries: 1, MaxRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	s := New(rdb, "tls:")
	mustStore(t, s, "a/b")
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := s.Load(ctx, "a/b"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load: got %v, want a Redis error", err)
	}
	if _, err := s.Stat(ctx, "a/b"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat: got %v, want a Redis error", err)
	}
	if _, err := s.List(ctx, "a", false); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List: got %v, want a Redis error", err)
	}
	if err := s.Store(ctx, "a/c", nil); err == nil {
		t.Error("Store: got no error")
	}
	if err := s.Delete(ctx, "a"); err == nil {
		t.Error("Delete: got no error")
	}
	if err := s.Lock(ctx, "x"); err == nil {
		t.Error("Lock: got no error")
	}
	if ctx.Err() != nil {
		t.Error("the calls took 10s")
	}
}

func TestCanceledContext(t *testing.T) {
	s := newStorage(t, redistest.Start(t), "tls:")
	mustStore(t, s, "a/b")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Load(ctx, "a/b"); !errors.Is(err, context.Canceled) {
		t.Errorf("Load: got %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, "a", true); !errors.Is(err, context.Canceled) {
		t.Errorf("List: got %v, want context.Canceled", err)
	}
	if err := s.Lock(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock: got %v, want context.Canceled", err)
	}
}
