package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"strings"
	"testing"
	"testing/iotest"
)

// gateOver returns a gate reading body through readers wrapped by wrap, with the
// scanners of content type ct on a route that allows GET and POST.
func gateOver(t testing.TB, ct, body string, wrap func(io.Reader) io.Reader) *bodyGate {
	t.Helper()
	scans, err := overrideScanners(ct, []string{"GET", "POST"})
	if err != nil {
		t.Fatal(err)
	}
	return newBodyGate(io.NopCloser(wrap(strings.NewReader(body))), scans)
}

// readerShapes split what a source returns from one read to the next.
var readerShapes = map[string]func(io.Reader) io.Reader{
	"whole":    func(r io.Reader) io.Reader { return r },
	"one byte": iotest.OneByteReader,
	"half":     iotest.HalfReader,
	"data+EOF": iotest.DataErrReader,
	"one, EOF": func(r io.Reader) io.Reader {
		return iotest.DataErrReader(iotest.OneByteReader(r))
	},
}

// TestBodyGatePasses: a body the scanners let go comes out whole, however the source
// and the reader split it, with scanners and without.
func TestBodyGatePasses(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	bodies := []string{"", "a", "ab", "a=1&_method=GET", strings.Repeat("x=y&", 5000)}
	for name, wrap := range readerShapes {
		for _, body := range bodies {
			for _, by1 := range []bool{false, true} {
				for _, scans := range []bool{true, false} {
					g := gateOver(t, form, body, wrap)
					if !scans {
						g.scans = nil
					}
					var r io.Reader = g
					if by1 {
						r = iotest.OneByteReader(g)
					}
					got, err := io.ReadAll(r)
					if err != nil || string(got) != body {
						t.Errorf("%s, read by one %v, scans %v, %.20q: got %.20q, %v",
							name, by1, scans, body, got, err)
					}
				}
			}
		}
	}
	g := gateOver(t, form, "a=1&b=2", func(r io.Reader) io.Reader { return r })
	if err := iotest.TestReader(g, []byte("a=1&b=2")); err != nil {
		t.Error(err)
	}
}

// TestBodyGateRefuses: a body naming another method fails to read before its last
// byte, however it is split.
func TestBodyGateRefuses(t *testing.T) {
	for name, wrap := range readerShapes {
		for _, body := range []string{"_method=PUT", "a=1&_method=DELETE&b=" +
			strings.Repeat("z", 70000)} {
			for _, by1 := range []bool{false, true} {
				var r io.Reader = gateOver(t, "", body, wrap)
				if by1 {
					r = iotest.OneByteReader(r)
				}
				got, err := io.ReadAll(r)
				var oe *overrideError
				if !errors.As(err, &oe) || len(got) >= len(body) {
					t.Errorf("%s: read %d of %d bytes, error %v", name, len(got),
						len(body), err)
				}
			}
		}
	}
}

// scanAll feeds body to the scanners of content type ct in pieces of n bytes and returns
// the error that refuses it.
func scanAll(t testing.TB, ct, body string, n int, allowed []string) error {
	t.Helper()
	scans, err := overrideScanners(ct, allowed)
	if err != nil {
		return err
	}
	g := newBodyGate(io.NopCloser(strings.NewReader("")), scans)
	defer g.Close()
	for p := []byte(body); len(p) > 0; {
		k := min(n, len(p))
		if err := g.scan(p[:k]); err != nil {
			return err
		}
		p = p[k:]
	}
	return g.finish()
}

// FuzzFormScanner: a form body is read as queryOverride reads a query, however the
// body is split; only a value too long to be a method is refused beyond that.
func FuzzFormScanner(f *testing.F) {
	for _, s := range []string{"_method=DELETE", "a=1&%5Fmethod=put", "+.method[]=X",
		"_method%00;=DELETE", "_me%7", "%%41", "_method=%zzGET", "a;_method=post"} {
		f.Add(s, uint8(3))
	}
	allowed := []string{"GET", "POST"}
	f.Fuzz(func(t *testing.T, body string, split uint8) {
		want := queryOverride(body, allowed)
		err := scanAll(t, "", body, int(split)+1, allowed)
		var oe *overrideError
		refused := errors.As(err, &oe)
		switch {
		case want != "" && !refused:
			t.Fatalf("%q: query reading refuses %q, body reading lets it pass", body, want)
		case refused && want == "" && !strings.HasSuffix(oe.method, "…"):
			t.Fatalf("%q: body reading refuses %q, query reading lets it pass", body,
				oe.method)
		}
	})
}

