package server

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for localhost with the given serial.
func writeCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	return writeCertAs(t, dir, testCert{serial: serial})
}

// testCert is a certificate for writeCertAs to write: self-signed, for localhost. Its
// zero value is one named in the subjectAltName, valid from an hour ago for two hours,
// with an ECDSA P-256 key.
type testCert struct {
	serial int64
	// noSANs names the host in the common name alone, as old certificates name it
	noSANs bool
	// notBefore and notAfter bound its validity; zero for an hour ago and an hour on
	notBefore, notAfter time.Time
	// rsaBits gives it an RSA key of that size rather than an ECDSA one
	rsaBits int
}

// writeCertAs writes c and its key to dir as cert.pem and key.pem.
func writeCertAs(t testing.TB, dir string, c testCert) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(c.serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: c.notBefore, NotAfter: c.notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	if !c.noSANs {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	var key crypto.Signer
	var keyBlock *pem.Block
	if c.rsaBits > 0 {
		k, err := rsa.GenerateKey(rand.Reader, c.rsaBits)
		if err != nil {
			t.Fatal(err)
		}
		key = k
		keyBlock = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		kder, _ := x509.MarshalECPrivateKey(k)
		key, keyBlock = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	// Write to temporary names and rename, as a certificate tool replacing files does.
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  keyBlock,
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

// freeAddr returns a loopback address that was free a moment ago, for a listener that
// the gateway opens itself. Its port lies below Linux's ephemeral range (32768 up), from
// which the outgoing connections of tests running meanwhile take theirs, so that none
// of them takes it before the gateway does.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+mathrand.IntN(12000)))
		if err == nil {
			l.Close()
			return l.Addr().String()
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// filesGateway is a gateway serving HTTPS with a certificate from files.
type filesGateway struct {
	base     string            // https:// URL of the HTTPS listener
	httpAddr string            // address of the plain-HTTP listener
	dir      string            // where cert.pem and key.pem are
	cert     *x509.Certificate // the certificate served at start
}

// startFilesGateway starts a gateway in files mode, on a self-signed certificate for
// localhost, with tlsExtra (lines indented under tls:) added to its tls settings.
func startFilesGateway(t *testing.T, tlsExtra string) *filesGateway {
	t.Helper()
	up := newUpstream(t)
	path := writeConfig(t, up)
	g := &filesGateway{httpAddr: freeAddr(t), dir: filepath.Dir(path)}
	g.cert = writeCert(t, g.dir, 1)
	text, _ := os.ReadFile(path)
	text = []byte(strings.Replace(string(text), "listen: \"127.0.0.1:0\"",
		fmt.Sprintf("listen: \"127.0.0.1:0\"\nhttp_listen: %q\ntls:\n  mode: files\n"+
			"  cert_file: cert.pem\n  key_file: key.pem\n%s", g.httpAddr, tlsExtra), 1))
	os.WriteFile(path, text, 0o600)
	g.base = strings.Replace(startGateway(t, path), "http://", "https://", 1)
	return g
}

func TestFilesModeServesAndReloads(t *testing.T) {
	certPollInterval = 50 * time.Millisecond
	g := startFilesGateway(t, "")
	base, first := g.base, g.cert

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

	second := writeCert(t, g.dir, 2)
	deadline := time.Now().Add(5 * time.Second)
	for served().SerialNumber.Cmp(second.SerialNumber) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("replaced certificate not picked up within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Plain HTTP redirects to HTTPS, keeping the method, but only for a host the
	// certificate is valid for: any other Host would make the gateway an open redirect.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "https://"))
	checkPlainHTTP(t, g.httpAddr, []plainHTTPCase{
		{"localhost", 308, "https://localhost:" + port + "/app/x?y=1"},
		{"LocalHost.:80", 308, "https://localhost:" + port + "/app/x?y=1"},
		{"127.0.0.1", 308, "https://127.0.0.1:" + port + "/app/x?y=1"},
		{"other.example", 421, ""},
		{"localhost.other.example", 421, ""},
		{"evil.example:443", 421, ""},
	})
	// "*" names no resource, so there is nothing to redirect it to (Go's server answers
	// OPTIONS * itself)
	c, err := net.Dial("tcp", g.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET * HTTP/1.1\r\nHost: localhost\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
		t.Errorf("GET * on plain HTTP: %d, Location %q; want 400 and none",
			res.StatusCode, res.Header.Get("Location"))
	}
}

// plainHTTPCase is a Host sent to the plain-HTTP listener and the answer it must get.
type plainHTTPCase struct {
	host     string
	status   int
	location string // for a redirect; "" for none
}

// checkPlainHTTP sends POST /app/x?y=1 to the plain-HTTP listener at addr with each Host
// of cases, and checks the status, the Location, and that no cache may keep the answer.
func checkPlainHTTP(t *testing.T, addr string, cases []plainHTTPCase) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	for _, tt := range cases {
		req, _ := http.NewRequest("POST", "http://"+addr+"/app/x?y=1", nil)
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

// checkHTTP2 checks that the gateway at base, whose certificate roots trust, answers a
// client that offers HTTP/2 over HTTP/2.
func checkHTTP2(t *testing.T, base string, roots *x509.CertPool) {
	t.Helper()
	tr := &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(base + "/.gateway/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("got %s with ALPN %q, want HTTP/2 over h2", res.Proto,
			res.TLS.NegotiatedProtocol)
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
			// over HTTPS, under a name only the gateway's own host can set
			if !strings.HasPrefix(sc, "__Host-gateway_session=") {
				continue
			}
			issued++
			if !strings.Contains(sc, "; Secure") {
				t.Errorf("session cookie over TLS without Secure: %q", sc)
			}
		}
	})
	if issued == 0 {
		t.Error("signing in over TLS issued no __Host-gateway_session cookie")
	}
	return c
}

func TestTLSVersions(t *testing.T) {
	g := startFilesGateway(t, "")
	addr := strings.TrimPrefix(g.base, "https://")
	cbc := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
	for _, tt := range []struct {
		name    string
		version uint16
		suites  []uint16 // offered in TLS 1.2; nil for Go's defaults
		served  bool
		alert   byte // the alert of one not served
	}{
		{"TLS 1.0", tls.VersionTLS10, nil, false, 70},
		{"TLS 1.1", tls.VersionTLS11, nil, false, 70},
		{"TLS 1.2", tls.VersionTLS12, nil, true, 0},
		{"TLS 1.2, CBC with SHA-1 alone", tls.VersionTLS12, cbc, false, 40},
		{"TLS 1.3", tls.VersionTLS13, nil, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost",
				MinVersion: tt.version, MaxVersion: tt.version, CipherSuites: tt.suites}
			// The gateway itself must refuse: its answer to a ClientHello that offers
			// this version alone is read from the wire.
			typ, body := firstRecord(t, addr, clientHello(t, cfg))
			switch {
			case tt.served && (typ != recordHandshake || len(body) == 0 || body[0] != 2):
				t.Errorf("answer to the ClientHello: record %d % x…, want a ServerHello",
					typ, body[:min(len(body), 2)])
			case !tt.served && (typ != recordAlert || len(body) != 2 || body[1] != tt.alert):
				t.Errorf("answer to the ClientHello: record %d % x…, want the alert %d",
					typ, body[:min(len(body), 2)], tt.alert)
			}
			if !tt.served {
				return
			}
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer c.Close()
			if v := c.ConnectionState().Version; v != tt.version {
				t.Errorf("negotiated version %#x, want %#x", v, tt.version)
			}
		})
	}
}

// TLS record content types.
const (
	recordAlert     = 21
	recordHandshake = 22
)

// firstRecord sends hello to addr and returns the content type and body of the first
// record it answers with, or 0 and nil when it closes the connection without one.
func firstRecord(t *testing.T, addr string, hello []byte) (byte, []byte) {
	t.Helper()
	c, err := sendHello(t, addr, hello)
	if err != nil {
		t.Fatalf("sending the ClientHello: %v", err)
	}
	defer c.Close()
	rec, err := readRecord(c)
	if err != nil {
		return 0, nil
	}
	return rec[0], rec[5:]
}

func TestHSTS(t *testing.T) {
	for _, tt := range []struct {
		name, tlsExtra, want string
	}{
		{"default", "", "max-age=31536000"},
		{"on", "  hsts: true\n", "max-age=31536000"},
		{"off", "  hsts: false\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := startFilesGateway(t, tt.tlsExtra)
			roots := x509.NewCertPool()
			roots.AddCert(g.cert)
			tr := &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
			defer tr.CloseIdleConnections()
			// a page of the gateway's own and one from the upstream
			for _, path := range []string{"/.gateway/login", "/public/x"} {
				res, err := (&http.Client{Transport: tr}).Get(g.base + path)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d, want 200", path, res.StatusCode)
				}
				got := strings.Join(res.Header.Values("Strict-Transport-Security"), ", ")
				if got != tt.want {
					t.Errorf("GET %s: Strict-Transport-Security %q, want %q", path, got,
						tt.want)
				}
			}
		})
	}
}

