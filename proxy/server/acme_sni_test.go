package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

// Case S23 of the security review beside TestACMEWithPebble: server names that are
// the configured one written otherwise, or another, and a request whose Host names
// another route than the name its handshake was for.

// countedUpstream answers with its name and the user, and counts its requests.
type countedUpstream struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountedUpstream(t *testing.T, name string) *countedUpstream {
	t.Helper()
	u := &countedUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		u.hits.Add(1)
		fmt.Fprintf(w, "%s %s", name, r.Header.Get("X-Forwarded-User"))
	}))
	t.Cleanup(u.Close)
	return u
}

// clientHello returns the first record a Go client sends in a handshake under cfg: its
// ClientHello, which nothing signs, so a test may edit it.
func clientHello(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		defer a.Close()
		tls.Client(a, cfg).Handshake()
	}()
	b.SetDeadline(time.Now().Add(10 * time.Second))
	rec, err := readRecord(b)
	if err != nil {
		t.Fatalf("reading the ClientHello: %v", err)
	}
	return rec
}

// readRecord reads one TLS record from r, header and all: rec[0] is its content type,
// rec[5:] its body.
func readRecord(r io.Reader) (rec []byte, err error) {
	rec = make([]byte, 5)
	if _, err := io.ReadFull(r, rec); err != nil {
		return nil, err
	}
	rec = append(rec, make([]byte, binary.BigEndian.Uint16(rec[3:5]))...)
	if _, err := io.ReadFull(r, rec[5:]); err != nil {
		return nil, err
	}
	return rec, nil
}

// sendHello connects to addr and sends hello, with 10 s for all that follows. The
// connection is closed when the test ends.
func sendHello(t *testing.T, addr string, hello []byte) (net.Conn, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write(hello)
	return c, err
}

// handshakeWithSNI offers the server name sni to addr, exactly as written: Go's client
// drops a trailing dot from a ServerName, so the ClientHello for a name of the same
// length is edited. It is a TLS 1.2 handshake, whose certificate travels in the clear.
// It returns the certificates the gateway presents, or nil when it refuses the handshake.
func handshakeWithSNI(t *testing.T, addr, sni string) []*x509.Certificate {
	t.Helper()
	stand := strings.Repeat("x", len(sni))
	hello := clientHello(t, &tls.Config{ServerName: stand, InsecureSkipVerify: true,
		MaxVersion: tls.VersionTLS12})
	if bytes.Count(hello, []byte(stand)) != 1 {
		t.Fatalf("the ClientHello holds %q %d times, want once", stand,
			bytes.Count(hello, []byte(stand)))
	}
	hello = bytes.Replace(hello, []byte(stand), []byte(sni), 1)
	c, err := sendHello(t, addr, hello)
	if err != nil {
		return nil
	}
	defer c.Close()
	// Read the server's handshake messages up to its Certificate; anything else, an
	// alert or the connection closed, is a refusal.
	br := bufio.NewReader(c)
	var msgs []byte
	for {
		rec, err := readRecord(br)
		if err != nil || rec[0] != recordHandshake {
			return nil
		}
		msgs = append(msgs, rec[5:]...)
		for len(msgs) >= 4 {
			n := int(msgs[1])<<16 | int(msgs[2])<<8 | int(msgs[3])
			if len(msgs) < 4+n {
				break
			}
			typ, msg := msgs[0], msgs[4:4+n]
			msgs = msgs[4+n:]
			if typ != 11 { // not Certificate
				continue
			}
			// certificate_list<3> of ASN.1Cert<3>, the server's first
			var certs []*x509.Certificate
			for rest := msg[min(3, len(msg)):]; len(rest) > 0; {
				if len(rest) < 3 {
					t.Fatal("malformed Certificate message")
				}
				m := int(rest[0])<<16 | int(rest[1])<<8 | int(rest[2])
				if len(rest) < 3+m {
					t.Fatal("malformed Certificate message")
				}
				cert, err := x509.ParseCertificate(rest[3 : 3+m])
				if err != nil {
					t.Fatalf("parsing the gateway's certificate: %v", err)
				}
				certs = append(certs, cert)
				rest = rest[3+m:]
			}
			return certs
		}
	}
}

// handshakeGo offers sni through Go's client, and returns the certificates the gateway
// presents, or nil when it refuses.
func handshakeGo(t *testing.T, addr, sni string) []*x509.Certificate {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return nil
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates
}

