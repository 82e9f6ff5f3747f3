package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/authn/session/storetest"
	"github.com/frontgate/gateway/config"
)

// newStore returns a Store on srv under prefix, closed when tb ends.
func newStore(tb testing.TB, srv *redistest.Server, prefix string) *Store {
	tb.Helper()
	st, err := New(config.Redis{Addresses: []string{srv.Addr()}, KeyPrefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// rawClient returns a plain client on srv, to look at and tamper with what a Store wrote.
func rawClient(tb testing.TB, srv *redistest.Server) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	storetest.Run(t, storetest.Options{
		// one server for all; a prefix of its own gives each test an empty store
		Open: func(t *testing.T) session.Store {
			return newStore(t, srv, fmt.Sprintf("conformance%d:", n.Add(1)))
		},
		Advance: func(t *testing.T, d time.Duration) { time.Sleep(d) },
		TTLStep: 200 * time.Millisecond,
	})
}

// Two gateways on one Redis are two Stores with two clients: each sees and ends the
// other's sessions.
func TestSharedBetweenStores(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStore(t, srv, "gw:"), newStore(t, srv, "gw:")
	ctx := context.Background()

	if err := a.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "k"); err != nil || got.User != "alice" {
		t.Fatalf("Get through the other store: got %+v, %v, want alice's session", got, err)
	}
	seen := time.Now().UTC().Truncate(time.Millisecond)
	if err := b.Touch(ctx, "k", seen, time.Hour); err != nil {
		t.Fatalf("Touch through the other store: %v", err)
	}
	if got, err := a.Get(ctx, "k"); err != nil || !got.LastSeen.Equal(seen) {
		t.Errorf("after the other store's Touch: got %+v, %v, want LastSeen %v", got, err, seen)
	}
	for _, user := range []string{"alice", ""} {
		list, err := b.List(ctx, user)
		if err != nil || len(list) != 1 || list[0].Key != "k" {
			t.Errorf("List(%q) through the other store: got %v, %v, want [k]", user, list, err)
		}
	}
	if err := b.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Get after the other store's Delete: got %v, want ErrNotFound", err)
	}
}

