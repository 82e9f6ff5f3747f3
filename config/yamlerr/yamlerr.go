// Package yamlerr turns what yaml.v3 reports about a broken file into messages a person
// can act on: the line where the text first goes wrong, a hint when tabs indent it, and
// the known key a mistyped one most likely meant.
package yamlerr

import (
	"bytes"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Syntax returns the line of data where err, the error that decoding data with yaml.v3
// gave, first appears, and err's text without yaml.v3's "yaml: line N: " prefix.
//
// yaml.v3 gives no structured position, only "line N" in the text, which for parser
// errors is the line before the construct that failed, and which it leaves out for some
// scanner errors. So the line is found by parsing prefixes of data, as one or two
// documents, for the shortest that gives the same error; the line in the text is the
// fallback, and 1 the last resort. When that line is indented with a tab, the text says so.
func Syntax(data []byte, err error) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	named := 0
	num, rest, ok := strings.Cut(strings.TrimPrefix(msg, "line "), ": ")
	if n, convErr := strconv.Atoi(num); ok && convErr == nil && strings.HasPrefix(msg, "line ") {
		msg, named = rest, n
	}
	if line = errorLine(data, err.Error(), named); line == 0 {
		line = named
	}
	line = max(line, 1)
	if msg == "found unexpected end of stream" {
		// a quoted value left open runs to the end of the file, where yaml.v3 notices
		if open := unclosedQuote(data, line); open > 0 {
			return open, msg + fmt.Sprintf(" (the quote that opens the value on line %d "+
				"is never closed)", open)
		}
	}
	if open := quoteClosedOn(data, line); open > 0 {
		// a quote left open takes in the lines below it, up to the next quote, and what
		// follows that one no longer reads as YAML
		return open, msg + fmt.Sprintf(" (the quote that opens the value on line %d "+
			"closes only on line %d, at the next quote; close it on line %d)", open, line,
			open)
	}
	if text := lineText(data, line); strings.HasPrefix(strings.TrimLeft(text, " "), "\t") {
		return line, msg + " (a tab indents this line; YAML is indented with spaces only)"
	}
	if hint := hint(data, line, msg); hint != "" {
		msg += " (" + hint + ")"
	}
	return line, msg
}

// hint says what most often causes the error msg at line of data, or "" when it knows
// nothing to say.
func hint(data []byte, line int, msg string) string {
	indent := indentHint(data, line)
	switch msg {
	case "did not find expected key", "did not find expected '-' indicator",
		"block sequence entries are not allowed in this context":
		return indent
	case "mapping values are not allowed in this context":
		if indent != "" {
			return indent
		}
		return `a value with ": " in it needs quotes`
	case "did not find expected ',' or ']'":
		return "a list written [a, b] lacks its closing ], or a comma between items"
	case "did not find expected ',' or '}'":
		return "a mapping written {a: 1} lacks its closing }, or a comma between entries"
	case "could not find expected ':'":
		return "a key needs a colon after it, and a value that runs over several lines " +
			"needs quotes"
	}
	return ""
}

// indentHint compares the indentation of line with that of the line above it that
// holds something, when the two differ in a way YAML refuses: less, or more under a
// line that opens no block. It returns "" when they do not.
func indentHint(data []byte, line int) string {
	cur := lineText(data, line)
	above, prev := 0, ""
	for n := line - 1; n >= 1; n-- {
		t := lineText(data, n)
		if s := strings.TrimSpace(t); s != "" && !strings.HasPrefix(s, "#") {
			above, prev = n, t
			break
		}
	}
	if above == 0 {
		return ""
	}
	in, inPrev := indentOf(cur), indentOf(prev)
	opens := strings.HasSuffix(strings.TrimSpace(stripComment(prev)), ":") ||
		strings.HasSuffix(strings.TrimSpace(prev), "-")
	if in == inPrev || in > inPrev && opens {
		return ""
	}
	return fmt.Sprintf("line %d is indented %s, line %d above it %d: the keys of "+
		"one mapping start in one column, and only a key that ends its line with a colon "+
		"has lines indented under it", line, spaces(in), above, inPrev)
}

// unclosedQuote returns the line of data, up to line, where a value opens a quote (" or
// ') that nothing after it closes, or 0 when there is none: YAML lets a quoted value run
// over lines, so one left open takes in the rest of the file.
func unclosedQuote(data []byte, line int) int {
	open := 0
	quotes(data, line, func(n, closes int) bool {
		if closes < 0 {
			open = n
			return false
		}
		return true
	})
	return open
}

// quotes calls yield with each line n of data, up to line, whose value opens with a
// quote, and the line where the quote closes, -1 when nothing closes it, until yield
// returns false.
func quotes(data []byte, line int, yield func(n, closes int) bool) {
	text := string(data)
	// at is where line n starts: the lines are walked once, not counted from the top
	// for each, which a file of a million lines would pay for a million times
	for n, at := 1, 0; n <= line && at <= len(text); {
		l, _, more := strings.Cut(text[at:], "\n")
		t := strings.TrimLeft(l, " ")
		t = strings.TrimPrefix(t, "- ")
		if _, v, ok := strings.Cut(t, ": "); ok {
			t = v
		}
		t = strings.TrimLeft(t, " ")
		if t == "" || t[0] != '"' && t[0] != '\'' {
			if !more {
				return
			}
			n, at = n+1, at+len(l)+1
			continue
		}
		q := at + len(l) - len(t) // the quote's offset in text
		end := closeQuote(text[q:])
		if end < 0 {
			yield(n, -1)
			return
		}
		closes := n + strings.Count(text[q:q+end], "\n")
		if !yield(n, closes) {
			return
		}
		// go on after the line it closes on
		nl := strings.IndexByte(text[q+end:], '\n')
		if nl < 0 {
			return
		}
		n, at = closes+1, q+end+nl+1
	}
}

