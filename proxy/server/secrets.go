package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

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

func readOrCreateSecret(path string, lg *slog.Logger) (secret []byte, created bool,
	err error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// A secret others can read is a secret no longer: tighten it, and say so.
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, false, fmt.Errorf("tightening session secret: %w", err)
		}
		lg.Warn("session secret file was readable by others; its mode is now 0600, "+
			"but consider replacing the secret", "file", path)
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(data))
		if len(s) < 32 {
			return nil, false, fmt.Errorf("reading session secret %s: shorter than 32 bytes",
				path)
		}
		return []byte(s), false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("reading session secret: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("creating state directory: %w", err)
	}
	b := make([]byte, 32)
	rand.Read(b)
	s := hex.EncodeToString(b)
	// O_EXCL: if another process created the file meanwhile, use its secret, not ours.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readOrCreateSecret(path, lg)
	}
	if err != nil {
		return nil, false, fmt.Errorf("creating session secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("writing session secret: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("writing session secret: %w", err)
	}
	return []byte(s), true, nil
}