// errStarted stands for a Run that started and then stopped cleanly.
var errStarted = errors.New("started")

// TestHTTPListenBoundFirst checks that Run binds http_listen before it sets up TLS, and
// so before certmagic manages certificates: its solver would bind a free HTTP-01 port
// itself and keep the gateway from listening there. Without TLS, http_listen is unused.
func TestHTTPListenBoundFirst(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tt := range []struct {
		name, tls string
		inUse     bool // Run must fail on the port taken; else start
	}{
		// A CA root that setting up TLS rejects: Run that set TLS up first would fail on
		// it, and would ask no CA either way.
		{"acme", "tls:\n  mode: acme\n  domains: [localhost]\n" +
			"  ca: \"https://127.0.0.1:1/dir\"\n  ca_root: root.pem\n", true},
		{"off", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:1")
			dir := filepath.Dir(path)
			os.WriteFile(filepath.Join(dir, "root.pem"), []byte("not a certificate\n"),
				0o600)
			text, _ := os.ReadFile(path)
			text = []byte(strings.Replace(string(text), "listen: \"127.0.0.1:0\"",
				fmt.Sprintf("listen: \"127.0.0.1:0\"\nhttp_listen: %q\n%s", taken.Addr(),
					tt.tls), 1))
			os.WriteFile(path, text, 0o600)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Options{ConfigPath: path, Stderr: io.Discard,
					Ready: func(net.Addr) { started <- struct{}{} }})
			}()
			var err error
			select {
			case <-started:
				cancel()
				if err = <-done; err == nil {
					err = errStarted
				}
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run neither started nor failed within 10s")
			}
			switch {
			case tt.inUse && !errors.Is(err, syscall.EADDRINUSE):
				t.Errorf("Run with http_listen taken: got %v, want the port in use", err)
			case !tt.inUse && err != errStarted:
				t.Errorf("Run with http_listen taken: got %v, want it to start", err)
			}
		})
	}
}

