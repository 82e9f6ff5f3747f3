package proxy

import (
	"strings"
	"testing"
)

// TestQueryOverride reads queries as PHP does, and more widely where in doubt: every
// spelling that makes Laravel or Symfony see "_method" names its method.
func TestQueryOverride(t *testing.T) {
	allowed := []string{"GET", "POST"}
	for _, tt := range []struct{ query, want string }{
		{"", ""},
		{"a=1&b=2", ""},
		{"methodology=x", ""},
		{"_method=GET", ""},
		{"_method=post", ""},
		{"_method=", ""},
		{"x_method=DELETE", ""},
		{"_method=DELETE", "DELETE"},
		{"_METHOD=delete", "DELETE"},
		{"_method=%20delete%20", "DELETE"},
		{"%5Fmethod=PUT", "PUT"},
		{"_me%74hod=PUT", "PUT"},
		{".method=PUT", "PUT"},
		{"%20_method=DELETE", "DELETE"}, // PHP drops a key's leading spaces
		{"+_method=DELETE", "DELETE"},
		{"%20%20.method=PATCH", "PATCH"},
		{"_method[]=DELETE", "DELETE"},
		{"_method[x]=DELETE", "DELETE"},
		{"[_method]=DELETE", "DELETE"}, // Rack 2 drops the brackets
		{"_method]=DELETE", "DELETE"},
		{"%5B_method%5D=PUT", "PUT"},
		{"]]_method=PUT", "PUT"},
		{"_method%00%zz=DELETE", "DELETE"}, // a bad escape Go's parser would skip
		{"_method%00;=DELETE", "DELETE"},   // PHP cuts the key at the NUL
		{"_method;x=DELETE", ""},           // PHP reads "_method;x", another key
		{"_methods=all", ""},
		{"_method_id=5", ""},
		{"a;_method", ""},
		{"a=1;_method=DELETE", "DELETE"},
		{"_method=GET&_method=DELETE", "DELETE"},
		{"_method=DELETE" + strings.Repeat("&", 10001), "DELETE"},
		{strings.Repeat("a=1&", 20000) + "_method=DELETE", "DELETE"},
		{"_method=DEL%45TE", "DELETE"},
		{"_method=GET%00DELETE", "GET\x00DELETE"},
	} {
		if got := queryOverride(tt.query, allowed); got != tt.want {
			t.Errorf("queryOverride(%.60q) = %q, want %q", tt.query, got, tt.want)
		}
	}
}

// TestQueryOverrideAllocates: a query that names no method costs no allocation, as the
// rule check runs on every request to a route with a methods rule.
func TestQueryOverrideAllocates(t *testing.T) {
	allowed := []string{"GET"}
	if n := testing.AllocsPerRun(100, func() {
		queryOverride("page=2&sort=name+asc", allowed)
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
