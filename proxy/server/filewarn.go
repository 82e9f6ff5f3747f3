package server

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontgate/gateway/config"
)

// fileWarnings returns a warning for each file the gateway trusts that someone other
// than the user it runs as, or root, could change: the config itself, the users file,
// the keys it signs with, the CA it checks an upstream by, and what makes up its pages
// (userWarnings judges the users file, which changes while the gateway runs).
// Whoever may change one of these may let themselves in, read passwords as they are
// typed, or speak for the gateway to an app.
func fileWarnings(cfg *config.Config) []error {
	var out []error
	if cfg.File != "" && WritableByAnyone(cfg.File) == nil { // else refused, and said so
		if err := othersMayChange(cfg.File); err != nil {
			out = append(out, &config.Error{File: cfg.File, Err: fmt.Errorf("someone "+
				"else could rewrite every rule of the gateway: %w", err)})
		}
	}
	files := []struct{ key, path, risk string }{
		{"assertion.key_file", cfg.Assertion.KeyFile, "sign assertions apps believe"},
		{"pages.stylesheet", cfg.Pages.Stylesheet, "change the sign-in page"},
		{"pages.templates", cfg.Pages.Templates,
			"change the sign-in page and read the passwords typed into it"},
	}
	if cfg.TLS.Mode == "files" {
		files = append(files,
			struct{ key, path, risk string }{"tls.key_file", cfg.TLS.KeyFile,
				"pass for the gateway with a key of their own"})
	}
	for i, rt := range cfg.Routes {
		files = append(files, struct{ key, path, risk string }{
			fmt.Sprintf("routes[%d].upstream_ca", i), rt.UpstreamCA,
			"have the gateway take another server for the upstream"})
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		err := othersMayChange(f.path)
		if err == nil && f.key == "pages.templates" {
			err = othersMayChangeIn(f.path)
		}
		if err != nil {
			out = append(out, cfg.Errorf(f.key, fmt.Errorf("someone else could %s: %w",
				f.risk, err)))
		}
	}
	return out
}

// othersMayChange returns why a user other than the one this runs as and root could
// change what path holds, or nil when none could or path cannot be read: path, or the
// file a link at it leads to, may be written by group or others, or belongs to another
// user; a link on the way belongs to another user; or a folder the way passes through,
// one that holds a link on it included, may be written by group or others without the
// sticky bit, or belongs to another user, who could put another file or link in its
// place.
func othersMayChange(path string) error {
	me := os.Geteuid()
	real, folders, err := pathOf(path, me)
	if err != nil || real == "" {
		return err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil
	}
	if uid := ownerOf(fi); uid != me && uid != 0 && uid >= 0 {
		return fmt.Errorf("%s belongs to user %d, not to this user (%d) or root; chown it",
			path, uid, me)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s may be written by group or others (mode %v); run chmod go-w "+
			"on it", path, fi.Mode().Perm())
	}
	for _, dir := range folders {
		fi, err := os.Stat(dir)
		if err != nil {
			continue
		}
		mode := fi.Mode()
		if mode.Perm()&0o022 != 0 && mode&fs.ModeSticky == 0 {
			return fmt.Errorf("%s is reached through %s, which group or others may write "+
				"to (mode %v), putting a file of their own in its place; run chmod go-w on "+
				"that folder", path, dir, mode&(fs.ModeDir|fs.ModePerm))
		}
		if uid := ownerOf(fi); uid != me && uid != 0 && uid >= 0 {
			return fmt.Errorf("%s is reached through %s, which belongs to user %d, not to "+
				"this user (%d) or root, who may put a file of their own in its place; keep "+
				"it in a folder of this user's or root's", path, dir, uid, me)
		}
	}
	return nil
}

// pathOf returns the file path leads to, every link on the way followed, and each folder
// the way passes through; real is empty when path cannot be made absolute. With me not
// negative, a link of another user than me or root is an error.
func pathOf(path string, me int) (real string, folders []string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, nil
	}
	seen := make(map[string]bool)
	real, err = followLinks(path, abs, me, func(dir string) {
		if !seen[dir] {
			seen[dir] = true
			folders = append(folders, dir)
		}
	})
	return real, folders, err
}

// othersMayChangeIn returns othersMayChange's error for the first template right inside
// the folder dir that others could change. The folder itself was judged already.
func othersMayChangeIn(dir string) error {
	entries, err := config.ReadDirPlain(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		if err := othersMayChange(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// WritableByAnyone returns why anyone on the machine could change what path holds, or
// nil: path, or the file a link at it leads to, may be written by others, or a folder
// the way passes through, one that holds a link on it included, may be, without the
// sticky bit. What is not there is no one's to write. The gateway refuses a config or
// users file of which it says so.
func WritableByAnyone(path string) error {
	real, folders, err := pathOf(path, -1)
	if err != nil || real == "" {
		return nil // no file, which reading it says
	}
	if fi, err := os.Stat(real); err == nil && fi.Mode().Perm()&0o002 != 0 {
		return fmt.Errorf("%s may be written by anyone (mode %v); run chmod 600 on it, or "+
			"640 when its group is the gateway's alone", path, fi.Mode().Perm())
	}
	for _, dir := range folders {
		fi, err := os.Stat(dir)
		if err == nil && fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
			return fmt.Errorf("%s is reached through %s, which anyone may write to (mode "+
				"%v), and so put a file of their own in its place; run chmod o-w on that "+
				"folder", path, dir, fi.Mode()&(fs.ModeDir|fs.ModePerm))
		}
	}
	return nil
}

// openToAnyone returns an error, naming its key, for each of the files that decide who
// may sign in and what they may reach, the config and the users file, that anyone on
// the machine could change: a gateway refuses to start, or reload, with one.
func openToAnyone(cfg *config.Config) []error {
	var out []error
	if cfg.File != "" {
		if err := WritableByAnyone(cfg.File); err != nil {
			out = append(out, &config.Error{File: cfg.File, Err: fmt.Errorf("anyone "+
				"could rewrite every rule of the gateway: %w", err)})
		}
	}
	if err := WritableByAnyone(cfg.Users.File); err != nil {
		out = append(out, cfg.Errorf("users.file", fmt.Errorf("anyone could add "+
			"themselves as a user: %w", err)))
	}
	return out
}
