// Package page renders the gateway's own HTML pages: sign-in, sign-out and errors.
//
// Pages load nothing from other origins and run no script, so they can be served under a
// strict Content-Security-Policy. Every value is escaped by html/template.
package page

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/frontgate/gateway/config"
)

//go:embed templates/*.html
var templateFS embed.FS

// Stylesheet is the CSS the pages link to, served by the gateway at StylesheetPath.
//
//go:embed templates/style.css
var Stylesheet []byte

// StylesheetPath is where the gateway serves Stylesheet.
const StylesheetPath = "/.gateway/style.css"

// Paths where the gateway serves the branding files of a Brand.
const (
	LogoPath       = "/.gateway/logo"
	CustomCSSPath  = "/.gateway/custom.css"
	defaultPattern = "templates/*.html"
)

// Brand is how the pages look beyond the built-in design.
type Brand struct {
	// Logo shows the image at LogoPath above the title.
	Logo bool
	// CustomCSS links the stylesheet at CustomCSSPath after the built-in one.
	CustomCSS bool
	// Templates is a folder of .html files that replace built-in templates of the same
	// name (layout.html, login.html, code.html, logout.html,
	// error.html). Empty: the built-in ones.
	Templates string
}

// Renderer renders the pages with a Brand. Safe for concurrent use.
type Renderer struct {
	t     *template.Template
	brand Brand
}

// NewRenderer parses the built-in templates and, when b names a folder, the templates
// in it over them. A template that does not parse is an error naming the file.
func NewRenderer(b Brand) (*Renderer, error) {
	// Every page is a named template under a root that is never redefined itself, so a
	// replacement of one page leaves the others in the set.
	root := template.New("pages")
	names, _ := fs.Glob(templateFS, defaultPattern)
	for _, n := range names {
		text, _ := templateFS.ReadFile(n)
		if _, err := root.New(path.Base(n)).Parse(string(text)); err != nil {
			return nil, fmt.Errorf("parsing built-in page %s: %w", n, err)
		}
	}
	if b.Templates != "" {
		files, err := TemplateFiles(b.Templates)
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("templates folder %s holds no .html file", b.Templates)
		}
		for _, f := range files {
			text, err := config.ReadPlain(f, config.MaxFileSize)
			if err != nil {
				return nil, fmt.Errorf("reading page template: %w", err)
			}
			// Each file replaces the built-in template of its name; the blocks it defines
			// replace the built-in blocks of theirs.
			if _, err := root.New(filepath.Base(f)).Parse(string(text)); err != nil {
				return nil, fmt.Errorf("parsing page template %s: %w", f, err)
			}
		}
	}
	r := &Renderer{t: root, brand: b}
	if b.Templates != "" {
		if err := r.trial(); err != nil {
			return nil, fmt.Errorf("page templates in %s: %w", b.Templates, err)
		}
	}
	return r, nil
}

// TemplateFiles returns the paths of the page templates in the folder dir: its .html
// files. The folder is read by name, not by pattern: one named with [ or * is that
// folder.
func TemplateFiles(dir string) ([]string, error) {
	entries, err := config.ReadDirPlain(dir)
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".html") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, err
}

// trialPages returns the data of every page in each of its forms: each field left
// empty or filled in, in every combination. A template that parses may still fail when
// rendered (a field the data has not, a template that calls itself), perhaps in one form
// alone, and a page that failed only when asked for would take sign-in down.
func trialPages() []any {
	var out []any
	for _, page := range []any{Login{}, Code{}, Logout{}, Error{}} {
		t := reflect.TypeOf(page)
		for mask := 0; mask < 1<<t.NumField(); mask++ {
			v := reflect.New(t).Elem()
			for i := range t.NumField() {
				if mask&(1<<i) == 0 {
					continue
				}
				switch f := v.Field(i); f.Kind() {
				case reflect.String:
					f.SetString("/x")
				case reflect.Bool:
					f.SetBool(true)
				}
			}
			out = append(out, v.Interface())
		}
	}
	return out
}

// trial renders every page in each of its forms, and returns the first failure.
func (r *Renderer) trial() error {
	var buf bytes.Buffer
	for _, v := range trialPages() {
		buf.Reset()
		if err := r.execute(&buf, v); err != nil {
			return err
		}
	}
	return nil
}

var builtin = func() *Renderer {
	r, err := NewRenderer(Brand{})
	if err != nil {
		panic(err) // the embedded templates are part of the binary; tests parse them
	}
	return r
}()

// Login is the data of the sign-in page.
type Login struct {
	Site      string
	CSRFToken string
	Next      string // already validated as a safe target
	Username  string // kept after a failure; never the password
	Error     string
	Notice    string
	// RememberMe shows the "Remember me" box.
	RememberMe bool
}

// Code is the data of the page that asks a user whose password checked out for the
// one-time code of their authenticator app.
type Code struct {
	Site      string
	CSRFToken string
	Error     string
}

// Logout is the data of the sign-out confirmation page.
type Logout struct {
	Site      string
	User      string // empty when nobody is signed in
	CSRFToken string
}

// Error is the data of an error page.
type Error struct {
	Site     string
	Title    string
	Message  string
	Link     string // a local path, or empty
	LinkText string
}

// Render writes a page with the built-in look: see Renderer.Render.
func Render(w http.ResponseWriter, status int, v any) error {
	return builtin.Render(w, status, v)
}

// Render writes the page for v (a Login, Code, Logout or Error) with status. It renders
// into a buffer first, so a template failure becomes a plain 500 and never half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := r.execute(&buf, v); err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// execute renders the page for v into buf.
func (r *Renderer) execute(buf *bytes.Buffer, v any) error {
	var name, title string
	switch d := v.(type) {
	case Login:
		name, title = "login.html", "Sign in"
	case Code:
		name, title = "code.html", "Enter your code"
	case Logout:
		name, title = "logout.html", "Sign out"
	case Error:
		name, title = "error.html", d.Title
	default:
		return fmt.Errorf("rendering page: unknown page data %T", v)
	}
	data := struct {
		Page  any
		Title string
		Brand Brand
	}{v, title, r.brand}
	if err := r.t.ExecuteTemplate(buf, name, data); err != nil {
		return fmt.Errorf("rendering page %s: %w", name, err)
	}
	return nil
}
