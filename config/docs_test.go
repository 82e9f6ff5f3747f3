package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// keys lists every YAML key of t, dotted from prefix, with "[]" for list items.
func keys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, keys(ft, key+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, keys(ft.Elem(), key+"[].")...)
		default:
			out = append(out, key)
		}
	}
	return out
}

// TestEveryKeyIsDocumented fails when a config key exists in the types but the README
// does not name it, so the documentation cannot fall behind the code.
func TestEveryKeyIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(readme)
	for _, k := range keys(reflect.TypeFor[Config](), "") {
		// The README's tables name a key in backticks, alone or in a group such as
		// `session.redis.username`, `.password`.
		if !documented(doc, k) {
			t.Errorf("config key %s is not documented in README.md", k)
		}
	}
}

// documented reports whether doc names key: whole, as the last of a group
// (`session.redis.username`, `.password`), or under a parent written `parent.*`.
func documented(doc, key string) bool {
	if strings.Contains(doc, "`"+key+"`") {
		return true
	}
	i := strings.LastIndexByte(key, '.')
	if i >= 0 && strings.Contains(doc, "`."+key[i+1:]+"`") {
		return true
	}
	for ; i > 0; i = strings.LastIndexByte(key[:i], '.') {
		if strings.Contains(doc, "`"+key[:i]+".*`") {
			return true
		}
	}
	return false
}

// TestDocumentedDefaults checks the README's default of every key against the value a
// config that leaves the key out gets: a default written as one literal (`30m`, `true`,
// `["127.0.0.1:6379"]`) must be the value, and "none" must leave it empty. Defaults
// described in words ("generated", "the URL's host") are left to the reader.
func TestDocumentedDefaults(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte("users:\n  file: users.yml\nroutes:\n  - upstream: http://a:1\n"),
		"")
	if err != nil {
		t.Fatal(err)
	}
	defaults := documentedDefaults(string(readme))
	checked := 0
	for _, k := range keys(reflect.TypeFor[Config](), "") {
		doc, ok := defaults[k]
		if !ok {
			continue // a key documented in a group of its parent's; see above
		}
		v := fieldAt(reflect.ValueOf(cfg).Elem(), k)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Pointer {
			continue // unset, with a meaning the README gives in words
		}
		got, lit := fmt.Sprint(v.Interface()), strings.Trim(doc, "`")
		switch {
		case doc == "none":
			if !v.IsZero() {
				t.Errorf("%s: README says none, the default is %q", k, got)
			}
		case strings.Count(doc, "`") != 2 || !strings.HasPrefix(doc, "`") ||
			!strings.HasSuffix(doc, "`"):
			continue
		case v.Type() == reflect.TypeFor[time.Duration]():
			d, err := time.ParseDuration(lit)
			if err != nil || d != v.Interface().(time.Duration) {
				t.Errorf("%s: README says %s, the default is %s", k, doc, got)
			}
		case v.Kind() == reflect.Slice:
			var want []string
			if err := json.Unmarshal([]byte(lit), &want); err != nil ||
				!reflect.DeepEqual(want, v.Interface()) {
				t.Errorf("%s: README says %s, the default is %v", k, doc, got)
			}
		default:
			// a relative path is made absolute, here against the current folder
			if abs, _ := filepath.Abs(lit); got != lit && got != abs {
				t.Errorf("%s: README says %s, the default is %q", k, doc, got)
			}
		}
		checked++
	}
	if checked < 40 {
		t.Errorf("only %d defaults checked; is the README's table still readable?", checked)
	}
}

// documentedDefaults reads the default column of the README's config table, by key. A
// row may name several keys (`session.redis.username`, `.password`).
func documentedDefaults(doc string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(doc, "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) < 3 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		var first string
		for _, name := range strings.Split(strings.TrimPrefix(cells[0], "| "), ", ") {
			name = strings.Trim(name, "`")
			if strings.HasPrefix(name, ".") && first != "" {
				name = first[:strings.LastIndexByte(first, '.')] + name
			}
			if first == "" {
				first = name
			}
			out[name] = strings.TrimSpace(cells[1])
		}
	}
	return out
}

// fieldAt returns the field of v at a dotted key of yaml names; "routes[]" is the first
// route.
func fieldAt(v reflect.Value, key string) reflect.Value {
	for name := range strings.SplitSeq(key, ".") {
		list := strings.HasSuffix(name, "[]")
		name = strings.TrimSuffix(name, "[]")
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		for i := 0; i < v.NumField(); i++ {
			tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			if tag == name {
				v = v.Field(i)
				break
			}
		}
		if list {
			v = v.Index(0)
		}
	}
	return v
}
