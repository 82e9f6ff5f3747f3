package authn

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// likelyScripts are looked up first when a name's letter is not ASCII: the scripts most
// names are written in, before the rest of unicode.Scripts.
var likelyScripts = []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana",
	"Hangul", "Arabic", "Hebrew", "Common", "Inherited"}

// scriptOf returns the name of the script r belongs to, "" for one of none.
func scriptOf(r rune) string {
	switch {
	case r < 0x80 && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'):
		return "Latin"
	case r < 0x80:
		return "Common"
	}
	for _, name := range likelyScripts {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// scriptMixes are the scripts that may share a name, after Unicode's "highly
// restrictive" level (UTS #39): Latin with the scripts written together with it in
// Japanese, Chinese and Korean.
var scriptMixes = []map[string]bool{
	{"Latin": true, "Han": true, "Hiragana": true, "Katakana": true},
	{"Latin": true, "Han": true, "Bopomofo": true},
	{"Latin": true, "Han": true, "Hangul": true},
}

// NormalizeName returns the username a sign-in names: name in Unicode's compatibility
// composed form (NFKC), as Django's username field reads it, so that a name typed in
// fullwidth letters (ａlice), or with an accent typed apart, is the user's own.
func NormalizeName(name string) string {
	if len(name) > 4*MaxUsernameLength {
		// far past the longest name a sign-in takes, which it will refuse: not worth
		// the work, nor the memory of a form that NFKC would make many times longer
		return name
	}
	return norm.NFKC.String(name)
}

// checkCompatibility returns an error when name holds a character that NormalizeName
// changes (a fullwidth letter, a ligature, a superscript): no sign-in could name it.
func checkCompatibility(name string) error {
	if norm.NFKC.IsNormalString(name) {
		return nil
	}
	for _, r := range name {
		if n := norm.NFKC.String(string(r)); n != string(r) {
			return fmt.Errorf("holds %q %U, which sign-in reads as %q (Unicode's NFKC form, "+
				"as Django reads usernames); write the name as %q", r, r, n,
				NormalizeName(name))
		}
	}
	return fmt.Errorf("is not in Unicode's NFKC form; write it as %q", NormalizeName(name))
}

// checkScripts returns an error when name mixes the letters of scripts that are not
// written together, as a Cyrillic а among Latin letters, which makes a name that passes
// for another. Digits, punctuation and marks belong to every script.
func checkScripts(name string) error {
	seen := map[string]rune{}
	var order []string
	for _, r := range name {
		s := scriptOf(r)
		if s == "Common" || s == "Inherited" || s == "" {
			continue
		}
		if _, ok := seen[s]; !ok {
			seen[s] = r
			order = append(order, s)
		}
	}
	if len(order) < 2 {
		return nil
	}
	for _, mix := range scriptMixes {
		all := true
		for _, s := range order {
			all = all && mix[s]
		}
		if all {
			return nil
		}
	}
	a, b := order[0], order[1]
	return fmt.Errorf("mixes %s and %s letters (%q %U and %q %U), which lets a name pass "+
		"for another; write it in one script", a, b, seen[a], seen[a], seen[b], seen[b])
}

// skeleton returns the form name is read as at a glance, after Unicode's confusable
// detection (UTS #39): in NFKC form, without the marks that no letter took in (a dot set
// apart on an i), each character mapped to the one it is most often taken for (Cyrillic
// а to a, 0 to O, rn to m); with fold, in lower case before and after.
func skeleton(name string, fold bool) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(name) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	if !fold {
		return confusables.Skeleton(b.String())
	}
	return strings.ToLower(confusables.Skeleton(strings.ToLower(b.String())))
}

// LookAlikes returns the usernames that pass for each other at a glance, in groups
// sorted by name: names that differ only in case, or in characters that Unicode lists as
// confusable (Cyrillic а and Latin a; l, I and 1; rn and m; Cherokee Ᏼ and B). A group
// is most often a mistake, or an account made to be taken for another.
func LookAlikes(users map[string]*User) [][]string {
	// names are joined when they share a key of either kind, and so are their groups
	parent := make(map[string]string, len(users))
	var root func(string) string
	root = func(n string) string {
		for parent[n] != n {
			parent[n] = parent[parent[n]]
			n = parent[n]
		}
		return n
	}
	first := make(map[string]string)
	for n := range users {
		parent[n] = n
	}
	for n := range users {
		for _, k := range []string{"case:" + strings.ToLower(n), "look:" + skeleton(n, false),
			"fold:" + skeleton(n, true)} {
			if o, ok := first[k]; ok {
				parent[root(n)] = root(o)
			} else {
				first[k] = n
			}
		}
	}
	by := make(map[string][]string)
	for n := range users {
		r := root(n)
		by[r] = append(by[r], n)
	}
	var out [][]string
	for _, names := range by {
		if len(names) > 1 {
			sort.Strings(names)
			out = append(out, names)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
