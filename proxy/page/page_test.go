package page

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplatesFolderByName: the templates folder is the one its name names; [ ] and *
// in it are letters, not a pattern that could match another user's folder.
func TestTemplatesFolderByName(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "site2")
	os.Mkdir(other, 0o700)
	os.WriteFile(filepath.Join(other, "login.html"), []byte("another folder's"), 0o600)
	for _, name := range []string{"sit[e]2", "site?", "s*"} {
		_, err := NewRenderer(Brand{Templates: filepath.Join(dir, name)})
		if err == nil || !strings.Contains(err.Error(), "holds no .html file") {
			t.Errorf("%s: %v, want no templates found, where site2 matches it as a "+
				"pattern", name, err)
		}
	}
	literal := filepath.Join(dir, "sit[e]2")
	os.Mkdir(literal, 0o700)
	os.WriteFile(filepath.Join(literal, "login.html"), []byte(`{{define "x"}}{{end}}`),
		0o600)
	if _, err := NewRenderer(Brand{Templates: literal}); err != nil {
		t.Errorf("the folder named sit[e]2: %v", err)
	}
}

// TestTemplatesThatFailWhenRendered: a template folder whose pages parse but fail when
// rendered is refused, naming the page, so that no config takes sign-in down; one whose
// pages render is taken.
func TestTemplatesThatFailWhenRendered(t *testing.T) {
	for _, tt := range []struct {
		name, file, text string
		want             string // in the error; "" for none
	}{
		{"a field the page has not", "login.html",
			`{{template "top" .}}{{.Page.Nope}}{{template "bottom" .}}`,
			"rendering page login.html"},
		{"a page that calls itself", "login.html", `{{template "login.html" .}}`,
			"rendering page login.html"},
		{"a template nowhere defined", "error.html", `{{template "nothere" .}}`,
			"rendering page error.html"},
		{"a field of one form only", "logout.html", `{{if .Page.User}}{{.Page.Nope}}{{end}}`,
			"rendering page logout.html"},
		{"a field of a failed sign-in with the remember box", "login.html",
			`{{if and .Page.Error .Page.RememberMe}}{{.Page.Zzz}}{{end}}`,
			"rendering page login.html"},
		{"a field of an error page without a link", "error.html",
			`{{if not .Page.Link}}{{.Page.Zzz}}{{end}}`, "rendering page error.html"},
		{"a page that renders", "login.html", `<p>{{.Page.Site}} {{.Page.Error}}</p>`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.text), 0o600)
			_, err := NewRenderer(Brand{Templates: dir})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want the templates taken", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), dir)):
				t.Errorf("got %v, want an error naming %s and %q", err, dir, tt.want)
			}
		})
	}
}
