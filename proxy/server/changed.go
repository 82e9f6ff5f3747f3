package server

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/frontgate/gateway/config"
)

// changedKeys returns the keys whose values differ between the configs a and b, as
// the config file names them: a top-level key, or for a mapping such as session the keys
// within it ("session.idle_timeout"), and for routes each route by its place
// ("routes[1]"), or "routes" when routes were added or removed. Values the gateway
// derives from the file, such as a route's parsed upstream URL, are not compared apart.
func changedKeys(a, b *config.Config) []string {
	out := []string{} // a list in a JSON log also when empty
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		name, ok := yamlName(va.Type().Field(i))
		if !ok {
			continue
		}
		fa, fb := va.Field(i), vb.Field(i)
		switch {
		case fa.Kind() == reflect.Struct:
			for j := range fa.NumField() {
				sub, ok := yamlName(fa.Type().Field(j))
				if ok && !sameValue(fa.Field(j), fb.Field(j)) {
					out = append(out, name+"."+sub)
				}
			}
		case fa.Kind() == reflect.Slice && fa.Type().Elem().Kind() == reflect.Struct &&
			fa.Len() == fb.Len():
			for j := range fa.Len() {
				if !sameValue(fa.Index(j), fb.Index(j)) {
					out = append(out, name+"["+strconv.Itoa(j)+"]")
				}
			}
		case !sameValue(fa, fb):
			out = append(out, name)
		}
	}
	return out
}

// sameValue reports whether a and b hold the same values for every key of the config
// file within them.
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		keys := 0
		for i := range a.NumField() {
			if _, ok := yamlName(a.Type().Field(i)); ok {
				keys++
				if !sameValue(a.Field(i), b.Field(i)) {
					return false
				}
			}
		}
		if keys > 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// yamlName returns the key of field f in the config file, and false for a field that
// is not one. As for the config's decoder, a field without a name in its tag is keyed
// by its Go name in lower case.
func yamlName(f reflect.StructField) (string, bool) {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if !f.IsExported() || name == "-" {
		return "", false
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, true
}
