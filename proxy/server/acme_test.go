package server

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// pebble is a real ACME server, Pebble, run in-process on loopback. It validates
// challenges by dialling localhost on the ports given, which must be the gateway's, and
// resolves localhost through its own loopback DNS server, never the machine's resolver.
type pebble struct {
	dir    string // directory URL
	roots  *x509.CertPool
	caPEM  string       // file with the certificate of Pebble's own HTTPS
	dns    *loopbackDNS // the only resolver Pebble's validation uses
	orders atomic.Int64
}

func startPebble(t *testing.T, httpPort, tlsPort int) *pebble {
	t.Helper()
	// No random sleep before validation; nothing else from the environment.
	os.Setenv("PEBBLE_VA_NOSLEEP", "1")
	quiet := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	authority := ca.New(quiet, store, "", "ecdsa", 0, 1,
		map[string]ca.Profile{"default": {Description: "default"}})
	// An empty resolver address would make Pebble use the machine's resolver; it gets a
	// DNS server on loopback that knows localhost and no other name.
	names := startLoopbackDNS(t, "localhost")
	validator := va.New(quiet, httpPort, tlsPort, false, names.addr, store)
	front := wfe.New(quiet, store, validator, authority, []string{"pebble.letsencrypt.org"},
		false, false, 0, 0)
	p := &pebble{dns: names}
	h := front.Handler()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		// Orders that Pebble created; a retried one (Pebble rejects some nonces on
		// purpose) is not an order.
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			rec := &statusRecorder{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			if rec.status == http.StatusCreated {
				p.orders.Add(1)
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = quiet
	t.Cleanup(srv.Close)
	p.dir = srv.URL + "/dir"
	p.caPEM = filepath.Join(t.TempDir(), "pebble-https.pem")
	os.WriteFile(p.caPEM, pemCert(srv.Certificate()), 0o600)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(authority.GetRootCert(0).Cert)
	return p
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n := 0
	fmt.Sscan(p, &n)
	return n
}

func TestACMEWithPebble(t *testing.T) {
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			httpsAddr, httpAddr := freeAddr(t), freeAddr(t)
			// Each subtest leaves Pebble only its own challenge to validate: for http-01
			// it checks TLS-ALPN on a port where nothing listens; for tls-alpn-01 the
			// gateway has no plain-HTTP listener, so HTTP-01 is off.
			alpnPort := port(httpsAddr)
			if challenge == "http-01" {
				alpnPort = port(freeAddr(t))
			}
			p := startPebble(t, port(httpAddr), alpnPort)
			up := newUpstream(t)
			path := writeConfig(t, up)
			admin := freeAddr(t)
			extra := fmt.Sprintf("tls:\n  mode: acme\n  domains: [localhost]\n"+
				"  ca: %q\n  ca_root: %q\n  email: ops@example.test\nadmin:\n"+
				"  listen: %q\n", p.dir, p.caPEM, admin)
			if challenge == "http-01" {
				extra += fmt.Sprintf("http_listen: %q\n", httpAddr)
			}
			text, _ := os.ReadFile(path)
			text = []byte(strings.Replace(string(text), `listen: "127.0.0.1:0"`,
				fmt.Sprintf("listen: %q\n%s", httpsAddr, extra), 1))
			os.WriteFile(path, text, 0o600)
			startGateway(t, path)

			base := "https://localhost:" + fmt.Sprint(port(httpsAddr))
			waitCertificate(t, httpsAddr, p.roots)
			if code, body := readyz(t, admin); code != http.StatusOK {
				t.Errorf("/readyz with the certificate obtained: %d %q, want 200", code, body)
			}
			checkHTTP2(t, base, p.roots)
			signInTLS(t, base, p.roots)
			p.dns.checkAsked(t, "localhost")
			if challenge == "http-01" {
				// Beside the challenges, plain HTTP redirects to HTTPS the configured
				// names alone: not even the address the gateway listens on.
				https := base + "/app/x?y=1"
				checkPlainHTTP(t, httpAddr, []plainHTTPCase{
					{"localhost", 308, https},
					{"LocalHost.:80", 308, https},
					{"127.0.0.1", 421, ""},
					{"other.example", 421, ""},
					{"localhost.other.example", 421, ""},
					{"evil.example:443", 421, ""},
				})
			}

			// Unknown names get no certificate and start no order, however many.
			orders := p.orders.Load()
			// For http-01, an attempt at TLS-ALPN-01 may fail first and cost an order.
			if orders < 1 || orders > 2 {
				t.Errorf("orders for localhost: got %d, want 1 or 2", orders)
			}
			handshakeUnknown(t, httpsAddr, 0, 1000)
			for _, sni := range []string{"", "203.0.113.7"} {
				c, err := tls.Dial("tcp", httpsAddr, &tls.Config{InsecureSkipVerify: true,
					ServerName: sni})
				if err == nil {
					c.Close()
				}
			}
			// Nor do they leave anything behind. The first thousand fill whatever pools
			// and caches there are; a thousand more must then leave the live heap as it
			// was, within 256 KiB: a leak of 300 bytes a handshake would exceed it, and
			// the noise of the rest of the process stays near 20 KiB.
			first := liveHeap()
			handshakeUnknown(t, httpsAddr, 1000, 1000)
			second := liveHeap()
			t.Logf("live heap after 1000 unknown-name handshakes: %d bytes; after 2000: %d",
				first, second)
			if grow := second - first; grow > 256<<10 {
				t.Errorf("1000 more unknown-name handshakes grew the live heap by %d bytes, "+
					"want at most %d", grow, 256<<10)
			}
			if n := p.orders.Load() - orders; n != 0 {
				t.Errorf("unknown names placed %d orders, want 0", n)
			}
		})
	}
}

