package redisstore

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/frontgate/gateway/config"
)

// slowAnswerTo is a TCP proxy to addr that holds the answer to the first command that
// names word for hold, past the clients' read timeout, as a stalled Redis would.
func slowAnswerTo(t *testing.T, addr, word string, hold time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var done atomic.Bool // the one answer has been held
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			var holdNext atomic.Bool
			go func() {
				defer up.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if bytes.Contains(bytes.ToUpper(buf[:n]), []byte(word)) &&
						done.CompareAndSwap(false, true) {
						holdNext.Store(true) // before the command reaches Redis
					}
					if _, err := up.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := up.Read(buf)
					if err != nil {
						return
					}
					if holdNext.CompareAndSwap(true, false) {
						time.Sleep(hold)
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestOnceClientSendsOnce: a command whose answer comes too late is not sent again by
// OnceClient, so Redis runs it once; the store's own client, which retries, runs it twice.
// Counting scripts go through OnceClient for that.
func TestOnceClientSendsOnce(t *testing.T) {
	srv := redistest.Start(t)
	for _, tt := range []struct {
		name string
		once bool
		want int64
	}{
		{"once", true, 1},
		{"retrying", false, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := slowAnswerTo(t, srv.Addr(), "INCR", ioTimeout+time.Second/2)
			st, err := New(config.Redis{Addresses: []string{addr}, KeyPrefix: "once:"})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rdb := st.Client()
			if tt.once {
				rdb = st.OnceClient()
			}
			key := "once:" + tt.name
			rdb.Incr(t.Context(), key)
			direct := srv.Client(t)
			deadline := time.Now().Add(5 * time.Second)
			var n int64
			for time.Now().Before(deadline) {
				if n, _ = direct.Get(t.Context(), key).Int64(); n >= tt.want {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(ioTimeout) // room for a retry that should not come
			if n, _ = direct.Get(t.Context(), key).Int64(); n != tt.want {
				t.Errorf("INCR whose answer came late: run %d times, want %d", n, tt.want)
			}
		})
	}
}
