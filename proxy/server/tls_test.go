package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for localhost with the given serial.
func writeCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	// Write to temporary names and rename, as a certificate tool replacing files does.
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: kder},
	} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestFilesModeServesAndReloads(t *testing.T) {
	certPollInterval = 50 * time.Millisecond
	up := newUpstream(t)
	path := writeConfig(t, up)
	dir := filepath.Dir(path)
	first := writeCert(t, dir, 1)
	httpAddr := freeAddr(t)
	cfgText, _ := os.ReadFile(path)
	cfgText = []byte(strings.Replace(string(cfgText), "listen: \"127.0.0.1:0\"",
		fmt.Sprintf("listen: \"127.0.0.1:0\"\nhttp_listen: %q\ntls:\n  mode: files\n"+
			"  cert_file: cert.pem\n  key_file: key.pem\n", httpAddr), 1))
	os.WriteFile(path, cfgText, 0o600)
	base := startGateway(t, path)
	base = strings.Replace(base, "http://", "https://", 1)

	served := func() *x509.Certificate {
		c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"),
			&tls.Config{InsecureSkipVerify: true, ServerName: "localhost",
				NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer c.Close()
		if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Errorf("ALPN: got %q, want h2 offered", p)
		}
		return c.ConnectionState().PeerCertificates[0]
	}
	if got := served(); got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("serving serial %v, want %v", got.SerialNumber, first.SerialNumber)
	}

	// A sign-in over TLS gets a Secure cookie and HSTS.
	pool := x509.NewCertPool()
	pool.AddCert(first)
	signInTLS(t, base, pool)

	second := writeCert(t, dir, 2)
	deadline := time.Now().Add(5 * time.Second)
	for served().SerialNumber.Cmp(second.SerialNumber) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("replaced certificate not picked up within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Plain HTTP redirects to HTTPS, keeping the method, but only for a host the
	// certificate is valid for: any other Host would make the gateway an open redirect.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "https://"))
	for _, tt := range []struct {
		host     string
		status   int
		location string
	}{
		{"localhost", 308, "https://localhost:" + port + "/app/x?y=1"},
		{"LocalHost.:80", 308, "https://localhost:" + port + "/app/x?y=1"},
		{"127.0.0.1", 308, "https://127.0.0.1:" + port + "/app/x?y=1"},
		{"other.example", 421, ""},
		{"localhost.other.example", 421, ""},
		{"evil.example:443", 421, ""},
	} {
		req, _ := http.NewRequest("POST", "http://"+httpAddr+"/app/x?y=1", nil)
		req.Host = tt.host
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Location") != tt.location {
			t.Errorf("plain HTTP for Host %q: %d %q, want %d %q", tt.host, res.StatusCode,
				res.Header.Get("Location"), tt.status, tt.location)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("plain HTTP for Host %q: Cache-Control %q, want no-store", tt.host, cc)
		}
	}
}

// signInTLS signs in as alice over HTTPS and checks the cookie and HSTS.
func signInTLS(t *testing.T, base string, roots *x509.CertPool) *http.Client {
	t.Helper()
	issued := 0
	c := signInWith(t, base, "alice", "pw", &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"},
	}, func(res *http.Response) {
		if h := res.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
			t.Errorf("no HSTS on %s: %q", res.Request.URL.Path, h)
		}
		for _, sc := range res.Header.Values("Set-Cookie") {
			if !strings.HasPrefix(sc, "gateway_session=") {
				continue
			}
			issued++
			if !strings.Contains(sc, "; Secure") {
				t.Errorf("session cookie over TLS without Secure: %q", sc)
			}
		}
	})
	if issued == 0 {
		t.Error("signing in over TLS issued no gateway_session cookie")
	}
	return c
}
