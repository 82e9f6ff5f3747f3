// Package pct reads percent-encoding byte by byte, for checks that must see exactly
// which bytes a URL encodes rather than what one decoding makes of them.
package pct

// At reports whether s holds a well-formed escape ("%XX") at i, and the byte it encodes.
func At(s string, i int) (byte, bool) {
	if i >= len(s) || s[i] != '%' {
		return 0, false
	}
	return Hex(s, i+1)
}

// Hex reports whether s holds two hex digits at i, and the byte they spell.
func Hex(s string, i int) (byte, bool) {
	if i+1 >= len(s) || !isHex(s[i]) || !isHex(s[i+1]) {
		return 0, false
	}
	return unhex(s[i])<<4 | unhex(s[i+1]), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// Pair reports whether a and b are two hex digits, and the byte they spell.
func Pair(a, b byte) (byte, bool) {
	if !isHex(a) || !isHex(b) {
		return 0, false
	}
	return unhex(a)<<4 | unhex(b), true
}
