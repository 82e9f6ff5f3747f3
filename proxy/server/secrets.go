package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/frontgate/gateway/config"
)

// secretFile is the name, under state_dir, of the secret generated when none is
// configured.
const secretFile = "session-secret"

// loadSecrets returns the configured session secrets, or, when there are none, a secret
// generated once and kept under state_dir so that a restart does not sign everyone out.
func loadSecrets(cfg *config.Config, lg *slog.Logger) ([][]byte, error) {
	if len(cfg.Session.Secrets) > 0 {
		out := make([][]byte, len(cfg.Session.Secrets))
		for i, s := range cfg.Session.Secrets {
			out[i] = []byte(s)
		}
		return out, nil
	}
	path := filepath.Join(cfg.StateDir, secretFile)
	secret, created, err := readOrCreateSecret(path, lg)
	if err != nil {
		return nil, err
	}
	// Said loudly once, when the secret is made; quietly on each later start.
	level := slog.LevelInfo
	if created {
		level = slog.LevelWarn
	}
	lg.Log(context.Background(), level, "no session.secrets configured; using a generated "+
		"secret, which several gateway instances behind one name cannot share: configure "+
		"one explicitly for them", "file", path, "created", created)
	return [][]byte{secret}, nil
}

// readOrCreateSecret reads the generated secret at path, or makes it when there is none.
// The file must be a plain file, not a link, of the user this runs as or root, holding
// what the gateway writes there: 64 or more hex digits, not a run of a few of them.
func readOrCreateSecret(path string, lg *slog.Logger) (secret []byte, created bool,
	err error) {
	for range 2 {
		secret, err := readSecret(path, lg)
		if !errors.Is(err, fs.ErrNotExist) {
			return secret, false, err
		}
		secret, err = createSecret(path)
		if !errors.Is(err, fs.ErrExist) {
			return secret, err == nil, err
		}
		// another process made it meanwhile: use its secret, not ours
	}
	return nil, false, fmt.Errorf("session secret %s: made and removed while it was read",
		path)
}

// readSecret reads the generated secret at path; an error wrapping fs.ErrNotExist
// says there is none. With lg nil it changes nothing, as check must not: a secret
// others may read is not tightened then.
func readSecret(path string, lg *slog.Logger) ([]byte, error) {
	// O_NONBLOCK: a FIFO put there opens at once, to be refused below, not waited on
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("session secret %s is a link: the gateway makes it as a "+
			"file; remove it", path)
	case err != nil:
		return nil, fmt.Errorf("reading session secret: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading session secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("session secret %s is not a plain file (mode %v)", path,
			fi.Mode())
	}
	if uid, me := ownerOf(fi), os.Geteuid(); uid != me && uid != 0 && uid >= 0 {
		return nil, fmt.Errorf("session secret %s belongs to user %d, not to the user the "+
			"gateway runs as (%d) or root, who could read and replace it", path, uid, me)
	}
	if fi.Mode().Perm()&0o077 != 0 && lg != nil {
		// A secret others can read is a secret no longer: tighten it, and say so.
		if err := f.Chmod(0o600); err != nil {
			return nil, fmt.Errorf("tightening session secret: %w", err)
		}
		lg.Warn("session secret file was readable by others; its mode is now 0600, "+
			"but consider replacing the secret", "file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading session secret: %w", err)
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("session secret %s holds more than %d bytes, far more than "+
			"the gateway writes there, and does not hold a secret the gateway made; remove "+
			"it to have a new one made, which signs everyone out", path, maxSecretFile)
	}
	s := strings.TrimSpace(string(data))
	if !generatedSecret(s) {
		return nil, fmt.Errorf("session secret %s does not hold a secret the gateway "+
			"made: 64 or more hex digits, not a run of a few; remove it to have a new "+
			"one made, which signs everyone out", path)
	}
	return []byte(s), nil
}

// maxSecretFile is the most a generated secret's file may hold: far more than the 65
// bytes the gateway writes, and far less than anything else that might be there.
const maxSecretFile = 4096

// generatedSecret reports whether s could be a secret createSecret wrote: 64 hex digits
// or more, of which 32 random bytes show at least 8 different ones (all but certainly:
// fewer is a file written by hand, such as one of zeros).
func generatedSecret(s string) bool {
	if len(s) < 64 {
		return false
	}
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n >= 8
}

// createSecret makes a new secret at path, failing with fs.ErrExist when something is
// there already.
func createSecret(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	b := make([]byte, 32)
	rand.Read(b)
	s := hex.EncodeToString(b)
	// O_EXCL: if another process made the file meanwhile, its secret is the one
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW,
		0o600)
	if err != nil {
		return nil, fmt.Errorf("creating session secret: %w", err)
	}
	_, err = f.WriteString(s + "\n")
	if err == nil {
		// on disk before any cookie is sealed with it
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("writing session secret: %w", err)
	}
	return []byte(s), nil
}
