package proxy

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"unicode/utf8"

	"github.com/frontgate/gateway/proxy/internal/pct"
)

// Rails, Laravel and Symfony take a "_method" field of a form body, and Laravel one of a
// JSON body too, as the request's method. On a route with a methods rule the gateway
// reads such bodies as they pass: a body that names a method the rule does not allow
// never reaches the app whole. The body still streams; only its last byte waits until the
// whole of it has been read, so the app cannot act on a body the gateway refuses.

// maxOverrideValue is the longest "_method" value read; a longer one names no method
// and is refused.
const maxOverrideValue = 64

// overrideError is the error a body gate reads when the body names a method the
// route's rule does not allow.
type overrideError struct{ method string }

func (e *overrideError) Error() string {
	return "the request body names the method " + e.method
}

// unclearBodyError is the error a body gate reads when the body cannot be read the one
// way the app will read it, so its method override, if any, is unknown.
type unclearBodyError struct{ why string }

func (e *unclearBodyError) Error() string { return "the request body is unclear: " + e.why }

// bodyScanner reads a body as it passes for a method override.
type bodyScanner interface {
	// scan reads the next bytes; an error refuses the body.
	scan(p []byte) error
	// end is told the body is all in; an error refuses it.
	end() error
	// abort is told the body will be read no further.
	abort()
}

// overrideScanners returns the scanners a body with content type ct needs on a route
// whose methods rule allows allowed, or an error when the body cannot be read clearly.
// Scanners are chosen widely: every type an app framework might parse a form from.
func overrideScanners(ct string, allowed []string) ([]bodyScanner, error) {
	lower := strings.ToLower(ct)
	var s []bodyScanner
	// Laravel takes any type naming JSON, "+json" or "/json", anywhere in the header.
	if strings.Contains(lower, "json") {
		s = append(s, &jsonScanner{allowed: allowed})
	}
	// PHP and Rack parse application/x-www-form-urlencoded, and Rack a POST with no
	// type as well; any type naming "urlencoded" is read as one.
	if lower == "" || strings.Contains(lower, "urlencoded") {
		s = append(s, &formScanner{seps: "&", allowed: allowed},
			&formScanner{seps: "&;", allowed: allowed})
	}
	if strings.Contains(lower, "multipart") {
		mp, err := newMultipartScanner(ct, allowed)
		if err != nil {
			return nil, err
		}
		if mp != nil {
			s = append(s, mp)
		}
	}
	return s, nil
}

// bodyGate passes a request body on while its scanners read it, one byte behind: the
// last byte is passed only once the scanners have seen the whole body and let it go.
type bodyGate struct {
	src   io.ReadCloser
	scans []bodyScanner
	last  byte // held back
	held  bool
	eof   bool // the scanners let the body go; last, if held, ends it
	err   error
	one   [1]byte
}

func (g *bodyGate) Read(p []byte) (int, error) {
	switch {
	case g.err != nil:
		return 0, g.err
	case len(p) == 0:
		return 0, nil
	case g.eof:
		if g.held {
			p[0], g.held = g.last, false
			return 1, io.EOF
		}
		return 0, io.EOF
	}
	// What is read joins the byte held back, in p when p has room for both.
	dst := p
	switch {
	case g.held && len(p) > 1:
		dst = p[1:]
	case g.held:
		dst = g.one[:]
	}
	n, err := g.src.Read(dst)
	if n > 0 {
		if serr := g.scan(dst[:n]); serr != nil {
			return 0, serr
		}
	}
	if err == io.EOF {
		if serr := g.end(); serr != nil {
			return 0, serr
		}
	}
	if !g.held {
		switch {
		case n == 0 || err == io.EOF:
			return n, err
		}
		g.last, g.held = p[n-1], true
		return n - 1, err
	}
	p[0] = g.last
	switch {
	case n == 0 && err == io.EOF:
		g.held = false
		return 1, io.EOF
	case n == 0:
		return 0, err
	case len(p) == 1:
		// the byte read is held in turn; with EOF, the next read passes it
		g.last = g.one[0]
		if err == io.EOF {
			err = nil
		}
		return 1, err
	case err == io.EOF:
		g.held = false
		return 1 + n, io.EOF
	}
	g.last = p[n]
	return n, err
}