// lookRig is files mode loaded from the pair in a folder, with what a test of its looks
// needs: the pair's bytes, to put back, and a log of what the looks say.
type lookRig struct {
	cf                *certFiles
	certFile, keyFile string
	goodCert, goodKey []byte
	logs              strings.Builder
	lg                *slog.Logger
	w                 certWatch
}

// newLookRig loads the pair cert.pem and key.pem of dir as files mode does at start.
func newLookRig(t *testing.T, dir string) *lookRig {
	t.Helper()
	r := &lookRig{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir,
		"key.pem")}
	r.goodCert, _ = os.ReadFile(r.certFile)
	r.goodKey, _ = os.ReadFile(r.keyFile)
	r.cf = &certFiles{certFile: r.certFile, keyFile: r.keyFile}
	if _, err := r.cf.load(time.Now()); err != nil {
		t.Fatal(err)
	}
	r.lg = timelessLogger(&r.logs)
	return r
}

// TestCertFilesLook follows the looks of files mode at its certificate files through a
// replacement gone wrong and put right, and checks what each logs: a failure once, then
// again for another reason, as an error once it lasts and again an hour on; the return
// of the pair served before; a new pair that names fewer hosts, with a key others may
// read; and one whose RSA key is too small.
func TestCertFilesLook(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, 1)
	r := newLookRig(t, dir)
	cf, certFile, keyFile, goodCert, goodKey := r.cf, r.certFile, r.keyFile, r.goodCert,
		r.goodKey
	logs, lg, w, now := &r.logs, r.lg, &r.w, time.Now()
	step := func(name string, change func(), want ...string) {
		t.Helper()
		if change != nil {
			change()
		}
		cf.look(w, lg, now)
		checkRecords(t, name, logs, want...)
	}
	write := func(path string, b []byte) func() {
		return func() { os.WriteFile(path, b, 0o600) }
	}
	files := "cert_file=" + certFile + " key_file=" + keyFile

	step("unchanged", nil)
	step("key broken", write(keyFile, []byte("not a key")),
		`level=WARN msg="certificate files do not load, keeping the last good pair and `+
			`looking again" `+files+` error="loading certificate: tls: failed to find any PEM `+
			`data in key input"`)
	step("still broken", nil)
	certErr := `error="loading certificate: tls: failed to find any PEM data in ` +
		`certificate input"`
	step("broken another way", write(certFile, []byte("not a certificate")),
		`level=WARN msg="certificate files do not load, keeping the last good pair and `+
			`looking again" `+files+` `+certErr)
	step("fourth look", nil)
	stillBroken := `level=ERROR msg="certificate files still do not load, keeping the ` +
		`last good pair" ` + files + ` ` + certErr
	step("fifth look", nil, stillBroken+" for="+(5*certPollInterval).String())
	step("sixth look", nil)
	now = now.Add(certErrorEvery)
	step("an hour on", nil, stillBroken+" for="+(7*certPollInterval).String())
	step("the pair served before, back", func() {
		write(certFile, goodCert)()
		write(keyFile, goodKey)()
	}, `level=INFO msg="certificate files load again; the pair is the one served before" `+
		files)
	step("a pair naming no host, with a key others may read", func() {
		// valid past the hour the looks went on
		writeCertAs(t, dir, testCert{serial: 2, noSANs: true,
			notAfter: time.Now().Add(48 * time.Hour)})
		os.Chmod(keyFile, 0o644)
	}, `level=INFO msg="certificate reloaded" `+files,
		`level=WARN msg="the certificate reloaded no longer names what the last one did: `+
			`HTTPS fails for them, and http_listen no longer redirects them" `+files+
			` names="[localhost 127.0.0.1]"`,
		`level=WARN msg="certificate reloaded with a likely mistake" `+files+` problem="`+
			keyFile+` may be read by others (mode 0644); run chmod 600 on it"`)
	step("unchanged again", nil)
	step("a pair with an RSA key of 1024 bits", func() {
		writeCertAs(t, dir, testCert{serial: 3, rsaBits: 1024,
			notAfter: time.Now().Add(48 * time.Hour)})
	}, `level=INFO msg="certificate reloaded" `+files,
		`level=WARN msg="certificate reloaded with a likely mistake" `+files+` problem="`+
			keyFile+` holds a 1024-bit RSA key: under 2048 bits it is within reach of `+
			`factoring`)
}