// FuzzJSONScanner: a JSON body is refused exactly when its top-level object has a
// "_method" key (as a form key is read) with a value that is no allowed method.
func FuzzJSONScanner(f *testing.F) {
	for _, s := range []string{`{"_method":"PUT"}`, `{"a":{"_method":"PUT"}}`,
		`{"\u005fmethod":"get"}`, `{"_method":1}`, `[{"_method":"x"}]`, `{"a":"\"","b":2}`,
		`{"_method":"G\u0045T"}`, `{"_method":null}`, "{\"a\":\"\xff\"}"} {
		f.Add(s, uint8(2))
	}
	allowed := []string{"GET", "POST"}
	f.Fuzz(func(t *testing.T, body string, split uint8) {
		if !json.Valid([]byte(body)) {
			return // no app reads it; what the scanner makes of it does not matter
		}
		err := scanAll(t, "application/json", body, int(split)+1, allowed)
		if strings.ContainsAny(body, "\x00") || strings.Contains(body, "\xfe") ||
			strings.Contains(body, "\xff") {
			// read as UTF-16 or UTF-32 by parsers that detect an encoding
			var ue *unclearBodyError
			if !errors.As(err, &ue) {
				t.Fatalf("%q: got %v, want the body refused as not UTF-8", body, err)
			}
			return
		}
		want := jsonOverride(t, body, allowed)
		if (err != nil) != want {
			t.Fatalf("%q: refused %v (%v), want %v", body, err != nil, err, want)
		}
	})
}

// jsonOverride reports, with Go's decoder, whether a valid JSON body names a method
// other than allowed ones in a top-level "_method" key.
func jsonOverride(t *testing.T, body string, allowed []string) bool {
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil || tok != json.Delim('{') {
		return false
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if !isOverrideKey(k.(string)) || strings.ContainsFunc(k.(string),
			func(r rune) bool { return r >= 0x80 }) {
			continue
		}
		s, ok := v.(string)
		if !ok || checkOverride([]byte(s), len(s) > maxOverrideValue, allowed) != nil {
			return true
		}
	}
	return false
}

// TestMultipartBoundaries: a boundary is taken only when PHP, Rack and Go read the same.
func TestMultipartBoundaries(t *testing.T) {
	for _, tt := range []struct {
		ct string
		ok bool
	}{
		{"multipart/form-data; boundary=abc", true},
		{`multipart/form-data; boundary="abc"`, true},
		{"Multipart/Form-Data; Boundary=abc", true},
		{"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk", true},
		{"multipart/mixed; boundary=abc; charset=utf-8", true},
		{"multipart/form-data", false},
		{"multipart/form-data; boundary=", false},
		{"multipart/form-data; xboundary=a; boundary=b", false},
		{"multipart/form-data; boundary=a; boundary=b", false},
		{`multipart/form-data; boundary="a;b"`, false},
		{`multipart/form-data; boundary="a\"b"`, false},
		{"multipart/form-data; boundary*=utf-8''abc", false},
		{"multipart/form-data; boundary=" + strings.Repeat("a", 71), false},
		{"multipart/form-data; boundary=abc;;", false},
	} {
		s, err := newMultipartScanner(tt.ct, nil)
		if (err == nil) != tt.ok {
			t.Errorf("%q: error %v, want ok %v", tt.ct, err, tt.ok)
		}
		if s != nil {
			s.abort()
		}
	}
}

