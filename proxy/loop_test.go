package proxy_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/server"
)

// TestRouteBackToTheGatewayStops configures a route whose upstream is the gateway
// itself: a request goes round once and is answered 508, rather than forwarded again
// and again until the gateway runs out of connections. A client's copy of the header
// that marks forwarded requests is no such loop.
func TestRouteBackToTheGatewayStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeUsers(t, filepath.Join(dir, "users.yaml"), map[string]string{"alice": alicePass}, "")
	cfg, err := config.Parse([]byte("users:\n  file: users.yaml\nsession:\n  store: memory\n"+
		"routes:\n  - upstream: \"http://"+ln.Addr().String()+"\"\n    public: [/]\n"),
		filepath.Join(dir, "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h, err := server.Build(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for _, hdr := range []http.Header{nil, {"X-Gateway-Hop": {"guess"}}} {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/x", nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusLoopDetected {
			t.Errorf("a route to the gateway itself (client headers %v): status %d, want 508",
				hdr, res.StatusCode)
		}
	}
}
