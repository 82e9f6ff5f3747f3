package assertion

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// KeyFile is the name, under the state directory, of the key Open generates when no key
// file is configured.
const KeyFile = "assertion-key.pem"

// maxKeyFile bounds what Open reads: a PEM Ed25519 key is about 120 bytes, so anything
// much larger is not one.
const maxKeyFile = 64 << 10

// Open loads the signing key from keyFile, a PEM "PRIVATE KEY" block holding a PKCS#8
// Ed25519 key. When keyFile is empty it uses stateDir/assertion-key.pem instead, and
// generates that key the first time (file mode 0600; stateDir is created with mode 0700
// if missing), so that later runs, and other gateways sharing stateDir, sign with the
// same key.
//
// A key file its group or others can read gives an error wrapping [ErrKeyExposed], and a
// file that holds no Ed25519 key one wrapping [ErrMalformedKey]; both name the file.
func Open(keyFile, stateDir string) (*Signer, error) {
	if keyFile != "" {
		key, err := readKey(keyFile)
		if err != nil {
			return nil, err
		}
		return newSigner(key)
	}
	if stateDir == "" {
		return nil, errors.New("opening assertion key: no key file and no state directory")
	}
	path := filepath.Join(stateDir, KeyFile)
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, err
	}
	return newSigner(key)
}

// CheckGenerated reads the key Open generates in stateDir, when there is one, and
// returns what Open would find wrong with it; it makes none. A key that is missing is
// no problem: Open makes it.
func CheckGenerated(stateDir string) error {
	if _, err := readKey(filepath.Join(stateDir, KeyFile)); err != nil &&
		!errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// readKey reads and parses the key at path. It checks the mode of the file it opened,
// not of the path, so that the file cannot be swapped between the check and the read.
func readKey(path string) (ed25519.PrivateKey, error) {
	// O_NONBLOCK: a FIFO put there opens at once, to be refused below, not waited on
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading assertion key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading assertion key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading assertion key %s: %w: not a regular file",
			path, ErrMalformedKey)
	}
	// A signing key others can read lets them forge any user's assertion.
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("reading assertion key %s: %w (mode %v); run chmod 600 on it",
			path, ErrKeyExposed, fi.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading assertion key %s: %w", path, err)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("reading assertion key %s: %w: %s", path, ErrMalformedKey, err)
	}
	return key, nil
}

// parseKey decodes the single PEM block of a key file. The reasons it gives are for
// people, not for errors.Is; the caller wraps them in ErrMalformedKey.
func parseKey(data []byte) (ed25519.PrivateKey, error) {
	if len(data) > maxKeyFile {
		return nil, errors.New("file too large")
	}
	block, rest := pem.Decode(data)
	switch {
	case block == nil:
		return nil, errors.New("no PEM block")
	case block.Type != "PRIVATE KEY":
		return nil, fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\" (PKCS#8)", block.Type)
	case hasPEM(rest):
		// Two keys in one file would leave which one signs to the reader's guess.
		return nil, errors.New("more than one PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS#8 private key")
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want Ed25519", k)
	}
	return key, nil
}

// hasPEM reports whether data holds another PEM block.
func hasPEM(data []byte) bool {
	b, _ := pem.Decode(data)
	return b != nil
}

// createKey generates a key and stores it at path, unless another process stores one
// first, in which case it returns that one. The key is written to a temporary file and
// linked into place, so that no reader ever sees a half-written key.
func createKey(path string) (ed25519.PrivateKey, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating assertion key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding assertion key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	// os.CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(dir, ".assertion-key-*")
	if err != nil {
		return nil, fmt.Errorf("writing assertion key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing assertion key: %w", err)
	}

	// os.Link, unlike os.Rename, fails when path exists: a key another gateway stored
	// meanwhile wins, so that all of them sign with one key.
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("writing assertion key: %w", err)
	}
	return key, nil
}
