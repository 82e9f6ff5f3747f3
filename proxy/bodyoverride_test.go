package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
	return &bodyGate{src: io.NopCloser(wrap(strings.NewReader(body))), scans: scans}
}

var readerShapes = map[string]func(io.Reader) io.Reader{
	"whole":     func(r io.Reader) io.Reader { return r },
	"one byte":  iotest.OneByteReader,
	"half":      iotest.HalfReader,
	"data+EOF":  iotest.DataErrReader,
	"one, EOF":  func(r io.Reader) io.Reader { return iotest.DataErrReader(iotest.OneByteReader(r)) },
	"timeout":   iotest.TimeoutReader,
	"no scans":  nil,
	"read by 1": nil,
}

// TestBodyGatePasses: a body the scanners let go comes out whole, however the source
// and the reader split it.
func TestBodyGatePasses(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	bodies := []string{"", "a", "ab", "a=1&_method=GET", strings.Repeat("x=y&", 5000)}
	for name, wrap := range readerShapes {
		for _, body := range bodies {
			if wrap == nil {
				wrap = func(r io.Reader) io.Reader { return r }
			}
			g := gateOver(t, form, body, wrap)
			if name == "no scans" {
				g.scans = nil
			}
			var r io.Reader = g
			if name == "read by 1" {
				r = iotest.OneByteReader(g)
			}
			got, err := io.ReadAll(r)
			if name == "timeout" && errors.Is(err, iotest.ErrTimeout) {
				continue
			}
			if err != nil || string(got) != body {
				t.Errorf("%s, %.20q: got %.20q, %v", name, body, got, err)
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
		if wrap == nil || name == "timeout" {
			continue
		}
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
	g := &bodyGate{scans: scans, src: io.NopCloser(strings.NewReader(""))}
	defer g.Close()
	for p := []byte(body); len(p) > 0; {
		k := min(n, len(p))
		if err := g.scan(p[:k]); err != nil {
			return err
		}
		p = p[k:]
	}
	return g.end()
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
		`{"_method":"G\u0045T"}`, `{"_method":null}`} {
		f.Add(s, uint8(2))
	}
	allowed := []string{"GET", "POST"}
	f.Fuzz(func(t *testing.T, body string, split uint8) {
		if !json.Valid([]byte(body)) {
			return // no app reads it; what the scanner makes of it does not matter
		}
		want := jsonOverride(t, body, allowed)
		err := scanAll(t, "application/json", body, int(split)+1, allowed)
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

// TestDelimiterCount: delimiters are found wherever reads split them.
func TestDelimiterCount(t *testing.T) {
	body := []byte("--ab\r\nx\r\n--ab\r\ny--a--ab--ab--")
	for n := 1; n <= len(body); n++ {
		s := &multipartScanner{delim: []byte("--ab")}
		for p := body; len(p) > 0; p = p[min(n, len(p)):] {
			s.countDelims(p[:min(n, len(p))])
		}
		if want := bytes.Count(body, []byte("--ab")); s.count != want {
			t.Errorf("pieces of %d: %d delimiters, want %d", n, s.count, want)
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
					r = &bodyGate{src: r, scans: scans}
				}
				if _, err := io.Copy(io.Discard, struct{ io.Reader }{r}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
