package proxy_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/frontgate/gateway/proxy"
)

// TestHTTP2ResetStreamsMemory resets HTTP/2 streams as fast as it opens them, each a
// request with a body, which has the gateway set a read deadline for it: the memory of
// the streams must be freed once they end, not held until their deadlines, which a
// client could pile up by the tens of thousands a second.
func TestHTTP2ResetStreamsMemory(t *testing.T) {
	if proxy.RaceEnabled {
		// CI runs it again without the race detector
		t.Skip("memory measurements mean nothing under the race detector")
	}
	e := newEnv(t, "timeouts:\n  body_idle: 10m\n")
	srv := httptest.NewUnstartedServer(e.h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{
		InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	pong := make(chan struct{}, 1)
	go func() { // the server's frames are read and dropped, but for PING answers
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
				pong <- struct{}{}
			}
		}
	}()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	headers := func(id uint32) []byte {
		block.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "https"},
			{":authority", "localhost"}, {":path", "/public/x"},
			{"content-type", "text/plain"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return block.Bytes()
	}
	baseline := heapAfterGC()
	goroutines := runtime.NumGoroutine()
	const streams = 6000
	for i := range streams {
		id := uint32(2*i + 1)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: headers(id),
			EndHeaders: true}) // no END_STREAM: a body is to come
		fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
	// once the server has read every frame, its handlers end, and then their
	// deadlines are taken back
	fr.WritePing(false, [8]byte{1})
	select {
	case <-pong:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to PING")
	}
	for deadline := time.Now().Add(20 * time.Second); runtime.NumGoroutine() > goroutines+8; {
		if time.Now().After(deadline) {
			t.Logf("%d goroutines left running, from %d", runtime.NumGoroutine(), goroutines)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the server's goroutine runs the last messages
	held := int64(heapAfterGC()) - int64(baseline)
	t.Logf("%d streams reset: heap %+d bytes", streams, held)
	// held until their deadlines, they take over 1 KiB each
	if held > streams*1024/4 {
		t.Errorf("%d streams reset hold %d bytes of heap, %d each; want them freed",
			streams, held, held/streams)
	}
}

// heapAfterGC returns the bytes of heap in use once a collection has run.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
