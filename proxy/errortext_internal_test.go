package proxy

import (
	"errors"
	"testing"
)

// TestErrorTextQuotesNoAnswer: the log's text of a transport error leaves out the bytes
// of the upstream's answer it quotes.
func TestErrorTextQuotesNoAnswer(t *testing.T) {
	for _, tt := range []struct{ err, want string }{
		{`net/http: HTTP/1.x transport connection broken: malformed HTTP response ` +
			`"Set-Cookie: sid=alice"`,
			"net/http: HTTP/1.x transport connection broken: malformed HTTP response"},
		{`net/http: HTTP/1.x transport connection broken: malformed HTTP status code ` +
			`"password=hunter2"`,
			"net/http: HTTP/1.x transport connection broken: malformed HTTP status code"},
		{"net/http: HTTP/1.x transport connection broken: malformed MIME header line: " +
			"Set-Cookie sid=alice",
			"net/http: HTTP/1.x transport connection broken: malformed MIME header line"},
		{"dial tcp 127.0.0.1:9: connect: connection refused",
			"dial tcp 127.0.0.1:9: connect: connection refused"},
	} {
		if got := errorText(errors.New(tt.err)); got != tt.want {
			t.Errorf("errorText(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
