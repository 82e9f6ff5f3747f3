package yamlerr

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// decodeErr returns the error that decoding data as one or two YAML documents gives.
func decodeErr(t testing.TB, data []byte) error {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 2 {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return err
		}
	}
	return nil
}

// columns is the end of the hint given for a line indented out of place.
const columns = "the keys of one mapping start in one column, and only a key that ends " +
	"its line with a colon has lines indented under it"

func TestSyntax(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		msg        string
	}{
		{"mapping in a value", "a: 1\n  b: 2\n", 2,
			"mapping values are not allowed in this context (line 2 is indented 2 spaces, " +
				"line 1 above it 0: " + columns + ")"},
		{"double quote left open", "users:\n  alice:\n    password: \"$argon2id$x\n" +
			"    groups: [a]\n  bob:\n    password: y\n", 3,
			"found unexpected end of stream (the quote that opens the value on line 3 is " +
				"never closed)"},
		{"single quote left open", "a: 'abc\nb: c\n", 1,
			"found unexpected end of stream (the quote that opens the value on line 1 is " +
				"never closed)"},
		{"quote left open after an escaped one", "a: \"abc\\\"\nb: c\n", 1,
			"found unexpected end of stream (the quote that opens the value on line 1 is " +
				"never closed)"},
		{"quote left open after one over two lines", "a: \"multi\n  line\"\nb: 'it''s\n" +
			"c: d\n", 3, "found unexpected end of stream (the quote that opens the value " +
			"on line 3 is never closed)"},
		{"quote left open up to a later value's quote", "listen: \"127.0.0.1:80\nusers:\n" +
			"  file: \"users.yaml\"\n", 1, "did not find expected key (the quote that opens " +
			"the value on line 1 closes only on line 3, at the next quote; close it on line 1)"},
		{"a value over two lines, then an error of its own", "a: \"multi\n  line\"\nb: c\n" +
			"  d: e\n", 4, "mapping values are not allowed in this context (line 4 is " +
			"indented 2 spaces, line 3 above it 0: " + columns + ")"},
		{"flow mapping left open", "a: {x: 1\nb: c\n", 1, "did not find expected ',' or " +
			"'}' (a mapping written {a: 1} lacks its closing }, or a comma between entries)"},
		{"colon in a value", "a:\n  b: c: d\n", 2,
			`mapping values are not allowed in this context (a value with ": " in it ` +
				`needs quotes)`},
		{"key too far in", "s:\n  a: 1\n    b: 2\n", 3,
			"mapping values are not allowed in this context (line 3 is indented 4 spaces, " +
				"line 2 above it 2: " +
				columns + ")"},
		{"key too far in, after a comment", "s:\n a: 1\n # note\n\n  b: 2\n", 5,
			"did not find expected key (line 5 is indented 2 spaces, line 2 above it 1: " +
				columns + ")"},
		{"key one space in", "s:\n  a: 1\n b: 2\n", 3,
			"did not find expected key (line 3 is indented 1 space, line 2 above it 2: " +
				columns + ")"},
		{"list item key too far out", "r:\n  - p: /\n    u: x\n  q: y\n", 4,
			"did not find expected '-' indicator (line 4 is indented 2 spaces, line 3 " +
				"above it 4: " + columns + ")"},
		{"list item key out of line", "r:\n  - p: /\n   u: x\n", 3,
			"did not find expected '-' indicator (line 3 is indented 3 spaces, line 2 " +
				"above it 4: " + columns + ")"},
		{"key without a colon", "a: 1\nb\nc: 2\n", 2, "could not find expected ':' (a key " +
			"needs a colon after it, and a value that runs over several lines needs quotes)"},
		{"tab indent", "a:\n\tb: 1\n", 2, "found character that cannot start any token " +
			"(a tab indents this line; YAML is indented with spaces only)"},
		{"tab after spaces", "a:\n  b:\n  \tc: 1\n", 3, "found character that cannot start " +
			"any token (a tab indents this line; YAML is indented with spaces only)"},
		{"unknown escape, no line in the text", "a: 1\nb: \"\\q\"\n", 2,
			"found unknown escape character"},
		{"unclosed list", "a: 1\nb: [1, 2\nc: 3\n", 2, "did not find expected ',' or ']' " +
			"(a list written [a, b] lacks its closing ], or a comma between items)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeErr(t, []byte(tt.data))
			if err == nil {
				t.Fatal("the text decodes")
			}
			line, msg := Syntax([]byte(tt.data), err)
			if line != tt.line || msg != tt.msg {
				t.Errorf("got line %d %q, want line %d %q", line, msg, tt.line, tt.msg)
			}
		})
	}
}

func TestSyntaxLateInALongFile(t *testing.T) {
	// yaml.v3 names the line where the list began, 2, far above the item that broke it
	var b strings.Builder
	b.WriteString("a: 1\nroutes:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "  - path: /p%d/\n    upstream: x\n", i)
	}
	b.WriteString("  - path: /last/\n   upstream: x\n  - path: /after/\n")
	data := []byte(b.String())
	err := decodeErr(t, data)
	if err == nil || !strings.Contains(err.Error(), "line 2:") {
		t.Fatalf("decoding gave %v, want an error naming line 2", err)
	}
	line, msg := Syntax(data, err)
	if want := 2 + 2*5000 + 2; line != want {
		t.Errorf("got line %d (%s), want %d", line, msg, want)
	}

	// past its budget the search gives up, and the line yaml.v3 named stands
	defer func(n int) { maxParsed = n }(maxParsed)
	maxParsed = 4 * len(data)
	if line, msg := Syntax(data, err); line != 2 {
		t.Errorf("over budget: got line %d (%s), want 2", line, msg)
	}
}

func TestNearest(t *testing.T) {
	known := []string{"password", "email", "groups", "disabled", "displayname", "file"}
	tests := []struct{ key, want string }{
		{"emial", "email"},
		{"Pasword", "password"},
		{"group", "groups"},
		{"displayName", "displayname"},
		{"fiel", "file"},
		{"fi", ""}, // too short to guess at
		{"mali", ""},
		{"zzzzzzzz", ""},
	}
	for _, tt := range tests {
		if got := Nearest(tt.key, slices.Values(known)); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "abc", 3}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"ca", "abc", 3},
		{"emial", "email", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got := Nearest("fila", slices.Values([]string{"file", "fill"})); got != "" {
		t.Errorf("a tie gave %q", got)
	}
}

// FuzzSyntax checks that any broken text gets a line inside it and a message.
func FuzzSyntax(f *testing.F) {
	for _, s := range []string{"a: 1\n  b: 2\n", "a:\n\tb: 1\n", "a: \"\\q\"\n", "[1, 2\n",
		"a: 1\n---\nb: [\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		err := decodeErr(t, data)
		if err == nil {
			return
		}
		line, msg := Syntax(data, err)
		if lines := bytes.Count(data, []byte("\n")) + 1; line < 1 || line > lines {
			t.Errorf("line %d outside 1..%d", line, lines)
		}
		// a line found by search is one where the error first shows
		if n := errorLine(data, err.Error(), 0); n > 0 {
			ends := lineEnds(data)
			if prefixError(data[:ends[n-1]]) != err.Error() {
				t.Errorf("the first %d lines do not give %q", n, err)
			}
			if n > 1 && prefixError(data[:ends[n-2]]) == err.Error() {
				t.Errorf("the first %d lines give %q already", n-1, err)
			}
		}
		if msg == "" {
			t.Error("empty message")
		}
	})
}