// TestMultipartScan: a multipart body is judged the same however it is split, and one
// that readers could read differently is refused as unclear.
func TestMultipartScan(t *testing.T) {
	const ct = "multipart/form-data; boundary=ab"
	part := func(hdr, val string) string { return "--ab\r\n" + hdr + "\r\n\r\n" + val + "\r\n" }
	cd := func(name string) string { return "Content-Disposition: form-data; name=" + name }
	for _, tt := range []struct {
		name, body string
		want       string // "", "override" or "unclear"
	}{
		{"allowed", part(cd(`"a"`), "1") + part(cd(`"_method"`), "GET") + "--ab--\r\n", ""},
		{"no parts", "--ab--\r\n", ""},
		{"preamble", "hello\r\n" + part(cd("a"), "1") + "--ab--", ""},
		{"override", part(cd(`"_method"`), "PUT") + "--ab--\r\n", "override"},
		{"backslash in the name", part(cd(`"\\_method"`), "PUT") + "--ab--", "override"},
		{"Content-ID", part("Content-ID: <_method>", "PUT") + "--ab--", "override"},
		{"brackets", part(cd(`"[_method]"`), "PUT") + "--ab--", "override"},
		{"no closing delimiter", part(cd("a"), "1"), "unclear"},
		{"bare LF in the headers", "--ab\r\nX: y\n\n" + cd(`"_method"`) + "\r\n\r\nPUT\r\n" +
			"--ab--", "unclear"},
		{"bare CR in the headers", "--ab\r\nX: y\r" + cd("a") + "\r\n\r\n1\r\n--ab--",
			"unclear"},
		{"a long header line", part("X-Pad: "+strings.Repeat("a", 5113)+cd("_method"), "PUT") +
			"--ab--", "unclear"},
		{"padding after a delimiter", "--ab  \r\n" + cd("a") + "\r\n\r\n1\r\n--ab--",
			"unclear"},
		{"a delimiter in a part", part(cd("a"), "1\r\n--abc") + "--ab--", "unclear"},
		{"a delimiter after the last", part(cd("a"), "1") + "--ab--\r\n--ab\r\n", "unclear"},
		{"LF line ends", "--ab\n" + cd("a") + "\n\n1\n--ab--", "unclear"},
		{"Content-ID in another header", part("X-Content-ID: _method", "PUT") + "--ab--",
			"unclear"},
		{"Content-ID in a value", part("X-Note: content-id: _method", "PUT") + "--ab--",
			"unclear"},
		{"a name Rack's pattern finds in a quoted value",
			part(cd(`"x"; foo="; name=_method,"`), "PUT") + "--ab--", "unclear"},
		{"a name PHP finds past a single quote",
			part(cd(`"title"; a='; b="'; name=_method x; c="`), "PUT") + "--ab--", "unclear"},
		{"a field whose name ends in method", part(cd(`"payment_method"`), "card") +
			part(cd(`"_method_id"`), "7") + "--ab--", ""},
		{"a file named like the field", part(cd(`"f"; filename="_method"`), "x") + "--ab--",
			""},
		{"a delimiter after LF alone", part(cd(`"a"`), "x\n--ab\r\n"+cd(`"_method"`)+
			"\r\n\r\nPUT") + "--ab--", "unclear"},
		{"a delimiter right after the headers", "--ab\r\n" + cd("a") + "\r\n\r\n--ab--",
			"unclear"},
	} {
		for n := 1; n <= len(tt.body); n += max(1, len(tt.body)/7) {
			err := scanAll(t, ct, tt.body, n, []string{"GET", "POST"})
			var oe *overrideError
			var ue *unclearBodyError
			got := ""
			switch {
			case errors.As(err, &oe):
				got = "override"
			case errors.As(err, &ue):
				got = "unclear"
			case err != nil:
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got != tt.want {
				t.Errorf("%s, pieces of %d: %q (%v), want %q", tt.name, n, got, err, tt.want)
			}
		}
	}
}

// FuzzMultipartScan: a multipart body gets the same verdict however it is split, and a
// body Go's reader finds a disallowed "_method" part in is never let go.
func FuzzMultipartScan(f *testing.F) {
	f.Add("--ab\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nPUT\r\n--ab--",
		uint8(3))
	f.Add("--ab\r\nContent-ID: _method\r\n\r\nGET\r\n--ab--\r\n", uint8(1))
	f.Add("x\r\n--ab\r\nA: b\r\n\r\n\r\n--ab\r\n\r\n--ab--", uint8(5))
	const ct = "multipart/form-data; boundary=ab"
	allowed := []string{"GET", "POST"}
	f.Fuzz(func(t *testing.T, body string, split uint8) {
		// Which check refuses first may depend on where pieces end; whether the body is
		// refused may not.
		whole := scanAll(t, ct, body, len(body)+1, allowed)
		pieces := scanAll(t, ct, body, int(split)+1, allowed)
		if (whole == nil) != (pieces == nil) {
			t.Fatalf("whole: %v; in pieces of %d: %v", whole, int(split)+1, pieces)
		}
		if whole != nil {
			return
		}
		mr := multipart.NewReader(strings.NewReader(body), "ab")
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			v, _ := io.ReadAll(p)
			if isOverrideKey(p.FormName()) && checkOverride(v[:min(len(v), maxOverrideValue)],
				len(v) > maxOverrideValue, allowed) != nil {
				t.Fatalf("a %q part let go", v)
			}
		}
	})
}

