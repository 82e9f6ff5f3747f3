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
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

// Stylesheet is the CSS the pages link to, served by the gateway at StylesheetPath.
//
//go:embed templates/style.css
var Stylesheet []byte

// StylesheetPath is where the gateway serves Stylesheet.
const StylesheetPath = "/.gateway/style.css"

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

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

// Render writes the named page with status. It renders into a buffer first, so a
// template failure becomes a plain 500 and never half a page.
func Render(w http.ResponseWriter, status int, v any) error {
	var name, title string
	switch d := v.(type) {
	case Login:
		name, title = "login.html", "Sign in"
		v = struct {
			Login
			Title string
		}{d, title}
	case Logout:
		name, title = "logout.html", "Sign out"
		v = struct {
			Logout
			Title string
		}{d, title}
	case Error:
		name = "error.html"
	default:
		return fmt.Errorf("rendering page: unknown page data %T", v)
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, v); err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return fmt.Errorf("rendering page %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
