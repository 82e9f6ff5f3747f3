package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/frontgate/gateway/config/yamlerr"
)

// readDocument parses data as a single YAML document and returns its root node, which is
// a mapping. The check for a second document is returned apart, as trailing, so that the
// caller can report problems inside the first document before it: they come earlier in
// the file.
func readDocument(data []byte, file string) (root *yaml.Node, trailing, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, &Error{File: file, Line: 1, Err: ErrEmpty}
		}
		return nil, nil, syntaxError(data, file, err)
	}

	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		trailing = syntaxError(data, file, err)
	default:
		trailing = &Error{File: file, Line: max(next.Line, 1),
			Err: errors.New("a second YAML document is not allowed")}
	}

	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil, &Error{File: file, Line: max(doc.Line, 1), Err: ErrEmpty}
	}
	root = doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, &Error{File: file, Line: max(root.Line, 1),
			Err: fmt.Errorf("config must be a mapping of keys to values, not %s", nodeKind(root))}
	}
	return root, trailing, nil
}

// syntaxError turns a yaml.v3 parse error into an *Error at the line where the text
// first goes wrong.
func syntaxError(data []byte, file string, err error) *Error {
	line, msg := yamlerr.Syntax(data, err)
	return &Error{File: file, Line: line, Err: fmt.Errorf("invalid YAML: %s", msg)}
}

// decoder fills Go values from a yaml.Node tree, following the yaml struct tags. It does
// the work of a strict yaml.Decoder itself so that every problem is reported with the
// full key path, and in file order: the tree is walked in document order and the first
// problem stops the walk, unless problems are collected.
type decoder struct {
	file string

	// lookup reads an environment variable, as os.LookupEnv does.
	lookup func(string) (string, bool)

	// lines records the line of every key and list item seen, by key path.
	lines map[string]int

	// unset, when not nil, lets a reference to an unset variable read as empty and
	// records the variable's name under the key that referred to it, instead of failing.
	unset map[string]string

	// problems, when not nil, collects the problems of keys and list items, and the walk
	// goes on past them, so that one run names every one
	problems *[]*Error

	// literal records, by key, the name in each value written as $NAME
	literal map[string]string

	// expanded holds, by key, each value that read environment variables, and its text as
	// written, so that problems can be told without the variables' values (see hide)
	expanded map[string][2]string
	// vars holds the value of each environment variable read, by name
	vars map[string]string

	// misplaced holds the paths an unknown key was pointed to, as a key misspelled or
	// written at the wrong indentation (that such a key is missing is no news), each
	// with the path of the first unknown key pointed to it
	misplaced map[string]string
}

// keep returns err, or, when d collects problems, records it and returns nil, so that
// the walk goes on with the next key or item.
func (d *decoder) keep(err error) error {
	var e *Error
	if d.problems == nil || !errors.As(err, &e) {
		return err
	}
	*d.problems = append(*d.problems, e)
	return nil
}

// fail returns an *Error for node n at key.
func (d *decoder) fail(n *yaml.Node, key string, err error) error {
	return &Error{File: d.file, Line: max(n.Line, 1), Key: key, Err: err}
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	dbIndexType  = reflect.TypeFor[DBIndex]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

// decode stores the value of n, found at key, into v.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) error {
	// Aliases are refused rather than followed: expanding them would let a small file
	// grow into a huge tree (the "billion laughs" attack), and would apply ${} expansion
	// twice to a shared node.
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return d.fail(n, key, errors.New("YAML anchors and aliases are not supported"))
	}
	if v.Type() == durationType {
		return d.duration(n, v, key)
	}
	if v.Type() == dbIndexType {
		return d.dbIndex(n, v, key)
	}
	if v.Type() == byteSizeType {
		return d.byteSize(n, v, key)
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.mapping(n, v, key)
	case reflect.Slice:
		return d.sequence(n, v, key)
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, p.Elem(), key); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.String:
		return d.string(n, v, key)
	case reflect.Bool:
		return d.bool(n, v, key)
	case reflect.Int:
		return d.int(n, v, key)
	}
	return d.fail(n, key, fmt.Errorf("cannot decode into %s", v.Type()))
}

// mapping decodes a YAML mapping into the struct v. Null leaves v as it is.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.fail(n, key, fmt.Errorf("must be a mapping, not %s", nodeKind(n)))
	}
	fields := yamlFields(v.Type())
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if err := d.field(k, val, v, key, fields, seen); d.keep(err) != nil {
			return err
		}
	}
	return nil
}

// hasKey reports whether n is a mapping with the key name.
func hasKey(n *yaml.Node, name string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return true
		}
	}
	return false
}