// TestReadyzWaitsForCertificate: a gateway whose CA cannot be reached starts, but is not
// ready while HTTPS has no certificate for a configured name. (TestCertFilesReady checks
// the certificate from files.)
func TestReadyzWaitsForCertificate(t *testing.T) {
	admin, httpsAddr, nowhere := freeAddr(t), freeAddr(t), freeAddr(t)
	path := writeConfig(t, newUpstream(t))
	text, _ := os.ReadFile(path)
	text = []byte(strings.Replace(string(text), `listen: "127.0.0.1:0"`, fmt.Sprintf(
		"listen: %q\ntls:\n  mode: acme\n  domains: [localhost]\n  ca: %q\n"+
			"admin:\n  listen: %q\n", httpsAddr, "http://"+nowhere+"/dir", admin), 1))
	os.WriteFile(path, text, 0o600)
	_, logs := runLogged(t, path)
	code, body := readyz(t, admin)
	if code != http.StatusServiceUnavailable ||
		body != "not ready: no certificate for localhost yet\n" {
		t.Errorf("/readyz without a certificate: %d %q, want 503 naming localhost", code, body)
	}
	// The attempt in the background ends before the test does, which would remove
	// state_dir from under it: it fails, and waits for its next try.
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(logs.String(),
		"retrying_in"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt at a certificate within 15s; log:\n%s", logs)
		}
	}
}

// readyz asks the admin listener at addr for /readyz.
func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// handshakeUnknown makes n handshakes with the gateway at addr for names it does not
// serve, random-<from>.evil.example and on, and fails the test if one succeeds.
func handshakeUnknown(t testing.TB, addr string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true,
			ServerName: fmt.Sprintf("random-%d.evil.example", i)})
		if err == nil {
			c.Close()
			t.Fatalf("handshake for an unknown name succeeded")
		}
	}
}

// liveHeap returns the bytes of heap objects that survive a garbage collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func TestTwoGatewaysShareOneCertificateThroughRedis(t *testing.T) {
	srv := redistest.Start(t)
	httpA, httpsA, httpsB := freeAddr(t), freeAddr(t), freeAddr(t)
	// Pebble validates at the first gateway only; whichever gateway orders, the
	// challenge is answered from the shared storage.
	p := startPebble(t, port(httpA), port(httpsA))
	up := newUpstream(t)
	var bases []string
	for _, addrs := range [][2]string{{httpsA, httpA}, {httpsB, freeAddr(t)}} {
		path := writeConfig(t, up, fmt.Sprintf("session:\n  store: redis\n"+
			"  secrets: [\"0123456789abcdef0123456789abcdef-shared\"]\n"+
			"  redis:\n    addresses: [%q]\n", srv.Addr()))
		text, _ := os.ReadFile(path)
		text = []byte(strings.Replace(string(text), `listen: "127.0.0.1:0"`, fmt.Sprintf(
			"listen: %q\nhttp_listen: %q\ntls:\n  mode: acme\n  domains: [localhost]\n"+
				"  storage: redis\n  ca: %q\n  ca_root: %q\n", addrs[0], addrs[1], p.dir,
			p.caPEM), 1))
		os.WriteFile(path, text, 0o600)
		startGateway(t, path)
		bases = append(bases, addrs[0])
	}
	serials := map[string]bool{}
	for _, addr := range bases {
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.roots,
				ServerName: "localhost"})
			if err == nil {
				serials[c.ConnectionState().PeerCertificates[0].SerialNumber.String()] = true
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no certificate within 60s: %v", addr, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	p.dns.checkAsked(t, "localhost")
	if n := p.orders.Load(); n != 1 || len(serials) != 1 {
		t.Errorf("two gateways placed %d orders and serve %d certificates; want 1 and 1",
			n, len(serials))
	}
}

// waitCertificate waits up to 30s for the gateway at addr to serve localhost a
// certificate that roots trust.
func waitCertificate(t *testing.T, addr string, roots *x509.CertPool) {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := tls.Dial("tcp", addr, cfg)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate from Pebble within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
