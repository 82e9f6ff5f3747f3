package proxy

import (
	"bytes"
	"errors"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"strings"
	"sync"
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
	json, form, multi := bodyKinds(ct)
	if (json || form || multi || ct == "") && !asciiCharsets(ct) {
		return nil, errCharset
	}
	var s []bodyScanner
	if json {
		s = append(s, &jsonScanner{allowed: allowed})
	}
	if form || ct == "" {
		// Rack parses a POST with no type as a form too
		s = append(s, &formScanner{seps: "&", allowed: allowed},
			&formScanner{seps: "&;", allowed: allowed})
	}
	if multi {
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

// errCharset refuses a body whose type names a charset in which "_method" and the
// names of methods are not the ASCII bytes the scanners read: Tomcat decodes a form, and
// Express a JSON body, in the charset the type names, UTF-16 and EBCDIC among them.
var errCharset = errors.New("a body in a charset the gateway does not read")

// asciiCharsets reports whether every charset parameter of ct, however written, names
// a charset that is ASCII in its first 128 bytes, as the form, multipart and JSON
// scanners read a body. A charset given the RFC 2231 way ("charset*=") is refused.
func asciiCharsets(ct string) bool {
	rest := strings.ToLower(ct)
	for {
		i := strings.Index(rest, "charset")
		if i < 0 {
			return true
		}
		rest = strings.TrimLeft(rest[i+len("charset"):], " \t")
		switch {
		case strings.HasPrefix(rest, "*"):
			return false
		case !strings.HasPrefix(rest, "="):
			continue
		}
		v := strings.TrimLeft(rest[1:], " \t")
		if end := strings.IndexAny(v, "; \t,"); end >= 0 {
			v = v[:end]
		}
		if !asciiCharset[strings.Trim(v, `"'`)] {
			return false
		}
	}
}

// asciiCharset holds the names of the charsets asciiCharsets lets through: UTF-8,
// ASCII, and the Latin-1 family, by the names servers know them.
var asciiCharset = map[string]bool{
	"utf-8": true, "utf8": true, "us-ascii": true, "ascii": true, "iso-8859-1": true,
	"iso8859-1": true, "iso_8859-1": true, "latin1": true, "latin-1": true,
	"windows-1252": true, "cp1252": true, "iso-8859-15": true,
}

// bodyKinds reports which kinds of body an app framework could parse a "_method" field
// from, by a content type: any naming JSON (Laravel takes "+json" and "/json" anywhere
// in the header), "urlencoded" (PHP and Rack parse forms) or "multipart".
func bodyKinds(ct string) (json, form, multipart bool) {
	lower := strings.ToLower(ct)
	return strings.Contains(lower, "json"), strings.Contains(lower, "urlencoded"),
		strings.Contains(lower, "multipart")
}

// gateHold is how many of the bytes read a body gate keeps back from the app until more
// follow: enough that any "_method" value the app has received in full has been judged,
// as a value is judged within a few bytes of its end (a separator, a closing quote, a
// multipart delimiter) or refused once longer than any method. An app that acts on a
// body cut short so never acts on a value the gateway has not judged.
const gateHold = 4 << 10

// gateRead is how much a body gate reads from the client at once.
const gateRead = 32 << 10

// bodyGate passes a request body on while its scanners read it, gateHold bytes behind
// until the whole body is in and the scanners let it go.
type bodyGate struct {
	src        io.ReadCloser
	scans      []bodyScanner
	buf        []byte // read from src; buf[start:end] is not yet passed on
	start, end int
	done       bool // the body is all in and the scanners let it go
	err        error
}

func newBodyGate(src io.ReadCloser, scans []bodyScanner) *bodyGate {
	return &bodyGate{src: src, scans: scans, buf: make([]byte, gateHold+gateRead)}
}

func (g *bodyGate) Read(p []byte) (int, error) {
	for {
		if g.err != nil {
			return 0, g.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		ready := g.end - g.start
		if !g.done {
			ready -= gateHold
		}
		if ready > 0 {
			n := copy(p, g.buf[g.start:g.start+ready])
			g.start += n
			if g.done && g.start == g.end {
				return n, io.EOF
			}
			return n, nil
		}
		if g.done {
			return 0, io.EOF
		}
		if g.end == len(g.buf) {
			g.end = copy(g.buf, g.buf[g.start:g.end])
			g.start = 0
		}
		n, err := g.src.Read(g.buf[g.end:])
		if n > 0 {
			if serr := g.scan(g.buf[g.end : g.end+n]); serr != nil {
				return 0, serr
			}
			g.end += n
		}
		switch {
		case err == io.EOF:
			if serr := g.finish(); serr != nil {
				return 0, serr
			}
		case err != nil:
			g.err = err
			g.abort()
			return 0, err
		}
	}
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

// finish tells the scanners the body is all in.
func (g *bodyGate) finish() error {
	for _, s := range g.scans {
		if err := s.end(); err != nil {
			g.err = err
			g.abort()
			return err
		}
	}
	g.done = true
	return nil
}

func (g *bodyGate) abort() {
	for _, s := range g.scans {
		s.abort()
	}
}

// Close may come while a read is under way, from the transport's other goroutine; the
// scanners' abort is safe for that.
func (g *bodyGate) Close() error {
	g.abort()
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

// isOverrideKey reports whether a decoded form key names the "_method" field as PHP or
// Rack read keys, and more widely where in doubt: leading spaces and brackets dropped,
// the key cut at a NUL or bracket, its " " and "." read as "_", and compared in any
// letter case. PHP drops the spaces and cuts at "[" ("_method[]"); Rack 2 drops the
// brackets and cuts at either ("[_method]").
func isOverrideKey(k string) bool {
	k = strings.TrimLeft(k, " []")
	if i := strings.IndexAny(k, "\x00[]"); i >= 0 {
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
	case !k.started && (c == ' ' || c == '[' || c == ']'):
	case c == 0 || c == '[' || c == ']':
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
	// JSON parsers that detect an encoding (Jackson, Python's) read a body with NUL
	// bytes, or a byte-order mark, as UTF-16 or UTF-32; in UTF-8 JSON neither occurs.
	if bytes.IndexByte(p, 0) >= 0 || bytes.IndexByte(p, 0xfe) >= 0 ||
		bytes.IndexByte(p, 0xff) >= 0 {
		return &unclearBodyError{why: "a JSON body that is not UTF-8"}
	}
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
// handed each piece of the body in turn: scan returns once the reader has taken all of
// it and judged every part it could. Readers differ on multipart bodies, so scan also
// reads the raw bytes: every delimiter is counted, as one Go's reader did not take as a
// delimiter (in a part, before the first or after the last) could start a part in
// another reader; and every part's header block must end its lines with CRLF and keep
// them short, as PHP splits a long line in two and Rack ends a block only at CRLF CRLF.
type multipartScanner struct {
	allowed []string
	delim   []byte // "--" and the boundary
	count   int    // delimiters seen

	raw     rawState
	tail    []byte // the last bytes of data, to find a delimiter split between pieces
	lineLen int    // of the header line being read
	block   int    // bytes of the header block being read
	cr      bool   // the last byte was a CR

	pieces   chan []byte // to the reader; nil means the body is all in
	taken    chan struct{}
	done     chan error
	quit     chan struct{}
	quitOnce sync.Once
	finished bool  // the reader has reported on done
	result   error // what it reported
	parts    int   // set by the reader before it reports
}

// rawState is where the raw reading of a multipart body stands.
type rawState int

const (
	rawData     rawState = iota // before the first delimiter, or in a part's data
	rawDelimEnd                 // just after a delimiter: CRLF or "--" must follow
	rawDelimLF                  // after a delimiter and its CR
	rawClosing                  // after a delimiter and one "-"
	rawHeaders                  // in a part's header block
	rawEpilogue                 // after the closing delimiter
)

// Limits on a part's header block; PHP splits lines at 5120 bytes, Rack ignores a
// Content-Disposition over 1536.
const (
	maxPartHeaderLine  = 1024
	maxPartHeaderBlock = 8 << 10
)

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
		pieces:  make(chan []byte),
		taken:   make(chan struct{}),
		done:    make(chan error, 1),
		quit:    make(chan struct{}),
	}
	go s.read(b)
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

// pieceReader is the reader's side of the hand-over: it asks for the next piece only
// once it has used up the last, which tells scan the reader is done with it.
type pieceReader struct {
	s     *multipartScanner
	cur   []byte
	asked bool
}

func (r *pieceReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.asked {
			select {
			case r.s.taken <- struct{}{}:
			case <-r.s.quit:
				return 0, errScanned
			}
		}
		r.asked = true
		select {
		case c := <-r.s.pieces:
			if c == nil {
				return 0, io.EOF
			}
			r.cur = c
		case <-r.s.quit:
			return 0, errScanned
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (s *multipartScanner) read(boundary string) {
	mr := multipart.NewReader(&pieceReader{s: s}, boundary)
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
	s.done <- err
}

// errScanned ends the reading of a body whose scanners stopped.
var errScanned = errors.New("request body scan stopped")

// checkPart returns an error for a part named "_method" whose value the rule does not
// allow, or one whose name readers could disagree on.
func (s *multipartScanner) checkPart(part *multipart.Part) error {
	cds := part.Header.Values("Content-Disposition")
	if len(cds) > 1 {
		return &unclearBodyError{why: "a part with two Content-Disposition headers"}
	}
	named := false
	if len(cds) == 1 {
		// Commons FileUpload (Tomcat, and so Spring) decodes a name given the RFC 2231
		// way ("name*=") in any charset, and an RFC 2047 encoded-word ("=?UTF-8?B?…?=")
		// in one; Go decodes the first in UTF-8 alone and the second never.
		if encodedName(cds[0]) {
			return &unclearBodyError{why: "a part name in an encoding readers disagree on"}
		}
		_, params, err := mime.ParseMediaType(cds[0])
		if err != nil {
			return &unclearBodyError{why: "a Content-Disposition Go cannot parse"}
		}
		// Rack drops the backslashes of a quoted name that Go keeps.
		name := params["name"]
		named = isOverrideKey(name) || isOverrideKey(strings.ReplaceAll(name, `\`, ""))
	}
	// Rack names a part by its Content-ID when no Content-Disposition names it.
	for _, id := range part.Header.Values("Content-Id") {
		named = named || isOverrideKey(strings.Trim(id, " \t<>"))
	}
	// A name another reader could find where Go finds another: Rack's patterns find
	// "content-id:" and "; name=" anywhere in the header block, and PHP splits pairs at
	// quotes of either kind.
	for k, vs := range part.Header {
		for _, v := range vs {
			if !named && looseOverrideName(k+": "+v) {
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

// encodedName reports whether a Content-Disposition value gives a part's name the RFC
// 2231 way ("name*=", "name*0*=") or holds an RFC 2047 encoded-word anywhere.
func encodedName(cd string) bool {
	lower := strings.ToLower(cd)
	if strings.Contains(lower, "=?") {
		return true
	}
	for rest := range afterNames(lower) {
		if strings.HasPrefix(strings.TrimLeft(rest, " \t"), "*") {
			return true
		}
	}
	return false
}

// afterNames yields the text after each "name" in lower that no letter, digit, "_" or
// "-" precedes: where a reader could find a parameter naming a part.
func afterNames(lower string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; ; {
			j := strings.Index(lower[i:], "name")
			if j < 0 {
				return
			}
			at := i + j
			i = at + len("name")
			if (at == 0 || !isWordByte(lower[at-1])) && !yield(lower[i:]) {
				return
			}
		}
	}
}

// looseOverrideName reports whether a part's header line names "_method" by any
// reading looser than Go's: a "name" that no letter, digit, "_" or "-" precedes, then
// "=", or a "content-id:" anywhere, followed by a value that starts with a key
// isOverrideKey takes and that some reader could end there (at a quote, space,
// separator or the line's end).
func looseOverrideName(line string) bool {
	lower := strings.ToLower(strings.ReplaceAll(line, `\`, ""))
	startsOverride := func(val string) bool {
		return overrideKeyPrefix(strings.TrimLeft(val, " \t\"'<"))
	}
	for rest := range afterNames(lower) {
		if rest = strings.TrimLeft(rest, " \t*"); strings.HasPrefix(rest, "=") &&
			startsOverride(rest[1:]) {
			return true
		}
	}
	// Rack finds "content-id:" anywhere, even in "X-Content-ID:"
	for i := 0; ; {
		j := strings.Index(lower[i:], "content-id:")
		if j < 0 {
			return false
		}
		i += j + len("content-id:")
		if startsOverride(lower[i:]) {
			return true
		}
	}
}

// overrideKeyPrefix reports whether v starts with a key isOverrideKey takes, ended by
// the end of v or a byte no reader takes as part of a name.
func overrideKeyPrefix(v string) bool {
	for i := 0; ; {
		j := strings.Index(v[i:], "method")
		if j < 0 {
			return false
		}
		end := i + j + len("method")
		i = end
		if isOverrideKey(v[:end]) && (end == len(v) || !isWordByte(v[end]) && v[end] != '.') {
			return true
		}
	}
}

// isWordByte reports whether c is an ASCII letter, digit, "_" or "-".
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-'
}

func (s *multipartScanner) scan(p []byte) error {
	if err := s.scanRaw(p); err != nil {
		return err
	}
	if s.finished {
		return s.result
	}
	// Hand p over and wait until the reader has taken it all, or has ended.
	select {
	case s.pieces <- p:
	case err := <-s.done:
		return s.ended(err)
	}
	select {
	case <-s.taken:
		return nil
	case err := <-s.done:
		return s.ended(err)
	}
}

// ended records what the reader reported.
func (s *multipartScanner) ended(err error) error {
	s.finished, s.result = true, err
	return err
}

// scanRaw reads p as raw bytes: it counts delimiters and checks what follows each.
func (s *multipartScanner) scanRaw(p []byte) error {
	unclear := func(why string) error { return &unclearBodyError{why: why} }
	for i := 0; i < len(p); {
		switch s.raw {
		case rawData, rawEpilogue:
			end, before, ok := s.findDelim(p[i:])
			if !ok {
				return nil
			}
			switch {
			case s.raw == rawEpilogue:
				return unclear("a multipart delimiter after the last")
			case before != "\r\n" && !(s.count == 0 && before == ""):
				// Go's reader takes a delimiter only after CRLF, PHP after LF too
				return unclear("a multipart delimiter not at the start of a line")
			}
			s.count++
			s.raw, s.tail = rawDelimEnd, s.tail[:0]
			i += end
			continue
		case rawDelimEnd:
			switch p[i] {
			case '\r':
				s.raw = rawDelimLF
			case '-':
				s.raw = rawClosing
			default:
				return unclear("a multipart delimiter followed by other than CRLF or --")
			}
		case rawDelimLF:
			if p[i] != '\n' {
				return unclear("a multipart delimiter line not ended by CRLF")
			}
			s.raw, s.lineLen, s.block, s.cr = rawHeaders, 0, 0, false
		case rawClosing:
			if p[i] != '-' {
				return unclear("a multipart delimiter followed by other than CRLF or --")
			}
			s.raw = rawEpilogue
		case rawHeaders:
			c := p[i]
			s.block++
			switch {
			case s.cr && c != '\n':
				return unclear("a CR alone in a part's headers")
			case c == '\n' && !s.cr:
				return unclear("a part header line not ended by CRLF")
			case c == '\n' && s.lineLen == 0:
				s.raw, s.cr = rawData, false
			case c == '\n':
				s.lineLen, s.cr = 0, false
			case c == '\r':
				s.cr = true
			default:
				s.lineLen++
			}
			if s.lineLen > maxPartHeaderLine || s.block > maxPartHeaderBlock {
				return unclear("a part header line or block too long")
			}
		}
		i++
	}
	return nil
}

// findDelim looks for a delimiter in p, or one that starts in the data before it, and
// returns the index in p just past it and the (up to) two bytes of data before it.
// Without one, it keeps the last bytes of data for the next piece.
func (s *multipartScanner) findDelim(p []byte) (end int, before string, ok bool) {
	l := len(s.delim)
	if len(s.tail) > 0 {
		joint := append(s.tail, p[:min(len(p), l-1)]...)
		// a match wholly in the tail was found with the piece before
		for k := max(0, len(s.tail)-l+1); k < len(s.tail); k++ {
			if bytes.HasPrefix(joint[k:], s.delim) {
				return k + l - len(s.tail), string(joint[max(0, k-2):k]), true
			}
		}
		s.tail = joint[:len(s.tail)]
	}
	if j := bytes.Index(p, s.delim); j >= 0 {
		prev := append(s.tail[max(0, len(s.tail)-2):len(s.tail):len(s.tail)], p[max(0, j-2):j]...)
		return j + l, string(prev[max(0, len(prev)-2):]), true
	}
	// keep the delimiter's length and one more byte: a delimiter that starts in the
	// tail then has the two bytes before it there too
	keep := l + 1
	if len(p) >= keep {
		s.tail = append(s.tail[:0], p[len(p)-keep:]...)
	} else {
		s.tail = append(s.tail, p...)
		s.tail = s.tail[max(0, len(s.tail)-keep):]
	}
	return 0, "", false
}

func (s *multipartScanner) end() error {
	switch s.raw {
	case rawData, rawDelimEnd, rawDelimLF, rawClosing, rawHeaders:
		// the closing delimiter never came
		return &unclearBodyError{why: "a multipart body without its closing delimiter"}
	}
	if !s.finished {
		select {
		case s.pieces <- nil:
		case err := <-s.done:
			s.ended(err)
		}
		if !s.finished {
			s.ended(<-s.done)
		}
	}
	if s.result != nil {
		return s.result
	}
	if s.count != s.parts+1 {
		return &unclearBodyError{why: "a multipart delimiter outside the parts Go reads"}
	}
	return nil
}

func (s *multipartScanner) abort() { s.quitOnce.Do(func() { close(s.quit) }) }
