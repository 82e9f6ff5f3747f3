package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClientBodyStaysEnded: a request body read to its end answers any later read with
// the end, even after the server closed it, as it does when the answer starts; the
// transport reads once more after a body of known length, and an error there would drop
// the upstream connection in the middle of the answer.
func TestClientBodyStaysEnded(t *testing.T) {
	type result struct {
		body      string
		n         int
		err       error
		bodyError bool
	}
	got := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{}
		b := &clientBody{ReadCloser: r.Body, st: st}
		var res result
		all, _ := io.ReadAll(io.LimitReader(b, r.ContentLength)) // as the transport does
		res.body = string(all)
		r.Body.Close() // as the server does once the answer starts
		res.n, res.err = b.Read(make([]byte, 8))
		res.bodyError = st.bodyErr.Load() != nil
		got <- res
	}))
	defer srv.Close()
	res, err := http.Post(srv.URL, "text/plain", strings.NewReader("a=b"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	r := <-got
	if r.body != "a=b" || r.n != 0 || r.err != io.EOF || r.bodyError {
		t.Errorf("read %q, then %d, %v (kept as the client's error: %v); want \"a=b\", "+
			"then 0, EOF (not kept)", r.body, r.n, r.err, r.bodyError)
	}
}
