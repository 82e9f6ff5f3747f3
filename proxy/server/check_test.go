package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFindsWhatRunRefuses checks that Check reports, with file, line and key, the
// problems that would stop the gateway at start, beyond the config's own syntax: the
// files it points to and the mode of state_dir. It must write nothing in state_dir.
func TestCheckFindsWhatRunRefuses(t *testing.T) {
	tests := []struct {
		name, extra string
		prepare     func(dir string)
		want        string // in the error, after the file name
	}{
		{"ok", "", nil, ""},
		{"state_dir writable by others", "state_dir: st\n", func(dir string) {
			os.Mkdir(filepath.Join(dir, "st"), 0o700)
			os.Chmod(filepath.Join(dir, "st"), 0o777)
		}, ":1: state_dir: "},
		{"certificate file missing", "tls:\n  mode: files\n  cert_file: nope.pem\n" +
			"  key_file: nope.key\n", nil, ":3: tls.cert_file: "},
		{"CA root not PEM", "tls:\n  mode: acme\n  domains: [app.example.test]\n" +
			"  ca_root: ca.pem\n", func(dir string) {
			os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not PEM"), 0o600)
		}, ":4: tls.ca_root: "},
		{"logo missing", "pages:\n  logo: nologo.png\n", nil, ":2: pages.logo: "},
		{"stylesheet missing", "pages:\n  stylesheet: no.css\n", nil,
			":2: pages.stylesheet: "},
		{"templates folder missing", "pages:\n  templates: nodir\n", nil,
			":2: pages.templates: "},
		{"template that does not parse", "pages:\n  templates: tpl\n", func(dir string) {
			os.Mkdir(filepath.Join(dir, "tpl"), 0o700)
			os.WriteFile(filepath.Join(dir, "tpl", "login.html"), []byte("{{ .Nope "),
				0o600)
		}, ":2: pages.templates: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "http://127.0.0.1:9", tt.extra)
			dir := filepath.Dir(path)
			// the extra keys go first, so that their lines are known
			text, _ := os.ReadFile(path)
			body := strings.Replace(string(text), tt.extra, "", 1)
			os.WriteFile(path, []byte(tt.extra+body), 0o600)
			if tt.prepare != nil {
				tt.prepare(dir)
			}
			_, err := Check(path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), path+tt.want) {
				t.Fatalf("Check: got %v, want an error with %q", err, path+tt.want)
			}
			for _, made := range []string{"data", "st/session-secret"} {
				if _, err := os.Stat(filepath.Join(dir, made)); !os.IsNotExist(err) {
					t.Errorf("Check made %s in the config's folder", made)
				}
			}
		})
	}
}
