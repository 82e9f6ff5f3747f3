package tlsstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/frontgate/gateway/authn/session/redisstore/redistest"
)

// testIssuer is a certmagic.Issuer that signs every request with a CA of its own,
// slowly, and counts the certificates it issues.
type testIssuer struct {
	key    *ecdsa.PrivateKey
	cert   *x509.Certificate
	issued atomic.Int32
}

func newTestIssuer(tb testing.TB) *testIssuer {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tlsstore test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &testIssuer{key: key, cert: cert}
}

func (iss *testIssuer) IssuerKey() string { return "tlsstore-test-ca" }

func (iss *testIssuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (
	*certmagic.IssuedCertificate, error) {
	// slow enough for a second gateway to arrive while the first is ordering
	time.Sleep(300 * time.Millisecond)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		DNSNames:     csr.DNSNames,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.cert, csr.PublicKey, iss.key)
	if err != nil {
		return nil, err
	}
	iss.issued.Add(1)
	return &certmagic.IssuedCertificate{
		Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// newGateway returns a certmagic.Config as a gateway of its own would build it: its
// own cache and its own Redis client, with the storage of every other gateway.
func newGateway(tb testing.TB, srv *redistest.Server, iss certmagic.Issuer) *certmagic.Config {
	tb.Helper()
	var cfg *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			return cfg, nil
		},
		Logger: zap.NewNop(),
	})
	tb.Cleanup(cache.Stop)
	cfg = certmagic.New(cache, certmagic.Config{
		Storage: newStorage(tb, srv, "gateway:tls:"),
		Issuers: []certmagic.Issuer{iss},
		Logger:  zap.NewNop(),
	})
	return cfg
}

// Gateways that obtain the same certificate at once order it once: the others wait
// on the lock, then find it in storage.
func TestCertmagicObtainsOnce(t *testing.T) {
	srv := redistest.Start(t)
	iss := newTestIssuer(t)
	gateways := []*certmagic.Config{
		newGateway(t, srv, iss), newGateway(t, srv, iss), newGateway(t, srv, iss),
	}
	const name = "gateway.test"

	var wg sync.WaitGroup
	for _, cfg := range gateways {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := cfg.ObtainCertSync(ctx, name); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := iss.issued.Load(); got != 1 {
		t.Errorf("the gateways ordered %d certificates, want 1", got)
	}

	// each gateway serves the one certificate
	var serials []string
	for _, cfg := range gateways {
		cert, err := cfg.CacheManagedCertificate(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cert.Names, []string{name}) {
			t.Errorf("certificate names: got %q, want %q", cert.Names, name)
		}
		serials = append(serials, cert.Leaf.SerialNumber.String())
	}
	if slices.ContainsFunc(serials, func(s string) bool { return s != serials[0] }) {
		t.Errorf("the gateways serve certificates with serials %q, want one", serials)
	}

	// what certmagic wrote, as the gateways' storage sees it
	st := gateways[0].Storage
	got, err := st.List(context.Background(), "certificates", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"certificates/tlsstore-test-ca/gateway.test/gateway.test.crt",
		"certificates/tlsstore-test-ca/gateway.test/gateway.test.json",
		"certificates/tlsstore-test-ca/gateway.test/gateway.test.key",
	}
	if !slices.Equal(got, want) {
		t.Errorf("stored: got %q, want %q", got, want)
	}

	// and no lock is left behind
	ctx := context.Background()
	iter := rawClient(t, srv).Scan(ctx, 0, "gateway:tls:lock:*", 0).Iterator()
	for iter.Next(ctx) {
		t.Errorf("lock left: %q", iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}
