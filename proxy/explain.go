package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
)

// Decision describes how the handler would treat a request, for gateway explain.
type Decision struct {
	// Route is a description of the matching route, or empty when none matches.
	Route string
	// Outcome is "gateway page", "public", "preflight", "allowed", "forbidden",
	// "sign-in required", "not found", "bad request" or "not implemented".
	Outcome string
	// Reason says why, in words.
	Reason string
	// BasicUser names the user whom the request's HTTP Basic credentials signed in, on
	// a basic_auth route, or is empty.
	BasicUser string
}

// Explain decides r for user (nil: anonymous) the way ServeHTTP would, without
// forwarding anything.
func (h *Handler) Explain(r *http.Request, u *authn.User) Decision {
	if strings.EqualFold(r.Method, http.MethodConnect) {
		return Decision{Outcome: "not implemented", Reason: "the gateway is no forward " +
			"proxy and passes no CONNECT on"}
	}
	_, decoded, err := normalizePath(r.URL.EscapedPath())
	if err != nil {
		return Decision{Outcome: "bad request", Reason: "the path could be read two ways"}
	}
	gw, rt, public, ok := h.decide(config.NormalizeHost(r.Host), decoded)
	switch {
	case !ok:
		return Decision{Outcome: "bad request",
			Reason: "the path means another thing without its ;parameters"}
	case gw:
		return Decision{Outcome: "gateway page", Reason: "paths under /.gateway are the " +
			"gateway's own"}
	case rt == nil:
		return Decision{Outcome: "not found", Reason: "no route serves this host and path"}
	}
	d := Decision{Route: rt.describe()}
	also := h.otherReadings(config.NormalizeHost(r.Host), decoded, rt, public)
	if also.overflow {
		return Decision{Outcome: "bad request", Reason: "the path has more readings " +
			"than the gateway follows"}
	}
	if passesPreflight(r, rt, &also) {
		d.Outcome, d.Reason = "preflight", "a CORS preflight, which cors_preflight: pass "+
			"lets through without a session or identity; the app's answer comes back as "+
			"its status and CORS headers alone"
		return d
	}
	// An API client on a basic_auth route signs in with every request, as in ServeHTTP.
	if u == nil && (!public || also.signInNeeded(false)) && rt.basic &&
		r.Header.Get("Authorization") != "" {
		bu, wait, err := h.basicUser(r)
		switch {
		case wait > 0:
			d.Outcome, d.Reason = "sign-in required", "the client has failed too often "+
				"to sign in"
			return d
		case err != nil:
			d.Outcome, d.Reason = "sign-in required", "the HTTP Basic credentials are "+
				"refused ("+err.Error()+")"
			return d
		case bu != nil:
			u, d.BasicUser = bu, bu.Name
		}
	}
	switch {
	case public:
		d.Outcome, d.Reason = "public", "the path is under a public prefix"
	case u == nil && !rt.basic && r.Header.Get("Authorization") != "":
		d.Outcome, d.Reason = "sign-in required", "the path is protected and nobody is "+
			"signed in (the route does not take HTTP Basic credentials: basic_auth is off)"
	case u == nil:
		d.Outcome, d.Reason = "sign-in required", "the path is protected and nobody is "+
			"signed in"
	case u.Disabled:
		d.Outcome, d.Reason = "sign-in required", "the user is disabled, which ends "+
			"their sessions at once"
	default:
		ok, why := rt.why(u, r.Method, r.URL.RawQuery)
		d.Outcome, d.Reason = "forbidden", why
		if ok {
			d.Outcome = "allowed"
		}
	}
	// Another reading of the path leads to a route whose rule judges it too.
	for _, o := range also.rs[:also.n] {
		if o.public || d.Outcome != "public" && d.Outcome != "allowed" {
			continue
		}
		of := " (an app may read the path as one under " + o.rt.path + ")"
		switch {
		case u == nil:
			d.Outcome, d.Reason = "sign-in required", "the path is protected"+of+
				" and nobody is signed in"
		case u.Disabled:
			d.Outcome, d.Reason = "sign-in required", "the user is disabled"
		default:
			ok, why := o.rt.why(u, r.Method, r.URL.RawQuery)
			switch {
			case !ok:
				d.Outcome, d.Reason = "forbidden", why+of
			case d.Outcome == "public":
				// public on its own route, but not on another's: the user passes there
				d.Outcome, d.Reason = "allowed", why+of
			}
		}
	}
	return h.explainDestination(r, u, rt, d)
}