func TestS23UnknownSNI(t *testing.T) {
	httpsAddr := freeAddr(t)
	// The gateway has no plain-HTTP listener: Pebble validates by TLS-ALPN-01 only.
	p := startPebble(t, port(freeAddr(t)), port(httpsAddr))
	local, app2 := newCountedUpstream(t, "local"), newCountedUpstream(t, "app2")
	dir := t.TempDir()
	hash, err := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(fmt.Sprintf("users:\n"+
		"  alice:\n    password: %q\n    groups: [staff]\n"+
		"  bob:\n    password: %q\n    groups: [admins]\n", hash, hash)), 0o600)
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf("listen: %q\nusers:\n  file: users.yaml\n"+
		"routes:\n  - host: localhost\n    upstream: %q\n"+
		"  - host: app2.example.test\n    upstream: %q\n    allow:\n      groups: [admins]\n"+
		"tls:\n  mode: acme\n  domains: [localhost]\n  ca: %q\n  ca_root: %q\n"+
		"  email: ops@example.test\n", httpsAddr, local.URL, app2.URL, p.dir, p.caPEM)),
		0o600)
	startGateway(t, path)

	// The configured name's certificate, which Pebble issues and the rest is judged by.
	trusted := &tls.Config{RootCAs: p.roots, ServerName: "localhost"}
	waitCertificate(t, httpsAddr, p.roots)
	orders := p.orders.Load()

	t.Run("server names", func(t *testing.T) {
		for _, tt := range []struct {
			name, sni string
			raw       bool // sent as written, not through Go's client
			served    bool // the handshake must succeed
		}{
			// The edited ClientHello does reach a certificate when the name is right.
			{"the name itself, edited in", "localhost", true, true},
			{"trailing dot", "localhost.", true, false},
			{"two trailing dots", "localhost..", true, false},
			{"upper case", "LOCALHOST", false, false},
			{"upper case and a trailing dot", "LocalHost.", true, false},
			{"a subdomain", "www.localhost", false, false},
			{"the name as a prefix", "localhost.evil.example", false, false},
			{"another name", "random-1.evil.example", false, false},
			{"another route's host", "app2.example.test", false, false},
			{"no server name", "", false, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := p.orders.Load()
				var certs []*x509.Certificate
				if tt.raw {
					certs = handshakeWithSNI(t, httpsAddr, tt.sni)
				} else {
					certs = handshakeGo(t, httpsAddr, tt.sni)
				}
				if len(certs) > 0 {
					// Served at all, then with the configured name's certificate.
					inter := x509.NewCertPool()
					for _, c := range certs[1:] {
						inter.AddCert(c)
					}
					if _, err := certs[0].Verify(x509.VerifyOptions{Roots: p.roots,
						Intermediates: inter, DNSName: "localhost"}); err != nil {
						t.Errorf("SNI %q: served a certificate for %v that is not the "+
							"configured name's: %v", tt.sni, certs[0].DNSNames, err)
					}
				}
				if tt.served && len(certs) == 0 {
					t.Errorf("SNI %q: handshake refused, want the certificate", tt.sni)
				}
				t.Logf("SNI %q: certificate served: %t", tt.sni, len(certs) > 0)
				if n := p.orders.Load() - before; n != 0 {
					t.Errorf("SNI %q placed %d orders, want 0", tt.sni, n)
				}
			})
		}
	})

	t.Run("Host of another route", func(t *testing.T) {
		base := "https://" + net.JoinHostPort("localhost", fmt.Sprint(port(httpsAddr)))
		clients := map[string]*http.Client{}
		for _, user := range []string{"alice", "bob"} {
			clients[user] = signInWith(t, base, user, "pw",
				&http.Transport{TLSClientConfig: trusted}, nil)
		}
		for _, tt := range []struct {
			user, host string
			want       []int
			served     *countedUpstream // the upstream that answers, or nil for none
		}{
			// The rules of the host named, never those of the handshake's name.
			{"alice", "app2.example.test", []int{403, 421}, nil},
			{"alice", "APP2.example.test", []int{403, 421}, nil},
			{"alice", "app2.example.test.", []int{400, 403, 421}, nil},
			{"alice", "app2.example.test:443", []int{403, 421}, nil},
			{"alice", "localhost", []int{200}, local},
			{"bob", "app2.example.test", []int{200, 421}, app2},
		} {
			t.Run(tt.user+" "+tt.host, func(t *testing.T) {
				hits := [2]int64{local.hits.Load(), app2.hits.Load()}
				req, _ := http.NewRequest(http.MethodGet, base+"/x", nil)
				req.Host = tt.host
				u, _ := url.Parse(base)
				for _, ck := range clients[tt.user].Jar.Cookies(u) {
					req.AddCookie(ck)
				}
				res, err := (&http.Client{Transport: clients[tt.user].Transport}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				t.Logf("status %d", res.StatusCode)
				if !containsInt(tt.want, res.StatusCode) {
					t.Errorf("status %d, want one of %v", res.StatusCode, tt.want)
				}
				got := [2]int64{local.hits.Load() - hits[0], app2.hits.Load() - hits[1]}
				want := [2]int64{}
				if res.StatusCode == http.StatusOK && tt.served == local {
					want[0] = 1
				}
				if res.StatusCode == http.StatusOK && tt.served == app2 {
					want[1] = 1
				}
				if got != want {
					t.Errorf("upstream requests (local, app2): got %v, want %v; body %q",
						got, want, body)
				}
				if res.StatusCode == http.StatusOK && !strings.HasSuffix(string(body),
					" "+tt.user) {
					t.Errorf("body %q, want the upstream to see %s", body, tt.user)
				}
			})
		}
	})

	// The configured name keeps working, and nothing above placed an order.
	c, err := tls.Dial("tcp", httpsAddr, trusted)
	if err != nil {
		t.Fatalf("handshake for localhost after the others: %v", err)
	}
	c.Close()
	if n := p.orders.Load() - orders; n != 0 {
		t.Errorf("%d orders placed after the first certificate, want 0", n)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