// end tells the scanners the body is all in.
func (g *bodyGate) end() error {
	for _, s := range g.scans {
		if err := s.end(); err != nil {
			g.err = err
			g.abort()
			return err
		}
	}
	g.eof = true
	return nil
}

func (g *bodyGate) scan(p []byte) error {
	for _, s := range g.scans {
		if err := s.scan(p); err != nil {
			g.err = err
			g.abort()
			return err
		}
	}
	return nil
}

func (g *bodyGate) abort() {
	for _, s := range g.scans {
		s.abort()
	}
}

func (g *bodyGate) Close() error {
	if !g.eof {
		g.abort()
	}
	return g.src.Close()
}

// checkOverride returns the error for a "_method" field whose value is v, read up to
// maxOverrideValue bytes (over is set when there was more), or nil when allowed holds it.
func checkOverride(v []byte, over bool, allowed []string) error {
	m := strings.ToUpper(strings.TrimSpace(string(v)))
	if over {
		return &overrideError{method: strings.ToValidUTF8(m[:min(len(m), 16)], "") + "…"}
	}
	if m != "" && !isOneOf(m, allowed) {
		return &overrideError{method: m}
	}
	return nil
}

// isOverrideKey reports whether a decoded form key names the "_method" field as PHP
// reads keys, and more widely where in doubt: leading spaces dropped, the key cut at a
// NUL and before a "[", its " " and "." read as "_", and compared in any letter case.
func isOverrideKey(k string) bool {
	k = strings.TrimLeft(k, " ")
	if i := strings.IndexAny(k, "\x00["); i >= 0 {
		k = k[:i]
	}
	return strings.EqualFold(phpKey.Replace(k), "_method")
}

// overrideKey matches a form key against "_method" byte by byte, as isOverrideKey does.
type overrideKey struct {
	started bool // past the leading spaces
	cut     bool // past a NUL or "["
	n       int  // bytes kept
	miss    bool
}

