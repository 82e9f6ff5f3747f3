package proxy

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/page"
)

// maxBrandFile bounds a logo or stylesheet, which the gateway keeps in memory.
const maxBrandFile = 1 << 20

// loadBrand reads the logo and stylesheet and parses the page templates of cfg's pages.
// An error names the key in the config file.
func (h *Handler) loadBrand(cfg *config.Config) error {
	p := cfg.Pages
	if err := PrivateBrandFile(cfg, cfg.StateDir); err != nil {
		return err
	}
	var err error
	if p.Logo != "" {
		if h.logo, err = readBrandFile(p.Logo); err != nil {
			return cfg.Errorf("pages.logo", err)
		}
		h.logoType = http.DetectContentType(h.logo)
		if strings.HasSuffix(strings.ToLower(p.Logo), ".svg") {
			// An SVG can hold script; served as an image under the pages' CSP, it runs
			// none, and nosniff keeps browsers from reading it as anything else.
			h.logoType = "image/svg+xml"
		}
		if !strings.HasPrefix(h.logoType, "image/") {
			return cfg.Errorf("pages.logo", fmt.Errorf("%s is not an image (%s)", p.Logo,
				h.logoType))
		}
	}
	if p.Stylesheet != "" {
		if h.customCSS, err = readBrandFile(p.Stylesheet); err != nil {
			return cfg.Errorf("pages.stylesheet", err)
		}
	}
	h.pages, err = page.NewRenderer(page.Brand{Logo: h.logo != nil,
		CustomCSS: h.customCSS != nil, Templates: p.Templates})
	if err != nil {
		return cfg.Errorf("pages.templates", err)
	}
	return nil
}

// PrivateBrandFile returns an error naming the key of the first file of cfg's pages (the
// logo, the stylesheet, a template) that is, or links to, a file that holds secrets: the
// config (which may hold them inline), the users file, the TLS and assertion keys, or
// anything in stateDir (the session secret, the store, the certificates' keys), since
// the pages are served to anyone. stateDir is where the gateway keeps its state, which
// a check that builds a handler on a scratch folder passes apart.
func PrivateBrandFile(cfg *config.Config, stateDir string) error {
	p := cfg.Pages
	for _, f := range []struct{ key, path string }{{"pages.logo", p.Logo},
		{"pages.stylesheet", p.Stylesheet}} {
		if err := notPrivate(cfg, stateDir, f.path); err != nil {
			return cfg.Errorf(f.key, err)
		}
	}
	if p.Templates == "" {
		return nil
	}
	files, _ := page.TemplateFiles(p.Templates) // the parse names a folder that fails
	for _, f := range files {
		if err := notPrivate(cfg, stateDir, f); err != nil {
			return cfg.Errorf("pages.templates", err)
		}
	}
	return nil
}

// notPrivate returns PrivateBrandFile's error for one file, path. An empty path, or one
// that cannot be read, is left to the read.
func notPrivate(cfg *config.Config, stateDir, path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	for _, p := range []string{cfg.File, cfg.Users.File, cfg.TLS.KeyFile,
		cfg.Assertion.KeyFile} {
		if pi, err := os.Stat(p); p != "" && err == nil && os.SameFile(fi, pi) {
			return fmt.Errorf("%s is %s, which holds secrets; the pages are served to "+
				"anyone", path, p)
		}
	}
	real, err := filepath.EvalSymlinks(path)
	state, serr := filepath.EvalSymlinks(stateDir)
	if stateDir == "" || err != nil || serr != nil {
		return nil
	}
	// a hard link to one of its files, made elsewhere, is the file all the same
	if rel, err := filepath.Rel(state, real); err == nil && filepath.IsLocal(rel) ||
		holdsFile(state, fi) {
		return fmt.Errorf("%s lies in state_dir %s, which holds the gateway's keys and "+
			"sessions; the pages are served to anyone", path, stateDir)
	}
	return nil
}

// maxStateFiles bounds how many entries of state_dir holdsFile looks at: its files are a
// handful, and a certificate per name with ACME.
const maxStateFiles = 10000

// holdsFile reports whether the folder dir, or one within it, holds the file fi is of.
func holdsFile(dir string, fi os.FileInfo) bool {
	found, seen := false, 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if seen++; err != nil || seen > maxStateFiles {
			return fs.SkipAll
		}
		if d.Type().IsRegular() {
			if di, err := os.Stat(p); err == nil && os.SameFile(fi, di) {
				found = true
				return fs.SkipAll
			}
		}
		return nil
	})
	return found
}

func readBrandFile(path string) ([]byte, error) {
	f, _, err := config.OpenPlain(path)
	if err != nil {
		return nil, fmt.Errorf("reading page branding: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxBrandFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading page branding: %w", err)
	}
	if len(b) > maxBrandFile {
		return nil, fmt.Errorf("page branding file %s is larger than 1 MiB", path)
	}
	return b, nil
}