// timelessLogger returns a logger that writes text records to b without their time, for
// tests to compare.
func timelessLogger(b *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// checkRecords checks that logs holds as many records as want, each holding the text
// of want in its place, and empties logs.
func checkRecords(t testing.TB, name string, logs *strings.Builder, want ...string) {
	t.Helper()
	defer logs.Reset()
	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	if logs.Len() == 0 {
		lines = nil
	}
	if len(lines) != len(want) {
		t.Fatalf("%s: logged %q, want %d records %q", name, lines, len(want), want)
	}
	for i, l := range lines {
		if !strings.Contains(l, want[i]) {
			t.Errorf("%s: record %q lacks %q", name, l, want[i])
		}
	}
}

// Certificates outside their validity period, for the tests of files mode.
var (
	expiredCert = testCert{notBefore: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		notAfter: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	notYetCert = testCert{notBefore: time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC),
		notAfter: time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)}
)

// TestCertFilesOutOfDate: a new pair outside its validity period does not replace one
// within its own, which browsers accept, and the refusal is an error at once; when the
// pair served is out of date too, the new one is served, with a warning.
func TestCertFilesOutOfDate(t *testing.T) {
	const (
		expired = "reason=\"expired on 2025-01-02T03:04:05Z\""
		notYet  = "reason=\"is not valid before 2099-01-02T03:04:05Z\""
	)
	for _, tt := range []struct {
		name     string
		old, new testCert
		served   int64 // the serial served after the look: 1 old, 2 new
		// the records of the look; %FILES% stands for the files' keys, %FOR% for one
		// look's time
		want []string
	}{
		{"valid by valid", testCert{}, testCert{}, 2, []string{
			`level=INFO msg="certificate reloaded"`}},
		{"valid by expired", testCert{}, expiredCert, 1, []string{
			`level=ERROR msg="certificate files hold a certificate outside its validity ` +
				`period, keeping the last good pair" %FILES% ` + expired + ` for=%FOR%`}},
		{"valid by not yet valid", testCert{}, notYetCert, 1, []string{
			`level=ERROR msg="certificate files hold a certificate outside its validity ` +
				`period, keeping the last good pair" %FILES% ` + notYet + ` for=%FOR%`}},
		{"expired by valid", expiredCert, testCert{}, 2, []string{
			`level=INFO msg="certificate reloaded"`}},
		{"expired by not yet valid", expiredCert, notYetCert, 2, []string{
			`level=INFO msg="certificate reloaded"`,
			`level=WARN msg="certificate reloaded outside its validity period, as the one ` +
				`it replaces was" %FILES% ` + notYet}},
		{"not yet valid by expired", notYetCert, expiredCert, 2, []string{
			`level=INFO msg="certificate reloaded"`,
			`level=WARN msg="certificate reloaded outside its validity period, as the one ` +
				`it replaces was" %FILES% ` + expired}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := "cert_file=" + filepath.Join(dir, "cert.pem") + " key_file=" +
				filepath.Join(dir, "key.pem")
			tt.old.serial, tt.new.serial = 1, 2
			writeCertAs(t, dir, tt.old)
			cf := &certFiles{certFile: filepath.Join(dir, "cert.pem"),
				keyFile: filepath.Join(dir, "key.pem")}
			if _, err := cf.load(time.Now()); err != nil {
				t.Fatal(err)
			}
			writeCertAs(t, dir, tt.new)
			var logs strings.Builder
			cf.look(&certWatch{}, timelessLogger(&logs), time.Now())
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.NewReplacer("%FILES%", files,
					"%FOR%", certPollInterval.String()).Replace(w)
			}
			checkRecords(t, "the look", &logs, want...)
			if got := cf.leaf().SerialNumber.Int64(); got != tt.served {
				t.Errorf("serving serial %d, want %d", got, tt.served)
			}
		})
	}
}

