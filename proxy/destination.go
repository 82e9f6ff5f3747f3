package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
)

// destination is the second resource of a request that names one in a Destination
// header, as WebDAV's COPY and MOVE do (RFC 4918, 10.3): the app writes there, so the
// rules judge it as they judge the request's own path, with the request's method. Were
// it passed on unjudged, anyone allowed to write one path could copy or move a file over
// any other of the same app, the pages of its admins among them.
type destination struct {
	path, dpath string // as normalizePath gives them
	absolute    bool   // written as an absolute URI, not a path
	rt          *route
	public      bool
	also        readings
}

// destinationProblem is why a Destination header is refused, with the status its
// answer gets.
type destinationProblem struct {
	status int
	reason string
}

// readDestination reads the Destination header of hdr for a request to host (as
// config.NormalizeHost gives it) that route rt serves. It returns nil and no problem when
// there is none. A value that is not one absolute path or http(s) URI, names another
// host, a path that could be read two ways, or a place no route of the same app serves,
// is a problem. literal is set for forward-auth, where the app gets the path as the
// client wrote it: a path with "//" in it, which apps read apart, is refused there.
func (h *Handler) readDestination(hdr http.Header, host string, rt *route,
	literal bool) (*destination, *destinationProblem) {
	vs := hdr.Values("Destination")
	if len(vs) == 0 {
		return nil, nil
	}
	bad := func(reason string) (*destination, *destinationProblem) {
		return nil, &destinationProblem{http.StatusBadRequest, reason}
	}
	elsewhere := func(reason string) (*destination, *destinationProblem) {
		return nil, &destinationProblem{http.StatusForbidden, reason}
	}
	if len(vs) > 1 {
		return bad("Destination sent more than once")
	}
	v := vs[0]
	// A query is refused: servers read it apart. nginx's dav module takes the path from
	// the first "/" after the host, in the query if need be ("http://host?/admin/x" is
	// /admin/x to it, and the path / to a URL parser), and SabreDAV keeps "?…" as part
	// of the file's name. WebDAV clients name files, which have no query.
	// Nor may it hold what a URI holds only escaped, a space above all, which a server
	// may take for the end of the value ("/x.txt, http://host/admin/y").
	u, err := url.Parse(v)
	if err != nil || v == "" || strings.HasPrefix(v, "//") || u.Opaque != "" ||
		u.User != nil || strings.ContainsAny(v, "#? \t\"<>\\^`{|}") {
		return bad("Destination is not an absolute path or URI without a query")
	}
	d := &destination{}
	switch strings.ToLower(u.Scheme) {
	case "":
		if u.Host != "" || !strings.HasPrefix(v, "/") {
			return bad("Destination is not an absolute path or URI")
		}
	case "http", "https":
		if u.Host == "" {
			return bad("Destination names no host")
		}
		// "http://host" alone names no path; a server that looks for the first "/"
		// after the host could find one anywhere
		if u.Path == "" {
			return bad("Destination names no path")
		}
		if config.NormalizeHost(u.Host) != host {
			return elsewhere("Destination names another host")
		}
		d.absolute = true
	default:
		return bad("Destination is not an http or https URI")
	}
	escaped := u.EscapedPath()
	if literal && strings.Contains(escaped, "//") {
		return bad("Destination has a path that could be read two ways")
	}
	d.path, d.dpath, err = normalizePath(escaped)
	if err != nil {
		return bad("Destination has a path that could be read two ways")
	}
	gw, drt, public, ok := h.decide(host, d.dpath)
	switch {
	case !ok:
		return bad("Destination has a path that could be read two ways")
	case gw:
		return elsewhere("Destination is a page of the gateway's own")
	case drt == nil:
		return elsewhere("Destination is a path no route serves")
	case !sameOrigin(drt.upstream, rt.upstream):
		// the app would read the path as one of its own, not the other app's
		return elsewhere("Destination is served by another app")
	}
	d.rt, d.public = drt, public
	d.also = h.otherReadings(host, d.dpath, drt, public)
	if d.also.overflow {
		return bad("Destination has a path with too many readings")
	}
	return d, nil
}

// signInNeeded reports whether d is a place only a signed-in user may use.
func (d *destination) signInNeeded() bool {
	return !d.public || d.also.signInNeeded(false)
}

// refusing returns the route whose rule does not let u make a request of method, with
// rawQuery, at d, or nil when every rule d falls under lets u.
func (d *destination) refusing(u *authn.User, method, rawQuery string) *route {
	if d.public && !d.also.signInNeeded(false) {
		return nil
	}
	if u == nil {
		return d.rt
	}
	if !d.public && !d.rt.allows(u, method, rawQuery) {
		return d.rt
	}
	return d.also.refusing(u, method, rawQuery, false)
}

// upstreamValue is the Destination the app gets for d: the path the rules judged, as
// the app would be sent it for a request there (after strip_prefix and below the
// upstream's own path), and, for an absolute URI, the scheme and host the app sees on
// the request itself, out. An app that checks that a Destination is its own (Apache's
// mod_dav, nginx's dav module) finds it so; one that reads it against the public URL
// would find a path that the rules never judged.
func (d *destination) upstreamValue(out *http.Request) string {
	scratch := &http.Request{URL: &url.URL{Path: d.dpath, RawPath: d.path}}
	if d.rt.strip {
		scratch.URL.RawPath, scratch.URL.Path = d.rt.stripPrefix(d.path, d.dpath)
	}
	(&httputil.ProxyRequest{Out: scratch}).SetURL(d.rt.upstream)
	v := scratch.URL.EscapedPath()
	if d.absolute {
		host := out.Host
		if host == "" {
			host = out.URL.Host
		}
		v = out.URL.Scheme + "://" + host + v
	}
	return v
}