// TestBodyGateHoldsUnjudgedValues: an app that acts on a body cut short must not find
// in it a "_method" value the gateway has not judged. Each body below stops a byte past
// its value, a byte that does not end the value, as if its client stalled there and the
// gateway cut it: what the gate passed on by then holds no value.
func TestBodyGateHoldsUnjudgedValues(t *testing.T) {
	filler := strings.Repeat("x", 20<<10) // far more than the gate holds back
	errStalled := errors.New("stalled")
	for _, tt := range []struct{ name, ct, body string }{
		{"form", "application/x-www-form-urlencoded", "f=" + filler + "&_method=DELETE%"},
		{"JSON", "application/json", `{"f":"` + filler + `","_method":"DELETE\`},
		{"multipart", "multipart/form-data; boundary=ab", "--ab\r\nContent-Disposition: " +
			"form-data; name=\"f\"\r\n\r\n" + filler + "\r\n--ab\r\nContent-Disposition: " +
			"form-data; name=\"_method\"\r\n\r\nDELETE\r"},
	} {
		scans, err := overrideScanners(tt.ct, []string{"GET", "POST"})
		if err != nil {
			t.Fatal(err)
		}
		src := io.MultiReader(strings.NewReader(tt.body), iotest.ErrReader(errStalled))
		g := newBodyGate(io.NopCloser(src), scans)
		passed, err := io.ReadAll(g)
		g.Close()
		if !errors.Is(err, errStalled) {
			t.Errorf("%s: error %v, want the stall", tt.name, err)
		}
		if len(passed) < len(filler)/2 || strings.Contains(string(passed), "DELETE") {
			t.Errorf("%s: passed on %d of %d bytes, ending %q", tt.name, len(passed),
				len(tt.body), passed[max(0, len(passed)-20):])
		}
	}
}

// BenchmarkBodyGate reads an 8 MiB body through the gate of its type, as an upload to a
// route with a methods rule is read.
func BenchmarkBodyGate(b *testing.B) {
	file := strings.Repeat("0123456789abcdef", 1<<19)
	for _, bm := range []struct{ name, ct, body string }{
		{"multipart", "multipart/form-data; boundary=xYzZY", "--xYzZY\r\n" +
			"Content-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n" + file +
			"\r\n--xYzZY--\r\n"},
		{"form", "application/x-www-form-urlencoded", "f=" + file},
		{"json", "application/json", `{"f":"` + file + `"}`},
		{"none", "text/plain", file},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.body)))
			for b.Loop() {
				scans, err := overrideScanners(bm.ct, []string{"GET", "POST"})
				if err != nil {
					b.Fatal(err)
				}
				var r io.ReadCloser = io.NopCloser(strings.NewReader(bm.body))
				if len(scans) > 0 {
					r = newBodyGate(r, scans)
				}
				if _, err := io.Copy(io.Discard, struct{ io.Reader }{r}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
