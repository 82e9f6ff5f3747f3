package proxy

import (
	"net/http"
	"testing"
)

// TestKeepPrivateTrailers: caching headers sent as trailers are dropped with the rest.
func TestKeepPrivateTrailers(t *testing.T) {
	h := http.Header{"Cache-Control": {"private"}}
	trailer := http.Header{"Surrogate-Control": {"max-age=600"},
		"Cache-Control": {"public"}, "X-Accel-Expires": {"600"}, "X-Other": {"kept"}}
	keepPrivate(h, trailer)
	if len(trailer) != 1 || trailer.Get("X-Other") != "kept" {
		t.Errorf("trailers left: %v, want X-Other alone", trailer)
	}
	if got := h["Cache-Control"]; len(got) != 1 || got[0] != "private" {
		t.Errorf("Cache-Control %q, want private", got)
	}
}
