package proxy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPageBranding(t *testing.T) {
	dir := t.TempDir()
	// A 1x1 PNG.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08" +
		"\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00" +
		"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	os.WriteFile(filepath.Join(dir, "logo.png"), png, 0o600)
	os.WriteFile(filepath.Join(dir, "brand.css"), []byte("h1 { color: teal; }"), 0o600)
	os.Mkdir(filepath.Join(dir, "tpl"), 0o700)
	os.WriteFile(filepath.Join(dir, "tpl", "error.html"), []byte(
		`{{template "top" .}}<p class="custom">Oops: {{.Page.Message}}</p>{{template "bottom" .}}`),
		0o600)
	e := newEnvFromYAML(t, newEcho(t), dir, "session:\n  secrets: [\""+secret+"\"]\n"+
		"pages:\n  title: Acme Intranet\n  logo: logo.png\n  stylesheet: brand.css\n"+
		"  templates: tpl\n")
	b := e.browser()
	login := b.get("/.gateway/login")
	for _, want := range []string{"<title>Sign in · Acme Intranet</title>",
		`href="/.gateway/custom.css"`, `src="/.gateway/logo"`, `alt="Acme Intranet"`} {
		if !strings.Contains(login.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	if r := b.get("/.gateway/logo"); r.Header.Get("Content-Type") != "image/png" ||
		r.body != string(png) {
		t.Errorf("logo: %q %d bytes", r.Header.Get("Content-Type"), len(r.body))
	}
	if r := b.get("/.gateway/custom.css"); r.body != "h1 { color: teal; }" {
		t.Errorf("custom stylesheet: %q", r.body)
	}
	if r := b.get("/.gateway/nope"); !strings.Contains(r.body, `<p class="custom">Oops:`) {
		t.Errorf("error page did not use the replacement template:\n%s", r.body)
	}
}