// explainDestination adds to d, the decision on r's own path, what the Destination
// header of r (a WebDAV COPY or MOVE) decides: the place it names is judged as the path
// is.
func (h *Handler) explainDestination(r *http.Request, u *authn.User, rt *route,
	d Decision) Decision {
	dest, problem := h.readDestination(r.Header, config.NormalizeHost(r.Host), rt, false)
	switch {
	case problem != nil && problem.status == http.StatusForbidden:
		d.Outcome, d.Reason = "forbidden", problem.reason
		return d
	case problem != nil:
		d.Outcome, d.Reason = "bad request", problem.reason
		return d
	case dest == nil || d.Outcome != "public" && d.Outcome != "allowed":
		return d
	case !dest.signInNeeded():
		d.Reason += "; the place the Destination header names is public, under " +
			dest.rt.path
		return d
	}
	const of = " (at the place the Destination header names, under " // the route's path
	switch {
	case u == nil:
		d.Outcome, d.Reason = "sign-in required", "the Destination header names a "+
			"protected place and nobody is signed in"
	case u.Disabled:
		d.Outcome, d.Reason = "sign-in required", "the user is disabled"
	default:
		if other := dest.refusing(u, r.Method, r.URL.RawQuery); other != nil {
			_, why := other.why(u, r.Method, r.URL.RawQuery)
			d.Outcome, d.Reason = "forbidden", why+of+other.path+")"
		} else if d.Outcome == "public" {
			_, why := dest.rt.why(u, r.Method, r.URL.RawQuery)
			d.Outcome, d.Reason = "allowed", why+of+dest.rt.path+")"
		} else {
			d.Reason += "; the place the Destination header names passes too, under " +
				dest.rt.path
		}
	}
	return d
}

func (rt *route) describe() string {
	host := "host " + rt.host
	if rt.host == "" {
		host = "any host"
	}
	return fmt.Sprintf("%s, path %s, upstream %s", host, rt.path, rt.upstream)
}

// why is allows with its reason.
func (rt *route) why(u *authn.User, method, rawQuery string) (bool, string) {
	a := &rt.allow
	if len(a.Methods) > 0 && !isOneOf(strings.ToUpper(method), a.Methods) {
		return false, fmt.Sprintf("method %s is not one of %v", strings.ToUpper(method),
			a.Methods)
	}
	if len(a.Methods) > 0 {
		if m := queryOverride(rawQuery, a.Methods); m != "" {
			return false, fmt.Sprintf("the query's _method names %s, which is not one of %v",
				m, a.Methods)
		}
	}
	switch {
	case len(a.Users) == 0 && len(a.Groups) == 0:
		return true, "any signed-in user may pass"
	case isOneOf(u.Name, a.Users):
		return true, u.Name + " is named in allow.users"
	}
	for _, g := range u.Groups {
		if isOneOf(g, a.Groups) {
			return true, u.Name + " is in group " + g
		}
	}
	switch {
	case len(a.Users) == 0:
		return false, fmt.Sprintf("%s is in no group of allow.groups %v", u.Name, a.Groups)
	case len(a.Groups) == 0:
		return false, fmt.Sprintf("%s is not in allow.users %v", u.Name, a.Users)
	}
	return false, fmt.Sprintf("%s is not in allow.users %v nor in a group of "+
		"allow.groups %v", u.Name, a.Users, a.Groups)
}
