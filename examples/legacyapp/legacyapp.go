// Package legacyapp is a stand-in for an old web app with no sign-in of its own. It
// trusts the gateway in front of it and shows the identity headers it received, which
// makes it handy for trying the gateway out. It is an example, never part of a
// production setup.
package legacyapp

import (
	"html/template"
	"net/http"
	"sort"
	"strings"
)

var page = template.Must(template.New("app").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Legacy app</title>
<style>
body { font: 1rem/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ccc; }
code { font-size: .95em; }
</style>
</head>
<body>
<h1>Legacy app</h1>
{{if .User}}<p>Hello, <strong>{{.User}}</strong>. The gateway signed you in.</p>
{{else}}<p>Nobody is signed in: this is a public page.</p>{{end}}
<p>You asked for <code>{{.Path}}</code>. Identity headers this app received:</p>
<table>
<tr><th>Header</th><th>Value</th></tr>
{{range .Headers}}<tr><td><code>{{.Name}}</code></td><td><code>{{.Value}}</code></td></tr>
{{else}}<tr><td colspan="2">none</td></tr>{{end}}
</table>
<p><a href="/">Home</a> · <a href="/public/">A public page</a> ·
<a href="/reports/2026?sort=date">A deep link</a> ·
<a href="/.gateway/logout">Sign out</a></p>
</body>
</html>
`))

type header struct{ Name, Value string }

// Handler returns the app. userHeader names the header the gateway puts the username in.
func Handler(userHeader string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hs []header
		for name, vals := range r.Header {
			n := strings.ToLower(name)
			if strings.HasPrefix(n, "x-forwarded-") || strings.HasPrefix(n, "remote-") {
				hs = append(hs, header{name, strings.Join(vals, " | ")})
			}
		}
		sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, struct {
			User, Path string
			Headers    []header
		}{r.Header.Get(userHeader), r.URL.RequestURI(), hs})
	})
}