// field decodes the value val of the key k of a mapping at key into its field of the
// struct v; seen holds the line of each key set before.
func (d *decoder) field(k, val *yaml.Node, v reflect.Value, key string, fields map[string]int,
	seen map[string]int) error {
	if k.Kind == yaml.AliasNode || k.Anchor != "" {
		return d.fail(k, key, errors.New("YAML anchors and aliases are not supported"))
	}
	if k.Kind != yaml.ScalarNode {
		return d.fail(k, key, fmt.Errorf("a key must be a plain name, not %s", nodeKind(k)))
	}
	if k.Tag == "!!merge" {
		// not an unknown key: the keys it was to bring in are missing, and the rules,
		// judging the mapping without them, would report problems that are not there
		return d.fail(k, joinKey(key, k.Value), errors.New("YAML merge keys (<<) are not "+
			"supported: write the keys out"))
	}
	path := joinKey(key, k.Value)
	if first, ok := seen[k.Value]; ok {
		return d.fail(k, path, fmt.Errorf("%w, first set on line %d", ErrDuplicateKey, first))
	}
	seen[k.Value] = k.Line
	idx, ok := fields[k.Value]
	if !ok {
		if key == "users" && hasKey(val, "password") {
			return d.fail(k, path, fmt.Errorf("%w; this is a user's entry, and users "+
				"live in the users file that users.file names (is this the users file, "+
				"given as the config?)", ErrUnknownKey))
		}
		if near := yamlerr.Nearest(k.Value, maps.Keys(fields)); near != "" {
			d.pointedTo(joinKey(key, near), path)
			return d.fail(k, path, fmt.Errorf("%w; did you mean %s?", ErrUnknownKey, near))
		}
		if elsewhere := keyPaths()[k.Value]; len(elsewhere) > 0 {
			for _, p := range elsewhere {
				d.pointedTo(p, path)
			}
			return d.fail(k, path, fmt.Errorf("%w here; did you mean %s? A key's place is "+
				"set by its indentation", ErrUnknownKey, orList(elsewhere)))
		}
		return d.fail(k, path, ErrUnknownKey)
	}
	d.lines[path] = k.Line
	return d.decode(val, v.Field(idx), path)
}

// pointedTo records that the unknown key at from was taken for the key at path,
// misspelled or written at the wrong indentation.
func (d *decoder) pointedTo(path, from string) {
	if d.misplaced == nil {
		d.misplaced = make(map[string]string)
	}
	if _, ok := d.misplaced[path]; !ok {
		d.misplaced[path] = from
	}
}

// wasPointedTo reports whether an unknown key was taken for path or a key above it.
func (d *decoder) wasPointedTo(path string) bool { return d.pointer(path) != "" }

