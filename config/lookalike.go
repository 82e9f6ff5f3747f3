package config

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// LookAlike reports whether decoded, a decoded path, holds a character that an app
// could read as another: any character that compatibility normalization (NFKC, which
// some frameworks apply to paths) changes ("．" is ".", "ａ" is "a", "℀" is "a/c"), or
// IDNA's mapping ("。" is "."), one that Windows' best-fit mapping turns into a
// separator ("∕" is "/"), or a control or space beyond ASCII (NEL, the line and
// paragraph separators, the Ogham space mark), which the trimming functions of .NET,
// Python and Go drop. Any of them can make a path the rules judged one way
// ("/public/．．／admin", "/ａdmin", "/admin\u0085/") another path upstream: requests
// with one are refused, and so are route and upstream paths.
func LookAlike(decoded string) bool {
	ascii := true
	for i := 0; i < len(decoded) && ascii; i++ {
		ascii = decoded[i] < utf8.RuneSelf
	}
	if ascii {
		return false // the common case, and nothing to map
	}
	return strings.ContainsAny(decoded, bestFitSeparators) ||
		strings.Contains(decoded, ideographicFullStop) ||
		strings.ContainsFunc(decoded, func(r rune) bool {
			return r >= utf8.RuneSelf && (unicode.IsControl(r) || unicode.IsSpace(r))
		}) ||
		!norm.NFKC.IsNormalString(decoded)
}

// bestFitSeparators are characters that Windows' best-fit mapping turns into "/" or "\\":
// slashes and backslashes of other scripts, and the yen and won signs, which the Japanese
// and Korean code pages put where ASCII has the backslash; and others that best-fit
// makes into characters paths treat specially.
const bestFitSeparators = "\u2215\u2044\u29f8\u2216\u29f5\u29f9\u00a5\u20a9\uffe5\uffe6" +
	// and colons of other scripts (the ratio sign, the Armenian full stop, the Hebrew
	// sof pasuq, modifier letters), since a colon starts an NTFS stream
	"\u2236\u0589\u05c3\u02f8\ua789" +
	// and the Arabic percent sign, which best-fit makes a "%" that an app decoding
	// after the conversion reads as the start of an escape
	"\u066a"

// ideographicFullStop is a dot that NFKC leaves alone but IDNA's mapping, which some
// apps apply to names they take from a path, reads as ".": "/public/。。/admin" would
// be "/public/../admin" to them.
const ideographicFullStop = "\u3002"