// quoteClosedOn returns the line of data where a value opens a quote that closes on
// line, a later line, or 0 when there is none.
func quoteClosedOn(data []byte, line int) int {
	open := 0
	quotes(data, line, func(n, closes int) bool {
		if closes == line && n < line {
			open = n
			return false
		}
		return true
	})
	return open
}

// closeQuote returns the offset in t, which starts with a quote, of the quote that closes
// it (a double quote not escaped by a backslash, or a single quote not doubled), or -1.
func closeQuote(t string) int {
	q := t[0]
	for i := 1; i < len(t); i++ {
		switch {
		case q == '"' && t[i] == '\\':
			i++
		case t[i] == q && q == '\'' && i+1 < len(t) && t[i+1] == '\'':
			i++
		case t[i] == q:
			return i
		}
	}
	return -1
}

// lineStart returns the offset in data of the start of line n, counted from 1.
func lineStart(data []byte, n int) int {
	at := 0
	for ; n > 1; n-- {
		i := bytes.IndexByte(data[at:], '\n')
		if i < 0 {
			return len(data)
		}
		at += i + 1
	}
	return at
}

// spaces counts n spaces in words: "1 space", "4 spaces".
func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return fmt.Sprintf("%d spaces", n)
}

// indentOf returns how many spaces start s, counting those after a list's "- " too:
// the keys of a mapping that is an item of a list start there.
func indentOf(s string) int {
	n := len(s) - len(strings.TrimLeft(s, " "))
	if rest := s[n:]; strings.HasPrefix(rest, "- ") {
		n += 2 + len(rest[2:]) - len(strings.TrimLeft(rest[2:], " "))
	}
	return n
}

// stripComment returns s without a trailing comment, one that starts " #".
func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	return s
}

// errorLine returns a line n of data such that the first n lines fail to parse with the
// error text msg and the first n-1 do not, or 0 when the whole of data does not fail
// with msg or finding n would parse more than maxParsed bytes. from, when not 0, is the
// line msg itself names: yaml.v3 names the line where the construct that failed began,
// so the error lies at or below it.
//
// Parsing stops at the first error, so once a prefix fails with msg every longer one
// does: the line is found by doubling the step from from until a prefix fails with msg,
// then halving the gap: a few dozen parses, of which the first are short.
func errorLine(data []byte, msg string, from int) int {
	ends := lineEnds(data)
	parsed := 0
	fails := func(n int) bool {
		parsed += ends[n-1]
		return parsed <= maxParsed && prefixError(data[:ends[n-1]]) == msg
	}
	last := len(ends)
	if last == 0 || !fails(last) {
		return 0
	}
	// good is a count of lines known not to fail with msg (0: none), bad one known to
	good, bad := 0, last
	if from = min(max(from-1, 1), last); fails(from) {
		bad = from
	} else {
		good = from
		for n, step := from+1, 1; n < last; n, step = n+step, step*2 {
			if fails(n) {
				bad = n
				break
			}
			good = n
		}
	}
	for bad-good > 1 {
		mid := good + (bad-good)/2
		if fails(mid) {
			bad = mid
		} else {
			good = mid
		}
	}
	if parsed > maxParsed {
		return 0
	}
	return bad
}

// maxParsed bounds the bytes errorLine parses in all, so that a broken file of tens of
// megabytes is reported in seconds, at the line yaml.v3 names, rather than in minutes.
// Tests lower it.
var maxParsed = 128 << 20

// lineEnds returns, for each line of data, the offset just past its end.
func lineEnds(data []byte) []int {
	var ends []int
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			off = len(data)
		} else {
			off += i + 1
		}
		ends = append(ends, off)
	}
	return ends
}

// prefixError returns the text of the error that parsing the first two documents of data
// gives, or "" if there is none. Two, because a file of one document is read on to
// refuse a second.
func prefixError(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 2 {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return err.Error()
		}
	}
	return ""
}

// lineText returns line n of data, counting from 1, or "" past its end.
func lineText(data []byte, n int) string {
	for range n - 1 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return ""
		}
		data = data[i+1:]
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	return string(data)
}

// Nearest returns the one of known that key most likely meant: the one within an edit
// of it, or two for a longer key (letter case aside), or "" when there is none or
// several. known keys are lower case.
func Nearest(key string, known iter.Seq[string]) string {
	best, bestDist, tie := "", 3, false
	for k := range known {
		dist := editDistance(strings.ToLower(key), k)
		switch {
		case dist < bestDist:
			best, bestDist, tie = k, dist, false
		case dist == bestDist:
			tie = true
		}
	}
	// a short key is too easily near a key it never meant
	if tie || bestDist > max(1, len(key)/3) {
		return ""
	}
	return best
}

// editDistance returns the number of single-byte insertions, deletions, substitutions
// and swaps of two neighbours that turn a into b, each part of a changed once at most.
func editDistance(a, b string) int {
	// rows i-2, i-1 and i of the table of distances between prefixes of a and b
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		older, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], older[j-2]+1)
			}
		}
		rows = [3][]int{prev, cur, older}
	}
	return rows[1][len(b)]
}
