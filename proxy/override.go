package proxy

import (
	"strings"

	"github.com/frontgate/gateway/proxy/internal/pct"
)

// queryOverride returns the first method that a "_method" parameter of rawQuery names
// and allowed does not hold, or "". Laravel and Symfony act on such a parameter instead
// of the request's method, and PHP reads a query leniently, so the query is read here as
// PHP reads it, and more widely where in doubt: pairs split at "&", and again at "&" and
// ";", with no limit on their number; "+" and every valid escape decoded, an invalid one
// kept as it is; keys read as isOverrideKey reads them. A query without "method" in it,
// in any case and unescaped, costs a scan and no allocation.
func queryOverride(rawQuery string, allowed []string) string {
	if !strings.Contains(rawQuery, "%") && !containsFold(rawQuery, "method") {
		return ""
	}
	// PHP splits at "&" alone unless told otherwise; other servers at ";" as well
	for _, seps := range []string{"&", "&;"} {
		for pair := range strings.FieldsFuncSeq(rawQuery, func(r rune) bool {
			return strings.ContainsRune(seps, r)
		}) {
			k, v, _ := strings.Cut(pair, "=")
			if !isOverrideKey(lenientUnescape(k)) {
				continue
			}
			m := strings.ToUpper(strings.TrimSpace(lenientUnescape(v)))
			if m != "" && !isOneOf(m, allowed) {
				return m
			}
		}
	}
	return ""
}

// phpKey reads a query key as PHP does.
var phpKey = strings.NewReplacer(" ", "_", ".", "_")

// lenientUnescape decodes s as a query is decoded by servers that forgive: "+" is a
// space, and a "%" that starts no valid escape stays as it is.
func lenientUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c, ok := pct.At(s, i); {
		case ok:
			b.WriteByte(c)
			i += 2
		case s[i] == '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// containsFold reports whether s holds sub in any ASCII letter case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && lowerASCII(s[i+j]) == lowerASCII(sub[j]) {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