// Renewals racing sign-outs never bring a session back. Touch reads, then writes: with
// a hundred sessions renewed in a loop while they are deleted, many deletions land
// between the two, where an unconditional write would resurrect the session.
func TestTouchRacingDelete(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	ctx := context.Background()
	const n = 100
	for i := range n {
		if err := st.Put(ctx, fmt.Sprint(i), storetest.Sample("alice"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var touched atomic.Int64
	for i := range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if st.Touch(ctx, fmt.Sprint(i), time.Now(), time.Hour) == nil {
					touched.Add(1)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	for i := range n {
		if err := st.Delete(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	if touched.Load() < n {
		t.Fatalf("only %d renewals succeeded before the deletions; the race was not run",
			touched.Load())
	}
	back := 0
	for i := range n {
		if _, err := st.Get(ctx, fmt.Sprint(i)); !errors.Is(err, session.ErrNotFound) {
			back++
		}
	}
	if back > 0 {
		t.Errorf("%d of %d deleted sessions came back after racing renewals", back, n)
	}
	if m := rawClient(t, srv).ZCard(ctx, st.indexKey("alice")).Val(); m != 0 {
		t.Errorf("the index still names %d deleted sessions, want 0", m)
	}
}

// A value under a session key that is not a whole session reads as missing and is
// removed, and does not break listings.
func TestForeignValue(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	rdb := rawClient(t, srv)
	ctx := context.Background()

	tests := []struct {
		name  string
		write func(key string) error
	}{
		{"garbage", func(k string) error { return rdb.Set(ctx, k, "\x00garbage", 0).Err() }},
		{"empty", func(k string) error { return rdb.Set(ctx, k, "", 0).Err() }},
		{"json of another shape", func(k string) error {
			return rdb.Set(ctx, k, `{"user":"alice"}`, 0).Err()
		}},
		{"truncated session", func(k string) error {
			b, _ := session.Marshal(storetest.Sample("alice"))
			return rdb.Set(ctx, k, b[:len(b)/2], 0).Err()
		}},
		{"hash", func(k string) error { return rdb.HSet(ctx, k, "user", "alice").Err() }},
		{"list", func(k string) error { return rdb.RPush(ctx, k, "alice").Err() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, read := range []string{"Get", "Touch", "List"} {
				rkey := st.sessionKey("foreign")
				if err := tt.write(rkey); err != nil {
					t.Fatal(err)
				}
				var err error
				switch read {
				case "Get":
					_, err = st.Get(ctx, "foreign")
				case "Touch":
					err = st.Touch(ctx, "foreign", time.Now(), time.Hour)
				case "List":
					var list []session.Entry
					list, err = st.List(ctx, "")
					if err == nil && len(list) != 0 {
						t.Errorf("List: got %v, want no sessions", list)
					}
				}
				if read != "List" && !errors.Is(err, session.ErrNotFound) {
					t.Errorf("%s: got %v, want ErrNotFound", read, err)
				}
				if read == "List" && err != nil {
					t.Errorf("List: %v", err)
				}
				if n, err := rdb.Exists(ctx, rkey).Result(); err != nil || n != 0 {
					t.Errorf("after %s the foreign value is still there (%d, %v)", read, n, err)
				}
			}
		})
	}
}

// The user's index drops members that ended, so it does not grow with every sign-in,
// and expires after the last of its sessions.
func TestIndexStaysSmall(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	rdb := rawClient(t, srv)
	ctx := context.Background()
	index := st.indexKey("alice")

	// ended by Delete: gone from the index at once
	st.Put(ctx, "deleted", storetest.Sample("alice"), time.Hour)
	if err := st.Delete(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.ZCard(ctx, index).Val(); n != 0 {
		t.Errorf("after Delete the index holds %d members, want 0", n)
	}

	// ended by expiry: dropped by the next write once past their expiry and the grace,
	// which the test skips by backdating the scores
	for i := range 5 {
		st.Put(ctx, fmt.Sprint("old", i), storetest.Sample("alice"), time.Millisecond)
	}
	old := float64(time.Now().Add(-2 * indexGrace).UnixMilli())
	for i := range 5 {
		rdb.ZAdd(ctx, index, redis.Z{Score: old, Member: fmt.Sprint("old", i)})
	}
	if err := st.Put(ctx, "live", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := rdb.ZRange(ctx, index, 0, -1).Val(); fmt.Sprint(got) != "[live]" {
		t.Errorf("index after a write: got %v, want [live]", got)
	}

	// the index outlives the session it names, also once Touch extends the session
	if err := st.Touch(ctx, "live", time.Now(), 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	sessTTL, indexTTL := rdb.PTTL(ctx, st.sessionKey("live")).Val(),
		rdb.PTTL(ctx, index).Val()
	if indexTTL < sessTTL || indexTTL > sessTTL+indexGrace+time.Second {
		t.Errorf("index ttl %v, session ttl %v: want the index to last the session plus %v",
			indexTTL, sessTTL, indexGrace)
	}
}

// A prefix holding glob characters lists only its own sessions.
func TestListPrefixIsLiteral(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	stores := map[string]*Store{}
	keyOf := map[string]string{}
	for i, prefix := range []string{"gw*:", "gw[1]:", "gw1:", "gw?:", `gw\:`, "gwx:"} {
		st := newStore(t, srv, prefix)
		stores[prefix], keyOf[prefix] = st, fmt.Sprint("key", i)
		if err := st.Put(ctx, keyOf[prefix], storetest.Sample("alice"),
			time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, st := range stores {
		list, err := st.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(list); fmt.Sprint(got) != fmt.Sprint([]string{keyOf[prefix]}) {
			t.Errorf("List under prefix %q: got %q, want [%s]", prefix, got, keyOf[prefix])
		}
	}
}

// A gateway whose prefix starts with another's ("gw:s:" and "gw:") writes keys under the
// other's session prefix; the other neither lists, counts nor revokes them.
func TestNestedPrefixesApart(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	outer, inner := newStore(t, srv, "gw:"), newStore(t, srv, "gw:s:")
	if err := outer.Put(ctx, "mine", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"theirs", "other"} {
		if err := inner.Put(ctx, k, storetest.Sample("bob"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	list, err := outer.List(ctx, "")
	if err != nil || fmt.Sprint(keys(list)) != "[mine]" {
		t.Errorf("outer List: got %q, %v; want [mine]", keys(list), err)
	}
	if n, err := outer.Count(ctx, session.ExpiryGrace); err != nil || n != 1 {
		t.Errorf("outer Count: got %d, %v; want 1", n, err)
	}
	list, err = inner.List(ctx, "")
	if err != nil || fmt.Sprint(keys(list)) != "[other theirs]" {
		t.Errorf("inner List: got %q, %v; want [other theirs]", keys(list), err)
	}
}

// Count counts the sessions under its own prefix only: not another prefix's, even one
// its glob characters would match, not the users' indexes, and not a key of another
// type under a session key. Many sessions take several SCAN steps.
func TestCountOwnSessionsOnly(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rdb := rawClient(t, srv)
	stores := map[string]*Store{}
	for _, prefix := range []string{"gw*:", "gw[1]:", "gw1:", "gwx:"} {
		stores[prefix] = newStore(t, srv, prefix)
	}
	const many = 2*countBatch + 3
	pipe := rdb.Pipeline()
	for i := range many {
		b, _ := session.Marshal(storetest.Sample("alice"))
		pipe.Set(ctx, stores["gwx:"].sessionKey(fmt.Sprint(i)), b, time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for prefix, st := range stores {
		if err := st.Put(ctx, "mine", storetest.Sample("alice"), time.Hour); err != nil {
			t.Fatal(err)
		}
		rdb.HSet(ctx, st.sessionKey("a-hash"), "user", "mallory")
		if got := rdb.Exists(ctx, st.indexKey("alice")).Val(); got != 1 {
			t.Fatalf("prefix %q: no index for alice", prefix)
		}
	}
	for _, tt := range []struct {
		prefix string
		want   int
	}{
		{"gw*:", 1}, {"gw[1]:", 1}, {"gw1:", 1}, {"gwx:", many + 1},
	} {
		got, err := stores[tt.prefix].Count(ctx, session.ExpiryGrace)
		if err != nil || got != tt.want {
			t.Errorf("Count under prefix %q: got %d, %v; want %d", tt.prefix, got, err,
				tt.want)
		}
	}
}

// A listing of many sessions spans several SCAN steps and pipelines.
func TestListMany(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	ctx := context.Background()
	const n = 3*listBatch + 7
	pipe := rawClient(t, srv).Pipeline()
	for i := range n {
		user := "alice"
		if i%2 == 1 {
			user = "bob"
		}
		b, _ := session.Marshal(storetest.Sample(user))
		pipe.Set(ctx, st.sessionKey(fmt.Sprint(i)), b, time.Hour)
		if user == "alice" {
			pipe.ZAdd(ctx, st.indexKey(user),
				redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: i})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]int{"": n, "alice": (n + 1) / 2} {
		list, err := st.List(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != want {
			t.Errorf("List(%q): got %d sessions, want %d", user, len(list), want)
		}
	}
}

// With Redis gone every call fails fast with an error that is not ErrNotFound, and the
// same Store works again once Redis is back.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	ctx := context.Background()
	if err := st.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := st.Get(ctx, "k"); return err }},
		{"Put", func() error { return st.Put(ctx, "k", storetest.Sample("alice"), time.Hour) }},
		{"Touch", func() error { return st.Touch(ctx, "k", time.Now(), time.Hour) }},
		{"Delete", func() error { return st.Delete(ctx, "k") }},
		{"List user", func() error { _, err := st.List(ctx, "alice"); return err }},
		{"List all", func() error { _, err := st.List(ctx, ""); return err }},
		{"Count", func() error { _, err := st.Count(ctx, session.ExpiryGrace); return err }},
		{"Ping", func() error { return st.Ping(ctx) }},
	}
	for round := range 2 { // the first round finds pooled connections dead, the second dials
		for _, c := range calls {
			start := time.Now()
			err := c.call()
			took := time.Since(start)
			if err == nil || errors.Is(err, session.ErrNotFound) {
				t.Errorf("round %d: %s with Redis down: got %v, want an error that is not "+
					"ErrNotFound", round, c.name, err)
			}
			if took > 3*time.Second {
				t.Errorf("round %d: %s with Redis down took %v, want under 3s", round, c.name,
					took)
			}
			t.Logf("round %d: %s failed in %v: %v", round, c.name, took, err)
		}
	}

	// back on the same port, empty (nothing was saved): the Store must come back
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for st.Ping(ctx) != nil {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the Store did not reconnect within 5s: %v", st.Ping(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("reconnected %v after Redis was back", time.Since(start))
	if _, err := st.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Get after the restart: got %v, want ErrNotFound", err)
	}
	if err := st.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatalf("Put after the restart: %v", err)
	}
	if err := st.Touch(ctx, "k", time.Now(), time.Hour); err != nil {
		t.Errorf("Touch after the restart: %v", err)
	}
	if got, err := st.Get(ctx, "k"); err != nil || got.User != "alice" {
		t.Errorf("Get after the restart: got %+v, %v, want alice's session", got, err)
	}
}

// A server that accepts connections but never answers, like a hung Redis, costs a call
// at most a few seconds, and no more than the caller's deadline.
func TestRedisStalled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // held open, never answered
		}
	}()
	st, err := New(config.Redis{Addresses: []string{l.Addr().String()}, KeyPrefix: "gw:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	start := time.Now()
	_, err = st.Get(context.Background(), "k")
	if took := time.Since(start); err == nil || errors.Is(err, session.ErrNotFound) ||
		took > 3*time.Second {
		t.Errorf("Get from a hung server: got %v after %v, want an error within 3s", err, took)
	} else {
		t.Logf("Get from a hung server failed in %v: %v", took, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = st.Get(ctx, "k")
	if took := time.Since(start); err == nil || took > 500*time.Millisecond {
		t.Errorf("Get with a 100ms deadline from a hung server: got %v after %v, want an "+
			"error within 500ms", err, took)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		c       config.Redis
		want    string // the client's type, or the error
		tlsName string // the TLS server name, if TLS is on
	}{
		{name: "standalone", c: config.Redis{Addresses: []string{"127.0.0.1:1"}},
			want: "*redis.Client"},
		{name: "sentinel", c: config.Redis{Addresses: []string{"10.0.0.1:26379",
			"10.0.0.2:26379"}, MasterName: "main", DB: 2}, want: "*redis.Client"},
		{name: "cluster", c: config.Redis{Addresses: []string{"10.0.0.1:6379",
			"10.0.0.2:6379"}}, want: "*redis.ClusterClient"},
		{name: "tls", c: config.Redis{Addresses: []string{"redis.example:6380"}, TLS: true},
			want: "*redis.Client", tlsName: "redis.example"},
		{name: "tls ipv6", c: config.Redis{Addresses: []string{"[::1]:6380"}, TLS: true},
			want: "*redis.Client", tlsName: "::1"},
		{name: "tls cluster", c: config.Redis{Addresses: []string{"a.example:6380",
			"b.example:6380"}, TLS: true}, want: "*redis.ClusterClient", tlsName: "a.example"},
		{name: "no address", c: config.Redis{},
			want: "creating redis store: no address"},
		{name: "cluster db", c: config.Redis{Addresses: []string{"a:1", "b:1"}, DB: 3},
			want: "creating redis store: a cluster has only database 0, not 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := New(tt.c)
			if err != nil {
				if err.Error() != tt.want {
					t.Errorf("got error %q, want %s", err, tt.want)
				}
				return
			}
			defer st.Close()
			if got := fmt.Sprintf("%T", st.rdb); got != tt.want {
				t.Errorf("got client %s, want %s", got, tt.want)
			}
			var tc *tls.Config
			switch rdb := st.rdb.(type) {
			case *redis.Client:
				tc = rdb.Options().TLSConfig
				if rdb.Options().ReadTimeout != ioTimeout {
					t.Errorf("read timeout: got %v, want %v", rdb.Options().ReadTimeout,
						ioTimeout)
				}
			case *redis.ClusterClient:
				tc = rdb.Options().TLSConfig
			}
			switch {
			case tt.tlsName == "" && tc != nil:
				t.Errorf("got a TLS config without TLS")
			case tt.tlsName != "" && tc == nil:
				t.Errorf("got no TLS config, want one")
			case tc != nil && (tc.ServerName != tt.tlsName || tc.MinVersion != tls.VersionTLS12):
				t.Errorf("TLS: got server name %q, min version %x; want %q, TLS 1.2",
					tc.ServerName, tc.MinVersion, tt.tlsName)
			}
		})
	}
}

// TestOptionsSentinelCredentials checks that the sentinels are sent Redis's own
// username and password, and only when there are sentinels.
func TestOptionsSentinelCredentials(t *testing.T) {
	sentinels := []string{"10.0.0.1:26379", "10.0.0.2:26379"}
	tests := []struct {
		name                       string
		c                          config.Redis
		sentinelUser, sentinelPass string
	}{
		{name: "sentinel with user and password", c: config.Redis{Addresses: sentinels,
			MasterName: "main", Username: "gateway", Password: "s3cret"},
			sentinelUser: "gateway", sentinelPass: "s3cret"},
		{name: "sentinel with password", c: config.Redis{Addresses: sentinels,
			MasterName: "main", Password: "s3cret"}, sentinelPass: "s3cret"},
		{name: "sentinel without credentials", c: config.Redis{Addresses: sentinels,
			MasterName: "main"}},
		{name: "standalone", c: config.Redis{Addresses: sentinels[:1],
			Username: "gateway", Password: "s3cret"}},
		{name: "cluster", c: config.Redis{Addresses: sentinels, Username: "gateway",
			Password: "s3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := options(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if o.SentinelUsername != tt.sentinelUser || o.SentinelPassword != tt.sentinelPass {
				t.Errorf("sentinel credentials: got %q, %q; want %q, %q", o.SentinelUsername,
					o.SentinelPassword, tt.sentinelUser, tt.sentinelPass)
			}
			if o.Username != tt.c.Username || o.Password != tt.c.Password {
				t.Errorf("redis credentials: got %q, %q; want %q, %q", o.Username,
					o.Password, tt.c.Username, tt.c.Password)
			}
		})
	}
}

// TestSentinelCredentials reaches a password-protected Redis through real sentinels,
// with and without passwords of their own, as the README describes: the sentinels are
// sent Redis's username and password.
func TestSentinelCredentials(t *testing.T) {
	const user, pass = "gateway", "s3cret"
	master := redistest.StartWith(t, "requirepass "+pass+"\n"+
		"user "+user+" on >"+pass+" ~* &* +@all\n")
	auth := "sentinel auth-pass main " + pass + "\n"
	protected := redistest.StartSentinel(t, master, "main", auth+"requirepass "+pass+"\n"+
		"user "+user+" on >"+pass+" +@all\n")
	open := redistest.StartSentinel(t, master, "main", auth)

	tests := []struct {
		name     string
		sentinel *redistest.Server
		username string
		works    bool
	}{
		{"protected sentinel, password", protected, "", true},
		{"protected sentinel, user and password", protected, user, true},
		{"sentinel without a password, password", open, "", true},
		// the sentinel has no such user
		{"sentinel without a password, user and password", open, user, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := New(config.Redis{Addresses: []string{tt.sentinel.Addr()},
				MasterName: "main", Username: tt.username, Password: pass,
				KeyPrefix: "gw-test:"})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = st.Put(ctx, "k", &session.Session{User: "alice"}, time.Minute)
			if tt.works && err != nil {
				t.Errorf("storing through the sentinel: %v", err)
			}
			if !tt.works && err == nil {
				t.Error("storing through the sentinel worked, want it refused")
			}
		})
	}
}

func keys(list []session.Entry) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, e.Key)
	}
	sort.Strings(out)
	return out
}

// Reads that share round trips to Redis never return a session that another gateway
// ended before the read began. Readers keep reading a session on one store while
// another store deletes it; every read started after the Delete returned must find
// nothing.
func TestBatchedReadsSeeDeletes(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStore(t, srv, "gw:"), newStore(t, srv, "gw:")
	ctx := context.Background()
	const rounds, readers = 20, 16
	for round := range rounds {
		key := fmt.Sprint("k", round)
		if err := a.Put(ctx, key, storetest.Sample("alice"), time.Hour); err != nil {
			t.Fatal(err)
		}
		var deleted atomic.Bool
		stop := make(chan struct{})
		var stale atomic.Int64
		var wg sync.WaitGroup
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := deleted.Load()
					_, err := a.Get(ctx, key)
					switch {
					case err == nil && after:
						stale.Add(1)
					case err != nil && !errors.Is(err, session.ErrNotFound):
						t.Errorf("Get: %v", err)
						return
					}
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		if err := b.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		deleted.Store(true)
		time.Sleep(5 * time.Millisecond)
		close(stop)
		wg.Wait()
		if n := stale.Load(); n > 0 {
			t.Fatalf("round %d: %d reads begun after the other store's Delete returned "+
				"found the session", round, n)
		}
	}
}

// Reads made at the same time share round trips: Redis reads far fewer times from its
// connections than it is sent reads. Without the sharing each read is one.
func TestConcurrentReadsShareRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	raw := rawClient(t, srv)
	ctx := context.Background()
	if err := st.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "k"); err != nil { // the batcher and its connection
		t.Fatal(err)
	}
	const readers, each = 32, 100
	before := readsProcessed(t, raw)
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := st.Get(ctx, "k"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := readsProcessed(t, raw) - before - 1 // less the INFO command's own
	t.Logf("%d reads of sessions took Redis %d reads of its connections", readers*each, got)
	if got > readers*each/2 {
		t.Errorf("%d concurrent reads of sessions took Redis %d reads of its connections, "+
			"want at most half as many", readers*each, got)
	}
}

// readsProcessed is how many times Redis has read from its clients' connections.
func readsProcessed(t *testing.T, raw *redis.Client) int {
	t.Helper()
	info, err := raw.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_reads_processed:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("INFO total_reads_processed: %v", err)
			}
			return n
		}
	}
	t.Fatal("INFO stats has no total_reads_processed (Redis 6 or later has)")
	return 0
}

// TestBatchedReadsThroughRedisRestart: reads that share round trips fail, fast and
// closed, while Redis is down, and work again once it is back.
func TestBatchedReadsThroughRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, srv, "gw:")
	ctx := context.Background()
	if err := st.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// readAll reads k from 16 goroutines at once, which share round trips, and returns
	// every error and how long the slowest read took
	readAll := func() ([]error, time.Duration) {
		var mu sync.Mutex
		var errs []error
		var slowest time.Duration
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				_, err := st.Get(ctx, "k")
				took := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
				slowest = max(slowest, took)
			}()
		}
		wg.Wait()
		return errs, slowest
	}
	if errs, _ := readAll(); errors.Join(errs...) != nil {
		t.Fatalf("with Redis up: %v", errors.Join(errs...))
	}

	srv.Stop()
	for round := range 2 {
		errs, slowest := readAll()
		for _, err := range errs {
			if err == nil || errors.Is(err, session.ErrNotFound) {
				t.Errorf("round %d with Redis down: got %v, want an error that is not "+
					"ErrNotFound", round, err)
			}
		}
		if slowest > 3*time.Second {
			t.Errorf("round %d with Redis down: the slowest read took %v, want under 3s",
				round, slowest)
		}
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// back, empty: nothing was saved
	deadline := time.Now().Add(5 * time.Second)
	for {
		errs, _ := readAll()
		ok := true
		for _, err := range errs {
			ok = ok && errors.Is(err, session.ErrNotFound)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads after Redis came back: %v; want ErrNotFound within 5s",
				errors.Join(errs...))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := st.Put(ctx, "k", storetest.Sample("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if errs, _ := readAll(); errors.Join(errs...) != nil {
		t.Errorf("after the restart: %v", errors.Join(errs...))
	}
}

func TestEvictionPolicy(t *testing.T) {
	srv := redistest.StartWith(t, "maxmemory-policy allkeys-lru")
	for _, protocol := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", protocol), func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: protocol})
			st := NewWithClient(rdb, "gw:")
			defer st.Close()
			got, err := st.EvictionPolicy(context.Background())
			if err != nil || got != "allkeys-lru" {
				t.Fatalf("EvictionPolicy() = %q, %v; want allkeys-lru", got, err)
			}
		})
	}
}

func TestScanReply(t *testing.T) {
	tests := []struct {
		name   string
		reply  []any
		cursor string
		keys   []string
		err    string
	}{
		{"keys", []any{"17", []any{"a", "b"}}, "17", []string{"a", "b"}, ""},
		{"none", []any{"0", []any{}}, "0", []string{}, ""},
		{"short", []any{"0"}, "", nil, "answer of 1 items"},
		{"cursor", []any{int64(0), []any{}}, "", nil, "cursor of type int64"},
		{"list", []any{"0", "a"}, "", nil, "keys of type string"},
		{"key", []any{"0", []any{"a", int64(1)}}, "", nil, "key of type int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cursor, keys, err := scanReply(tt.reply)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("scanReply() error = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || cursor != tt.cursor || !slices.Equal(keys, tt.keys) {
				t.Fatalf("scanReply() = %q, %q, %v; want %q, %q", cursor, keys, err,
					tt.cursor, tt.keys)
			}
		})
	}
}
