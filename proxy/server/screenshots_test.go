package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	stdpng "image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// updateScreenshots makes TestBrowser's Screenshots step replace the README's copies in
// keptScreenshots, and the hash of the pages they show.
var updateScreenshots = flag.Bool("update-screenshots", false,
	"replace the screenshots in examples/screenshots and the hash of the pages they show")

// screenshot is a picture of the sign-in page that TestBrowser takes and the README shows.
type screenshot struct {
	name, scheme string
	w, h         int64
}

var screenshots = []screenshot{
	{"login-light.png", "light", 800, 560},
	{"login-dark.png", "dark", 800, 560},
	{"login-narrow.png", "light", 320, 560},
}

const (
	// keptScreenshots is the folder of the screenshots the README shows.
	keptScreenshots = "../../examples/screenshots"
	// pagesHashFile, in keptScreenshots, records pagesHash of the templates the
	// screenshots were taken from.
	pagesHashFile = "pages.sha256"
	// pageTemplates is the folder of the page templates and the stylesheet.
	pageTemplates = "../page/templates"
	// refreshScreenshots is the command that takes the screenshots again.
	refreshScreenshots = "go test ./proxy/server -run 'TestBrowser/Screenshots' " +
		"-update-screenshots"
)

// pagesHash returns the SHA-256, in hex, of every file in pageTemplates: its name and
// length, then its contents with CRLF line ends read as LF, in name order.
func pagesHash(tb testing.TB) string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(pageTemplates, "*"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no page templates in %s (%v)", pageTemplates, err)
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pagesHashText is the content of pagesHashFile for hash.
func pagesHashText(hash string) string {
	return "# The screenshots in this folder show the pages built from proxy/page/templates\n" +
		"# whose SHA-256 follows (each file's name, length and contents, in name order).\n" +
		"# TestScreenshotsMatchPages compares it with the templates as they are. To take\n" +
		"# the screenshots again and record the new hash, run from the repository's top:\n" +
		"#   " + refreshScreenshots + "\n" +
		hash + "\n"
}

// keptPagesHash reads the hash recorded in pagesHashFile: its last line that is not a
// comment.
func keptPagesHash(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(keptScreenshots, pagesHashFile))
	if err != nil {
		tb.Fatalf("reading the hash of the screenshots' pages: %v; record it with:\n\t%s",
			err, refreshScreenshots)
	}
	hash := ""
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			hash = line
		}
	}
	return hash
}

// TestScreenshotsMatchPages keeps the README's screenshots honest without a browser: they
// must be the PNGs TestBrowser takes, in its sizes, taken from the page templates and
// stylesheet as they are now. Pixels are not compared, since fonts and Chromium's
// rendering differ between machines.
func TestScreenshotsMatchPages(t *testing.T) {
	if got, want := keptPagesHash(t), pagesHash(t); got != want {
		t.Errorf("examples/screenshots show pages from other templates or CSS than "+
			"proxy/page/templates (hash %.12s, now %.12s); take them again with:\n\t%s",
			got, want, refreshScreenshots)
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, shot := range screenshots {
		names = append(names, shot.name)
		b, err := os.ReadFile(filepath.Join(keptScreenshots, shot.name))
		if err != nil {
			t.Errorf("kept screenshot: %v; take it with:\n\t%s", err, refreshScreenshots)
			continue
		}
		cfg, err := stdpng.DecodeConfig(bytes.NewReader(b))
		if err != nil || int64(cfg.Width) != shot.w || int64(cfg.Height) != shot.h {
			t.Errorf("kept screenshot %s: %dx%d (%v), want a %dx%d PNG; take it again "+
				"with:\n\t%s", shot.name, cfg.Width, cfg.Height, err, shot.w, shot.h,
				refreshScreenshots)
		}
		if link := "(examples/screenshots/" + shot.name + ")"; !bytes.Contains(readme,
			[]byte(link)) {
			t.Errorf("README.md does not show %s", shot.name)
		}
	}

	// a picture no test takes any more would go stale unnoticed
	kept, _ := filepath.Glob(filepath.Join(keptScreenshots, "*.png"))
	for _, f := range kept {
		if !slices.Contains(names, filepath.Base(f)) {
			t.Errorf("examples/screenshots/%s is no screenshot TestBrowser takes; "+
				"remove it", filepath.Base(f))
		}
	}
}