func (k *overrideKey) add(c byte) {
	switch {
	case k.cut:
	case !k.started && c == ' ':
	case c == 0 || c == '[':
		k.started, k.cut = true, true
	default:
		k.started = true
		if c == ' ' || c == '.' {
			c = '_'
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if k.n >= len("_method") || c != "_method"[k.n] {
			k.miss = true
		}
		k.n++
	}
}

// settled reports whether no further byte can change the key's match.
func (k *overrideKey) settled() bool { return k.cut || k.miss }

func (k *overrideKey) matches() bool { return !k.miss && k.n == len("_method") }

// formScanner reads an application/x-www-form-urlencoded body pair by pair, split at
// any of seps, as queryOverride reads a query.
type formScanner struct {
	seps    string
	allowed []string
	inValue bool
	matched bool // the pair's key is "_method"
	key     overrideKey
	val     []byte
	over    bool
	esc     [2]byte // a "%" and up to one hex digit, waiting for the rest of an escape
	nesc    int
}

func (f *formScanner) scan(p []byte) error {
	for i := 0; i < len(p); {
		// The value of another key, or the rest of a key that can no longer be
		// "_method", matters only where it ends.
		if f.inValue && !f.matched || !f.inValue && f.key.settled() {
			stops := f.seps
			if !f.inValue {
				stops += "="
			}
			j := bytes.IndexAny(p[i:], stops)
			f.nesc = 0
			if j < 0 {
				return nil
			}
			i += j
		}
		c := p[i]
		i++
		switch {
		case strings.IndexByte(f.seps, c) >= 0:
			if err := f.endPair(); err != nil {
				return err
			}
		case c == '=' && !f.inValue:
			f.flush()
			f.inValue, f.matched = true, f.key.matches()
		default:
			f.decode(c)
		}
	}
	return nil
}

func (f *formScanner) end() error { return f.endPair() }

func (f *formScanner) abort() {}

// decode takes one byte of a key or value as lenientUnescape does.
func (f *formScanner) decode(c byte) {
	switch f.nesc {
	case 1:
		if _, ok := pct.Pair(c, '0'); ok {
			f.esc[1], f.nesc = c, 2
			return
		}
		f.flush()
	case 2:
		if b, ok := pct.Pair(f.esc[1], c); ok {
			f.nesc = 0
			f.emit(b)
			return
		}
		f.flush()
	}
	switch c {
	case '%':
		f.esc[0], f.nesc = c, 1
	case '+':
		f.emit(' ')
	default:
		f.emit(c)
	}
}

// flush passes on as they are the bytes of an escape that did not complete.
func (f *formScanner) flush() {
	n := f.nesc
	f.nesc = 0
	for i := range n {
		f.emit(f.esc[i])
	}
}

func (f *formScanner) emit(c byte) {
	switch {
	case !f.inValue:
		f.key.add(c)
	case !f.matched:
	case len(f.val) < maxOverrideValue:
		f.val = append(f.val, c)
	default:
		f.over = true
	}
}

func (f *formScanner) endPair() error {
	f.flush()
	var err error
	if f.inValue && f.matched {
		err = checkOverride(f.val, f.over, f.allowed)
	}
	f.inValue, f.matched, f.key, f.val, f.over = false, false, overrideKey{}, f.val[:0], false
	return err
}

// jsonScanner reads the keys of a JSON body's top-level object, as Laravel takes them.
// It follows strings and nesting only, so a body that is not JSON costs a pass and
// nothing more: an app cannot parse it either.
type jsonScanner struct {
	allowed []string
	depth   int
	inObj   bool // the value at depth 1 is an object
	state   jsonState
	inStr   bool
	esc     int // 1 after a backslash, 2 to 5 within the digits of "\u"
	u       rune
	key     overrideKey
	keyText bool // a key holds a byte outside ASCII
	matched bool
	val     []byte
	over    bool
}

type jsonState int

const (
	jsonKey      jsonState = iota // a key comes next
	jsonInKey                     // within a key
	jsonColon                     // the colon after a key comes next
	jsonValue                     // a value comes next
	jsonInValue                   // within the string value of "_method"
	jsonSkipping                  // within any other value
)

func (j *jsonScanner) scan(p []byte) error {
	for i := 0; i < len(p); i++ {
		if j.inStr && j.esc == 0 && j.state != jsonInKey && j.state != jsonInValue {
			// a string no one reads matters only where it ends
			k := bytes.IndexAny(p[i:], `"\`)
			if k < 0 {
				return nil
			}
			i += k
		}
		c := p[i]
		if j.inStr {
			if err := j.strByte(c); err != nil {
				return err
			}
			continue
		}
		top := j.depth == 1 && j.inObj
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			j.inStr = true
			if top {
				switch j.state {
				case jsonKey:
					j.state, j.key, j.keyText = jsonInKey, overrideKey{}, false
				case jsonValue:
					j.state = jsonSkipping
					if j.matched {
						j.state, j.val, j.over = jsonInValue, j.val[:0], false
					}
				}
			}
			continue
		case ':':
			if top && j.state == jsonColon {
				j.state, j.matched = jsonValue, j.key.matches() && !j.keyText
			}
			continue
		case ',':
			if top {
				j.state, j.matched = jsonKey, false
			}
			continue
		}
		if top && j.state == jsonValue && j.matched {
			// a number, object, array, true, false or null: no method name
			return &overrideError{method: "non-string _method"}
		}
		if top && j.state == jsonValue {
			j.state = jsonSkipping
		}
		switch c {
		case '{', '[':
			if j.depth == 0 {
				j.inObj, j.state = c == '{', jsonKey
			}
			j.depth++
		case '}', ']':
			if j.depth > 0 {
				j.depth--
			}
		}
	}
	return nil
}

// strByte takes one byte within a string.
func (j *jsonScanner) strByte(c byte) error {
	switch {
	case j.esc == 1:
		j.esc = 0
		switch c {
		case 'u':
			j.esc, j.u = 2, 0
		case 'b':
			j.strText('\b')
		case 'f':
			j.strText('\f')
		case 'n':
			j.strText('\n')
		case 'r':
			j.strText('\r')
		case 't':
			j.strText('\t')
		default:
			j.strText(c)
		}
	case j.esc >= 2:
		d, ok := pct.Pair('0', c)
		if !ok {
			j.esc = 0 // not JSON: no app reads this body
			return nil
		}
		j.u = j.u<<4 | rune(d)
		if j.esc++; j.esc == 6 {
			j.esc = 0
			if j.u < utf8.RuneSelf {
				j.strText(byte(j.u))
			} else {
				var b [utf8.UTFMax]byte
				for _, x := range b[:utf8.EncodeRune(b[:], j.u)] {
					j.strText(x)
				}
			}
		}
	case c == '\\':
		j.esc = 1
	case c == '"':
		j.inStr = false
		switch j.state {
		case jsonInKey:
			j.state = jsonColon
		case jsonInValue:
			j.state = jsonSkipping
			return checkOverride(j.val, j.over, j.allowed)
		}
	default:
		j.strText(c)
	}
	return nil
}

// strText takes one decoded byte of a string.
func (j *jsonScanner) strText(c byte) {
	switch j.state {
	case jsonInKey:
		if c >= utf8.RuneSelf {
			j.keyText = true
		}
		j.key.add(c)
	case jsonInValue:
		if len(j.val) < maxOverrideValue {
			j.val = append(j.val, c)
		} else {
			j.over = true
		}
	}
}

func (j *jsonScanner) end() error { return nil }

func (j *jsonScanner) abort() {}

// multipartScanner reads a multipart body part by part with Go's reader, in a goroutine
// fed through a pipe. Parsers differ on multipart bodies, so it also counts every
// occurrence of the delimiter: one Go's reader did not take as a delimiter (in a part,
// before the first or after the last) could start a part in another reader, and the
// body is then refused.
type multipartScanner struct {
	allowed []string
	delim   []byte // "--" and the boundary
	carry   []byte // the last bytes scanned, to find a delimiter split between reads
	count   int
	pw      *io.PipeWriter
	done    chan error
	parts   int // set by the goroutine before it reports on done
	fed     bool
}

// newMultipartScanner returns a scanner for a body of content type ct, or nil when ct
// is no multipart type, or an error when the boundary is not one every reader finds.
func newMultipartScanner(ct string, allowed []string) (*multipartScanner, error) {
	typ, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, &unclearBodyError{why: "a multipart content type Go cannot parse"}
	}
	if !strings.HasPrefix(typ, "multipart/") {
		return nil, nil
	}
	b := params["boundary"]
	// PHP takes the first "boundary" in the header, Rack the last; both must be the one
	// Go reads.
	if b == "" || len(b) > 70 || b != phpBoundary(ct) || b != rackBoundary(ct) {
		return nil, &unclearBodyError{why: "a multipart boundary readers disagree on"}
	}
	s := &multipartScanner{
		allowed: allowed,
		delim:   []byte("--" + b),
		done:    make(chan error, 1),
	}
	pr, pw := io.Pipe()
	s.pw = pw
	go s.read(pr, b)
	return s, nil
}

// phpBoundary reads the boundary of a content type as PHP does.
func phpBoundary(ct string) string {
	i := strings.Index(ct, "boundary")
	if i < 0 {
		i = strings.Index(strings.ToLower(ct), "boundary")
	}
	if i < 0 {
		return ""
	}
	_, b, ok := strings.Cut(ct[i:], "=")
	if !ok {
		return ""
	}
	if strings.HasPrefix(b, `"`) {
		b, _, ok = strings.Cut(b[1:], `"`)
		if !ok {
			return ""
		}
		return b
	}
	if j := strings.IndexAny(b, ",;"); j >= 0 {
		b = b[:j]
	}
	return b
}

// rackBoundary reads the boundary of a content type as Rack does: after the last
// "boundary=", up to a quote, comma or semicolon.
func rackBoundary(ct string) string {
	i := strings.LastIndex(strings.ToLower(ct), "boundary=")
	if i < 0 {
		return ""
	}
	b := strings.TrimPrefix(ct[i+len("boundary="):], `"`)
	if j := strings.IndexAny(b, `";,`); j >= 0 {
		b = b[:j]
	}
	return b
}

func (s *multipartScanner) read(pr *io.PipeReader, boundary string) {
	mr := multipart.NewReader(pr, boundary)
	var err error
	parts := 0
	for {
		part, perr := mr.NextRawPart()
		if perr == io.EOF {
			break
		}
		if perr != nil {
			err = &unclearBodyError{why: "a multipart body Go cannot read"}
			break
		}
		parts++
		if err = s.checkPart(part); err != nil {
			break
		}
	}
	s.parts = parts
	// The rest, if any, is the epilogue, which only the delimiter count looks at.
	pr.CloseWithError(errScanned)
	s.done <- err
}

// errScanned ends the pipe to a multipart reader that has read what it needs.
var errScanned = errors.New("multipart body read")

// checkPart returns an error for a part named "_method" whose value the rule does not
// allow, or one whose name readers could disagree on.
func (s *multipartScanner) checkPart(part *multipart.Part) error {
	cds := part.Header.Values("Content-Disposition")
	if len(cds) > 1 {
		return &unclearBodyError{why: "a part with two Content-Disposition headers"}
	}
	named := false
	if len(cds) == 1 {
		_, params, err := mime.ParseMediaType(cds[0])
		if err != nil {
			return &unclearBodyError{why: "a Content-Disposition Go cannot parse"}
		}
		named = isOverrideKey(params["name"])
	}
	// A name another reader could find where Go finds another: in a header Go does not
	// read names from, or past a quote or backslash Go reads otherwise.
	for _, vs := range part.Header {
		for _, v := range vs {
			if !named && anyOverrideName(v) {
				return &unclearBodyError{why: "a part name readers disagree on"}
			}
		}
	}
	if !named {
		return nil
	}
	v, err := io.ReadAll(io.LimitReader(part, maxOverrideValue+1))
	if err != nil {
		return &unclearBodyError{why: "a multipart body Go cannot read"}
	}
	return checkOverride(v[:min(len(v), maxOverrideValue)], len(v) > maxOverrideValue,
		s.allowed)
}

// anyOverrideName reports whether any "name" parameter of a header value, read loosely,
// names "_method": a "name" after a semicolon, then "=" and a value, with or without
// quotes of either kind.
func anyOverrideName(v string) bool {
	lower := strings.ToLower(v)
	for i := 0; ; {
		j := strings.Index(lower[i:], "name")
		if j < 0 {
			return false
		}
		at := i + j
		i = at + len("name")
		before := strings.TrimRight(lower[:at], " \t")
		if !strings.HasSuffix(before, ";") {
			continue
		}
		rest := strings.TrimLeft(lower[i:], " \t*")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		val := strings.TrimLeft(rest[1:], " \t")
		if len(val) > 0 && (val[0] == '"' || val[0] == '\'') {
			val = val[1:]
		}
		if j := strings.IndexAny(val, `;"'`); j >= 0 {
			val = val[:j]
		}
		if isOverrideKey(strings.TrimRight(val, " \t")) {
			return true
		}
	}
}

func (s *multipartScanner) scan(p []byte) error {
	s.countDelims(p)
	if !s.fed {
		if _, err := s.pw.Write(p); err != nil {
			// the reader is done: what it found is on done
			s.fed = true
		}
	}
	return nil
}

// countDelims counts the delimiters that p holds or that end in it.
func (s *multipartScanner) countDelims(p []byte) {
	l := len(s.delim)
	if len(s.carry) > 0 {
		joint := append(s.carry, p[:min(len(p), l-1)]...)
		for i := range len(s.carry) {
			if bytes.HasPrefix(joint[i:], s.delim) {
				s.count++
			}
		}
		s.carry = joint[:len(s.carry)]
	}
	for i := 0; ; {
		j := bytes.Index(p[i:], s.delim)
		if j < 0 {
			break
		}
		s.count++
		i += j + 1
	}
	if len(p) >= l-1 {
		s.carry = append(s.carry[:0], p[len(p)-(l-1):]...)
		return
	}
	s.carry = append(s.carry, p...)
	s.carry = s.carry[max(0, len(s.carry)-(l-1)):]
}

func (s *multipartScanner) end() error {
	s.pw.Close()
	if err := <-s.done; err != nil {
		return err
	}
	if s.count != s.parts+1 {
		return &unclearBodyError{why: "a multipart delimiter outside the parts Go reads"}
	}
	return nil
}

func (s *multipartScanner) abort() { s.pw.CloseWithError(errScanned) }
