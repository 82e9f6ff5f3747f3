package assertion_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/frontgate/gateway/proxy/assertion"
)

// rfc8037Seed and rfc8037Kid are the Ed25519 private key "d" of RFC 8037 appendix A.1 and
// its RFC 7638 thumbprint from appendix A.3.
const (
	rfc8037Seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037Kid  = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

// pemKey returns key as a PEM PKCS#8 block.
func pemKey(tb testing.TB, key any) []byte {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("MarshalPKCS8PrivateKey: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writeFile writes data to a new file in a temporary folder, with mode perm.
func writeFile(tb testing.TB, data []byte, perm fs.FileMode) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "key.pem")
	if err := os.WriteFile(path, data, perm); err != nil {
		tb.Fatal(err)
	}
	// WriteFile's mode is subject to the umask; set it exactly.
	if err := os.Chmod(path, perm); err != nil {
		tb.Fatal(err)
	}
	return path
}

func rfc8037Key(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037Seed)
	if err != nil {
		tb.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func TestOpenKeyFile(t *testing.T) {
	path := writeFile(t, pemKey(t, rfc8037Key(t)), 0o600)
	s, err := assertion.Open(path, "")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := s.KeyID(); got != rfc8037Kid {
		t.Errorf("KeyID() = %q, want the RFC 8037 thumbprint %q", got, rfc8037Kid)
	}
	// The state directory is not used when a key file is given.
	s2, err := assertion.Open(path, filepath.Join(t.TempDir(), "unused"))
	if err != nil || s2.KeyID() != rfc8037Kid {
		t.Errorf("Open with both: %v, %v; want kid %q", s2, err, rfc8037Kid)
	}
}

func TestOpenGeneratesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s1, err := assertion.Open("", dir)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	path := filepath.Join(dir, assertion.KeyFile)
	data1, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading generated key: %v", err)
	}
	for name, want := range map[string]fs.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}

	s2, err := assertion.Open("", dir)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if s1.KeyID() != s2.KeyID() {
		t.Errorf("second Open: kid %q, want the first's %q", s2.KeyID(), s1.KeyID())
	}
	data2, _ := os.ReadFile(path)
	if !bytes.Equal(data1, data2) {
		t.Error("second Open rewrote the key file")
	}
	// What s1 signs, s2's key set verifies.
	now := time.Now()
	token, err := s1.Sign(assertion.Claims{Subject: "a", Audience: "a.test"}, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, s2.JWKS(), token, "a.test", now); err != nil {
		t.Errorf("token of the first Open fails under the second's key set: %v", err)
	}

	// The generated file is what an operator could configure as key_file.
	s3, err := assertion.Open(path, "")
	if err != nil || s3.KeyID() != s1.KeyID() {
		t.Errorf("Open(generated file): %v, %v; want kid %q", s3, err, s1.KeyID())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want only the key", len(entries))
	}
}

// TestOpenConcurrent starts gateways sharing a state directory at once: all must end up
// with the one key.
func TestOpenConcurrent(t *testing.T) {
	dir := t.TempDir()
	kids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Go(func() {
			s, err := assertion.Open("", dir)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			kids[i] = s.KeyID()
		})
	}
	wg.Wait()
	for i, kid := range kids {
		if kid != kids[0] {
			t.Errorf("Open %d: kid %q, want %q like Open 0", i, kid, kids[0])
		}
	}
}

func TestOpenRefusesExposedKey(t *testing.T) {
	for _, perm := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o606, 0o601} {
		t.Run(perm.String(), func(t *testing.T) {
			path := writeFile(t, pemKey(t, rfc8037Key(t)), perm)
			_, err := assertion.Open(path, "")
			if !errors.Is(err, assertion.ErrKeyExposed) {
				t.Fatalf("Open = %v, want ErrKeyExposed", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

// TestOpenRefusesExposedGeneratedKey: a generated key that became readable is refused
// too, not replaced, since others may already hold it.
func TestOpenRefusesExposedGeneratedKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := assertion.Open("", dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, assertion.KeyFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := assertion.Open("", dir); !errors.Is(err, assertion.ErrKeyExposed) {
		t.Errorf("Open = %v, want ErrKeyExposed", err)
	}
}

func TestOpenMalformedKey(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed := pemKey(t, rfc8037Key(t))
	block, _ := pem.Decode(ed)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("not a key\n")},
		{"raw seed", []byte(rfc8037Seed)},
		{"public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY",
			Bytes: mustPKIX(t, rfc8037Key(t).Public())})},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY",
			Bytes: block.Bytes})},
		{"ECDSA PKCS#8", pemKey(t, ecKey)},
		{"truncated DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY",
			Bytes: block.Bytes[:len(block.Bytes)-3]})},
		{"cut PEM", ed[:len(ed)-20]},
		{"two keys", append(append([]byte{}, ed...), pemKey(t, newKey(t))...)},
		{"huge", bytes.Repeat([]byte("A"), 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.data, 0o600)
			_, err := assertion.Open(path, "")
			if !errors.Is(err, assertion.ErrMalformedKey) {
				t.Fatalf("Open = %v, want ErrMalformedKey", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	_, err := assertion.Open(missing, "")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing key file: %v, want fs.ErrNotExist naming %s", err, missing)
	}

	// A configured key file is never generated: a typo must not yield a fresh key.
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created %s", missing)
	}

	dir := t.TempDir()
	if _, err := assertion.Open(dir, ""); !errors.Is(err, assertion.ErrMalformedKey) {
		t.Errorf("directory as key file: %v, want ErrMalformedKey", err)
	}
	if _, err := assertion.Open("", ""); err == nil {
		t.Error("Open with neither key file nor state directory succeeded")
	}
	// a pipe no one writes to is refused at once, not waited on
	pipe := filepath.Join(t.TempDir(), "pipe.pem")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := assertion.Open(pipe, ""); !errors.Is(err, assertion.ErrMalformedKey) {
		t.Errorf("a pipe as key file: %v, want ErrMalformedKey", err)
	}
}

func newKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func mustPKIX(tb testing.TB, pub any) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}
