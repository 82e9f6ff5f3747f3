package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
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