// pointer returns the first unknown key taken for path or a key above it, or "".
func (d *decoder) pointer(path string) string {
	for path != "" {
		if from, ok := d.misplaced[path]; ok {
			return from
		}
		path = path[:max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['), 0)]
	}
	return ""
}

// keyPaths maps each key of the config to the full paths it has, such as "file" to
// users.file, so that a key written at the wrong indentation can be pointed to its
// place. A list's items are written name[].
var keyPaths = sync.OnceValue(func() map[string][]string {
	out := make(map[string][]string)
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			if t.Kind() == reflect.Slice {
				prefix += "[]"
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for name, i := range yamlFields(t) {
			path := joinKey(prefix, name)
			out[name] = append(out[name], path)
			walk(t.Field(i).Type, path)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	for _, paths := range out {
		slices.Sort(paths)
	}
	return out
})

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// sequence decodes a YAML list into the slice v. Null sets v to nil.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, key string) error {
	if isNull(n) {
		v.SetZero()
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return d.fail(n, key, fmt.Errorf("must be a list, not %s", nodeKind(n)))
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		path := key + "[" + strconv.Itoa(i) + "]"
		d.lines[path] = item.Line
		if err := d.decode(item, s.Index(i), path); d.keep(err) != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// scalar returns the text of the scalar n with environment references expanded. Error
// messages quote n.Value, the text as written, rather than the expanded value, which may
// come from a variable holding a secret.
func (d *decoder) scalar(n *yaml.Node, key, want string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", d.fail(n, key, fmt.Errorf("must be %s, not %s", want, nodeKind(n)))
	}
	lookup := d.lookup
	if d.unset != nil {
		lookup = func(name string) (string, bool) {
			v, ok := d.lookup(name)
			if !ok {
				d.unset[key] = name
			}
			return v, true
		}
	}
	read := lookup
	lookup = func(name string) (string, bool) {
		v, ok := read(name)
		if ok {
			if d.vars == nil {
				d.vars = make(map[string]string)
			}
			d.vars[name] = v
		}
		return v, ok
	}
	s, err := expandEnv(n.Value, lookup)
	if err != nil {
		return "", d.fail(n, key, err)
	}
	if name, ok := bareVariable(n.Value); ok {
		if d.literal == nil {
			d.literal = make(map[string]string)
		}
		d.literal[key] = name
	}
	if s != n.Value {
		if d.expanded == nil {
			d.expanded = make(map[string][2]string)
		}
		d.expanded[key] = [2]string{s, n.Value}
	}
	return s, nil
}

// hide returns e with the value of every environment variable read under its key, or
// under keys within it, written as the file wrote it (${NAME}): messages quote values,
// and a variable's may be a secret, such as a password inside a Redis URL.
func (d *decoder) hide(e *Error) *Error { return hideValues(d.expanded, d.vars, e) }

// minHiddenLen is the shortest value of a variable hidden wherever a message quotes it,
// whatever its key: a shorter one (a port, "on") is no secret, and would be found in
// words it has no part in.
const minHiddenLen = 6

// hideValues returns e with each value of expanded (by key, the value as read and the
// text the file wrote) under its key, or under keys within it, written as the file
// wrote it; and the value of each variable of vars at least minHiddenLen long, wherever
// it stands (a part of a path that a message derives from a value), written ${NAME}.
func hideValues(expanded map[string][2]string, vars map[string]string, e *Error) *Error {
	if e == nil || e.Err == nil {
		return e
	}
	msg := e.Err.Error()
	hidden := msg
	for key, v := range expanded {
		if v[0] == "" || !(key == e.Key || strings.HasPrefix(key, e.Key+".") ||
			strings.HasPrefix(key, e.Key+"[") || strings.HasPrefix(e.Key, key)) {
			continue
		}
		quoted := strconv.Quote(v[0])
		hidden = strings.ReplaceAll(hidden, quoted, strconv.Quote(v[1]))
		if len(v[0]) >= minHiddenLen {
			// a short value is hidden where it is quoted whole only: elsewhere it is
			// found in words it has no part in ("no" in "no user")
			hidden = strings.ReplaceAll(hidden, quoted[1:len(quoted)-1], v[1])
			hidden = strings.ReplaceAll(hidden, v[0], v[1])
		}
	}
	// longest first, so that a value holding another is hidden whole; and in lower
	// case too, as names of hosts are told
	names := slices.SortedFunc(maps.Keys(vars), func(a, b string) int {
		return cmp.Compare(len(vars[b]), len(vars[a]))
	})
	for _, name := range names {
		if v := vars[name]; len(v) >= minHiddenLen {
			hidden = strings.ReplaceAll(hidden, v, "${"+name+"}")
			hidden = strings.ReplaceAll(hidden, strings.ToLower(v), "${"+name+"}")
		}
	}
	if hidden == msg {
		return e
	}
	return &Error{File: e.File, Line: e.Line, Key: e.Key,
		Err: hiddenError{msg: hidden, err: e.Err}}
}

// hint returns e with a word on how to read an environment variable when the value at
// its key was written $NAME, which the gateway reads as those characters: most likely
// the reason the value is wrong.
func (d *decoder) hint(e *Error) *Error {
	if e == nil || e.Err == nil {
		return e
	}
	name, ok := d.literal[e.Key]
	if !ok {
		return e
	}
	return &Error{File: e.File, Line: e.Line, Key: e.Key, Err: fmt.Errorf("%w; to read "+
		"the environment variable %s, write ${%s}", e.Err, name, name)}
}

// hiddenError is an error whose message had values hidden; it unwraps to the original.
type hiddenError struct {
	msg string
	err error
}

func (h hiddenError) Error() string { return h.msg }
func (h hiddenError) Unwrap() error { return h.err }

// string decodes any scalar as its text, as yaml.v3 does, so that "secure: true" gives
// the string "true". Null gives the empty string, which means "use the default".
func (d *decoder) string(n *yaml.Node, v reflect.Value, key string) error {
	switch {
	case isNull(n):
		v.SetString("")
		return nil
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!binary":
		var s string
		if err := n.Decode(&s); err != nil {
			return d.fail(n, key, errors.New("invalid !!binary value"))
		}
		v.SetString(s)
		return nil
	}
	s, err := d.scalar(n, key, "a string")
	if err != nil {
		return err
	}
	v.SetString(s)
	return nil
}

// bool decodes true or false. The YAML 1.1 spellings yes, no, on and off are refused:
// a reader cannot tell whether they were meant as booleans or as words.
func (d *decoder) bool(n *yaml.Node, v reflect.Value, key string) error {
	s, err := d.scalar(n, key, "true or false")
	if err != nil {
		return err
	}
	switch s {
	case "true", "True", "TRUE":
		v.SetBool(true)
	case "false", "False", "FALSE":
		v.SetBool(false)
	default:
		return d.fail(n, key, fmt.Errorf("must be true or false, not %q", n.Value))
	}
	return nil
}

// maxInt is the largest whole number a config key takes: more than any count the
// gateway keeps, and far from where arithmetic on it could overflow.
const maxInt = 1 << 30

// int decodes a whole number. Null gives zero, which means "use the default"; an
// explicit zero or negative number is refused rather than silently replaced.
func (d *decoder) int(n *yaml.Node, v reflect.Value, key string) error {
	if isNull(n) {
		v.SetInt(0)
		return nil
	}
	s, err := d.scalar(n, key, "a whole number")
	if err != nil {
		return err
	}
	i, err := strconv.Atoi(s)
	if err != nil || i <= 0 || i > maxInt {
		return d.fail(n, key, fmt.Errorf("must be a whole number from 1 to %d, not %q",
			maxInt, n.Value))
	}
	v.SetInt(int64(i))
	return nil
}

// dbIndex decodes a Redis database number, where 0 is a number like any other.
func (d *decoder) dbIndex(n *yaml.Node, v reflect.Value, key string) error {
	if isNull(n) {
		v.SetInt(0)
		return nil
	}
	s, err := d.scalar(n, key, "a database number")
	if err != nil {
		return err
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i > 1<<16 {
		return d.fail(n, key, fmt.Errorf("must be a database number from 0, not %q", n.Value))
	}
	v.SetInt(int64(i))
	return nil
}

// byteSize decodes a size such as "10MB". Null gives zero, meaning no limit.
func (d *decoder) byteSize(n *yaml.Node, v reflect.Value, key string) error {
	if isNull(n) {
		v.SetInt(0)
		return nil
	}
	s, err := d.scalar(n, key, "a size")
	if err != nil {
		return err
	}
	size, err := parseSize(s)
	if err != nil {
		return d.fail(n, key, err)
	}
	v.SetInt(size)
	return nil
}

// parseSize reads "512", "512B", "10KB", "10KiB", "1.5MB" and the like.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	mult := map[string]float64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || f <= 0 || f*mult >= 1<<53 {
		return 0, fmt.Errorf("invalid size %q: write a number and a unit, such as 512KB, "+
			"10MB or 1GiB", s)
	}
	return int64(f * mult), nil
}

// duration decodes a Go duration such as "30m" or "1h30m". Null gives zero, which means
// "use the default"; an explicit zero or negative duration is refused rather than
// silently replaced by the default.
func (d *decoder) duration(n *yaml.Node, v reflect.Value, key string) error {
	if isNull(n) {
		v.SetInt(0)
		return nil
	}
	s, err := d.scalar(n, key, "a duration")
	if err != nil {
		return err
	}
	t, err := time.ParseDuration(s)
	if err != nil {
		if days, ok := strings.CutSuffix(s, "d"); ok && isDigits(days) {
			return d.fail(n, key, fmt.Errorf("invalid duration %q: the longest unit is h, "+
				"so write days as hours, such as %sh", n.Value, times24(days)))
		}
		if strings.Contains(err.Error(), "invalid duration") && durationSyntax(s) {
			return d.fail(n, key, fmt.Errorf("duration %q is longer than the longest there "+
				"is, %dh", n.Value, int64(math.MaxInt64/int64(time.Hour))))
		}
		return d.fail(n, key, fmt.Errorf("invalid duration %q: write a number and a unit, "+
			"such as 90s, 30m or 12h", n.Value))
	}
	if t <= 0 {
		return d.fail(n, key, errors.New("duration must be greater than 0"))
	}
	v.SetInt(int64(t))
	return nil
}

// durationSyntax reports whether s is written as a duration is, numbers each with a
// unit, so that time.ParseDuration refused it for its size alone.
func durationSyntax(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		switch s[i:j] {
		case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
		default:
			return false
		}
		if i == 0 {
			return false
		}
		s = s[j:]
	}
	return true
}

// isDigits reports whether s is a short run of decimal digits, such as a count of days.
func isDigits(s string) bool {
	return s != "" && len(s) <= 6 && strings.Trim(s, "0123456789") == ""
}

// times24 returns the whole number in digits, times 24, in digits.
func times24(digits string) string {
	n, _ := strconv.Atoi(digits)
	return strconv.Itoa(n * 24)
}

// yamlFields maps the YAML key of each settable field of the struct type t to its index.
// Like yaml.v3, a field without a name in its tag is keyed by its lowercased Go name.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
	}
	return fields
}

// joinKey appends the mapping key name to the key path parent. A name that is not a
// plain word is quoted, so that a key containing dots or brackets cannot be mistaken for
// a path.
func joinKey(parent, name string) string {
	if !isPlainKey(name) {
		name = strconv.Quote(name)
	}
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// isPlainKey reports whether name is non-empty and made only of letters, digits, '_'
// and '-'.
func isPlainKey(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '_' && c != '-' && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') &&
			!('0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// isNull reports whether n is a null scalar: empty, "~" or "null".
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// nodeKind describes the kind of n for an error message.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "a single value"
}