// TestCertFilesOutOfDateLogged follows the looks of files mode at a new pair out of date
// that it refuses: an error at once, not again at the next look, again an hour on and
// when the reason changes, and the return of the pair served, which is served all along;
// then a pair written before its time, refused until it comes.
func TestCertFilesOutOfDateLogged(t *testing.T) {
	dir := t.TempDir()
	writeCertAs(t, dir, testCert{serial: 1, notAfter: time.Now().Add(48 * time.Hour)})
	r := newLookRig(t, dir)
	cf, certFile, keyFile, goodCert, goodKey := r.cf, r.certFile, r.keyFile, r.goodCert,
		r.goodKey
	logs, lg, w, now := &r.logs, r.lg, &r.w, time.Now()
	step := func(name string, change func(), served int64, want ...string) {
		t.Helper()
		if change != nil {
			change()
		}
		cf.look(w, lg, now)
		checkRecords(t, name, logs, want...)
		if got := cf.leaf().SerialNumber.Int64(); got != served {
			t.Errorf("%s: serving serial %d, want %d", name, got, served)
		}
	}
	refused := `level=ERROR msg="certificate files hold a certificate outside its ` +
		`validity period, keeping the last good pair" cert_file=` + certFile +
		` key_file=` + keyFile
	expired := refused + ` reason="expired on 2025-01-02T03:04:05Z"`

	step("an expired pair", func() {
		c := expiredCert
		c.serial = 2
		writeCertAs(t, dir, c)
	}, 1, expired+" for="+certPollInterval.String())
	step("the next look", nil, 1)
	now = now.Add(certErrorEvery)
	step("an hour on", nil, 1, expired+" for="+(3*certPollInterval).String())
	step("a pair not valid yet", func() {
		c := notYetCert
		c.serial = 3
		writeCertAs(t, dir, c)
	}, 1, refused+` reason="is not valid before 2099-01-02T03:04:05Z" for=`+
		(4*certPollInterval).String())
	step("the pair served before, back", func() {
		os.WriteFile(certFile, goodCert, 0o600)
		os.WriteFile(keyFile, goodKey, 0o600)
	}, 1, `level=INFO msg="certificate files load again; the pair is the one served before"`)
	step("unchanged", nil, 1)

	early := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	step("a pair valid from two hours on", func() {
		writeCertAs(t, dir, testCert{serial: 4, notBefore: early,
			notAfter: early.Add(48 * time.Hour)})
	}, 1, refused+` reason="is not valid before `+early.UTC().Format(time.RFC3339)+`"`)
	now = now.Add(2 * time.Hour)
	step("two hours on", nil, 4, `level=INFO msg="certificate reloaded"`)
}

// TestCertFilesReady: HTTPS from files is not ready while the certificate served has
// expired or is not valid yet, and says which with the date in UTC.
func TestCertFilesReady(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name                string
		notBefore, notAfter time.Time
		want                string // the error; "" for ready
	}{
		{"valid", now.Add(-time.Hour), now.Add(time.Hour), ""},
		{"expired", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC+2", 2*3600)),
			"the certificate of cert.pem expired on 2025-01-02T01:04:05Z"},
		{"not valid yet", time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC),
			time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC),
			"the certificate of cert.pem is not valid before 2099-01-02T03:04:05Z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cf := &certFiles{certFile: "cert.pem", cert: &tls.Certificate{
				Leaf: &x509.Certificate{NotBefore: tt.notBefore, NotAfter: tt.notAfter}}}
			got := ""
			if err := cf.ready(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ready: got %q, want %q", got, tt.want)
			}
		})
	}
}
