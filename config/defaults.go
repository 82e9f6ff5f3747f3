package config

import "time"

// Defaults for the settings that have one. Each field's doc in config.go states the same
// value.
const (
	defaultListen       = "127.0.0.1:8080"
	defaultStateDir     = "./data"
	defaultStore        = "memory"
	defaultSecure       = "auto"
	defaultIdleTimeout  = 30 * time.Minute
	defaultLifetime     = 12 * time.Hour
	defaultUserHeader   = "X-Forwarded-User"
	defaultEmailHeader  = "X-Forwarded-Email"
	defaultGroupsHeader = "X-Forwarded-Groups"
	defaultRoutePath    = "/"
	defaultLogLevel     = "info"
	defaultLogFormat    = "text"
)

// setDefaults fills every unset field of c that has a default. Unset means the zero
// value, which is what an absent, empty or null key decodes to. It is the only place
// defaults are chosen.
func setDefaults(c *Config) {
	setString(&c.Listen, defaultListen)
	setString(&c.StateDir, defaultStateDir)

	s := &c.Session
	setString(&s.Store, defaultStore)
	setString(&s.Secure, defaultSecure)
	if s.IdleTimeout == 0 {
		s.IdleTimeout = defaultIdleTimeout
	}
	if s.Lifetime == 0 {
		s.Lifetime = defaultLifetime
	}

	h := &c.IdentityHeaders
	setString(&h.User, defaultUserHeader)
	setString(&h.Email, defaultEmailHeader)
	setString(&h.Groups, defaultGroupsHeader)

	for i := range c.Routes {
		r := &c.Routes[i]
		setString(&r.Path, defaultRoutePath)
		if r.PreserveHost == nil {
			preserve := true
			r.PreserveHost = &preserve
		}
	}

	setString(&c.Log.Level, defaultLogLevel)
	setString(&c.Log.Format, defaultLogFormat)
}

// setString sets *p to def when *p is empty.
func setString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}
