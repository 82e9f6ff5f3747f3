package authn

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

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

// lookAlike maps letters to the Latin ones they are commonly taken for: Cyrillic and
// Greek letters drawn the same, and the Latin letters and digits read as each other.
var lookAlike = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o',
	'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i',
	'ј': 'j', 'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l', 'ь': 'b', 'г': 'r',
	'п': 'n',
	'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p',
	'С': 'c', 'Т': 't', 'У': 'y', 'Х': 'x', 'Ѕ': 's', 'І': 'l', 'Ј': 'j', 'Ԁ': 'd',
	'Ԛ': 'q', 'Ԝ': 'w', 'Ӏ': 'l',
	// Greek
	'α': 'a', 'ο': 'o', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'ρ': 'p', 'τ': 't', 'υ': 'u',
	'χ': 'x', 'γ': 'y', 'ε': 'e',
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'l', 'Κ': 'k', 'Μ': 'm',
	'Ν': 'n', 'Ο': 'o', 'Ρ': 'p', 'Τ': 't', 'Υ': 'y', 'Χ': 'x',
	// Latin letters and digits read as each other
	'I': 'l', '1': 'l', '|': 'l', '0': 'o', 'ı': 'i',
}

// lookAlikeRuns are letter pairs read as one letter.
var lookAlikeRuns = strings.NewReplacer("rn", "m", "vv", "w", "cl", "d")

// skeleton returns the form name is read as at a glance: marks that no letter took in
// dropped, letters mapped to the Latin ones they pass for, case folded, and pairs read
// as one letter joined.
func skeleton(name string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(name) {
		if unicode.Is(unicode.Mn, r) {
			continue // a mark left apart, on a letter with no composed form: a dot on i
		}
		if l, ok := lookAlike[r]; ok {
			r = l
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return lookAlikeRuns.Replace(b.String())
}

// LookAlikes returns the usernames that pass for each other at a glance, in groups
// sorted by name: names that differ only in case, in letters of another script drawn
// the same (Cyrillic а, Latin a), or in letters read as each other (l, I and 1; rn and
// m). A group is most often a mistake, or an account made to be taken for another.
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
		for _, k := range []string{"case:" + strings.ToLower(n), "look:" + skeleton(n)} {
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
