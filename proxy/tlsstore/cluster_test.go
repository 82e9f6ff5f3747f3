package tlsstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startCluster starts a Redis cluster of n masters on loopback, each with a share of
// the slots, and stops it when tb ends. Without redis-server it skips tb, except in
// CI (CI=true), which must run these tests.
func startCluster(tb testing.TB, n int) []string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("redis-server is not installed, and CI must run the Redis tests")
		}
		tb.Skip("redis-server is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	// the nodes, each on a port whose cluster bus port (10000 up) is free too
	var (
		addrs   []string
		clients []*redis.Client
	)
	for range n {
		port := freeClusterPort(tb)
		dir := tb.TempDir()
		conf := fmt.Sprintf("bind 127.0.0.1\nport %d\nsave \"\"\nappendonly no\n"+
			"cluster-enabled yes\ncluster-config-file nodes.conf\n"+
			"cluster-node-timeout 5000\ndir %q\nlogfile %q\n",
			port, dir, filepath.Join(dir, "redis.log"))
		path := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command(bin, path)
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c := redis.NewClient(&redis.Options{Addr: addr})
		tb.Cleanup(func() { c.Close() })
		addrs, clients = append(addrs, addr), append(clients, c)
	}
	for _, c := range clients {
		for c.Ping(ctx).Err() != nil {
			if ctx.Err() != nil {
				tb.Fatalf("cluster node %s did not answer PING", c.Options().Addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// the slots, split evenly, and the nodes introduced to each other
	for i, c := range clients {
		lo, hi := i*16384/n, (i+1)*16384/n-1
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			tb.Fatal(err)
		}
		host, port, _ := net.SplitHostPort(addrs[i])
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", host, port).Err(); err != nil {
			tb.Fatal(err)
		}
	}
	for _, c := range clients {
		for {
			info, _ := c.ClusterInfo(ctx).Result()
			if strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if ctx.Err() != nil {
				tb.Fatalf("cluster node %s is not ready: %s", c.Options().Addr, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return addrs
}

// freeClusterPort returns a loopback port that, like the port 10000 above it, was free
// a moment ago.
func freeClusterPort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		port := 20000 + rand.IntN(20000)
		l1, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		l1.Close()
		if err != nil {
			continue
		}
		l2.Close()
		return port
	}
	tb.Fatal("no free port pair")
	return 0
}

// In a cluster the keys of one directory lie on several masters: List, Exists and
// Delete walk them all, and no command spans two slots.
func TestCluster(t *testing.T) {
	addrs := startCluster(t, 3)
	newClusterStorage := func() *Storage {
		rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
		t.Cleanup(func() { rdb.Close() })
		s := New(rdb, "gateway:tls:")
		s.lease, s.retry = testLease, testRetry
		return s
	}
	a, b := newClusterStorage(), newClusterStorage()
	if _, ok := a.rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("client: got %T, want a cluster client", a.rdb)
	}
	ctx := context.Background()
	mustStore(t, a, tree...)

	// the files are spread over the masters, or the test proves little
	var holding atomic.Int32
	err := a.rdb.(*redis.ClusterClient).ForEachMaster(ctx,
		func(ctx context.Context, c *redis.Client) error {
			n, err := c.DBSize(ctx).Result()
			if n > 0 {
				holding.Add(1)
			}
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	if n := holding.Load(); n < 2 {
		t.Fatalf("the files lie on %d master(s), want at least 2", n)
	}

	checkList(t, b)
	if !b.Exists(ctx, "certificates/ca-dir") {
		t.Error(`Exists("certificates/ca-dir"): got false`)
	}
	if info, err := b.Stat(ctx, "acme"); err != nil || info.IsTerminal {
		t.Errorf(`Stat("acme"): got %+v, %v; want a directory`, info, err)
	}
	if err := b.Delete(ctx, "certificates"); err != nil {
		t.Fatal(err)
	}
	for _, k := range tree {
		want := !strings.HasPrefix(k, "certificates/")
		if got := a.Exists(ctx, k); got != want {
			t.Errorf("Exists(%q) after Delete: got %v, want %v", k, got, want)
		}
	}
	got, err := a.List(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"acme", "certificates-old", "certificatesX", "ocsp"}
	if !slices.Equal(got, want) {
		t.Errorf("List of the root after Delete: got %q, want %q", got, want)
	}

	// locks
	mustLock(t, a, "job")
	assertHeldElsewhere(t, b, "job")
	if err := a.Unlock(ctx, "job"); err != nil {
		t.Fatal(err)
	}
	mustLock(t, b, "job")
	if err := b.Unlock(ctx, "job"); err != nil {
		t.Fatal(err)
	}
}
