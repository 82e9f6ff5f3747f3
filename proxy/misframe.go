package proxy

import (
	"log/slog"
	"sync/atomic"
)

// app is what the gateway knows of the connections to one app, an upstream's scheme and
// host, shared by the routes that reach it and kept across reloads.
type app struct {
	key string // scheme://host
	log *slog.Logger
	// misframed is set once the app sent bytes past the end of an answer. Its
	// connections then carry one request each: bytes it sends after an answer may
	// arrive only once the next request is on its way, when nothing tells them from
	// that request's answer, and the framing finds them only after that answer went to
	// its client. It stays set until the gateway restarts.
	misframed atomic.Bool
}

// sentStrayBytes records that the app sent bytes no request asked for, and says so in
// the log the first time.
func (a *app) sentStrayBytes() {
	if a.misframed.CompareAndSwap(false, true) {
		a.log.Error("app sent bytes past the end of an answer; each of its connections "+
			"now carries one request, until the gateway restarts", "upstream", a.key)
	}
}

// bindApps gives each route the app its upstream names, one per scheme and host, taking
// over old's where old reached the same app, so that what old learned of it holds on.
func (h *Handler) bindApps(old map[string]*app) {
	h.apps = make(map[string]*app)
	for _, rt := range h.routes {
		key := rt.upstream.Scheme + "://" + rt.upstream.Host
		a := h.apps[key]
		if a == nil {
			if a = old[key]; a == nil {
				a = &app{key: key, log: h.log}
			}
			h.apps[key] = a
		}
		rt.app = a
	}
}
