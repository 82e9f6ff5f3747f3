package config

import "time"

// Defaults for the settings that have one. Each field's doc in config.go states the same
// value.
const (
	defaultListen       = "127.0.0.1:8080"
	defaultStateDir     = "./data"
	defaultStore        = "bolt"
	defaultSecure       = "auto"
	defaultIdleTimeout  = 30 * time.Minute
	defaultLifetime     = 12 * time.Hour
	defaultUserHeader   = "X-Forwarded-User"
	defaultEmailHeader  = "X-Forwarded-Email"
	defaultGroupsHeader = "X-Forwarded-Groups"
	defaultNameHeader   = "X-Forwarded-Name"
	defaultRoutePath    = "/"
	defaultLogLevel     = "info"
	defaultLogFormat    = "text"

	defaultReadHeader = 10 * time.Second
	defaultIdle       = 2 * time.Minute
	defaultPage       = 30 * time.Second
	defaultBodyIdle   = 60 * time.Second
	defaultShutdown   = 10 * time.Second

	defaultAddressFailures     = 20
	defaultUserAddressFailures = 5
	defaultUserFailures        = 10
	defaultThrottleWindow      = 15 * time.Minute
	defaultMaxEntries          = 100000

	// DefaultClientConnections is limits.client_connections when it is not set.
	DefaultClientConnections = 1024
	// MinClientConnections is the least limits.client_connections may be: a browser
	// opens six connections to a host, and several users may share an address.
	MinClientConnections = 16
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
	if s.RememberMe == nil {
		on := true
		s.RememberMe = &on
	}
	setDuration(&s.RememberFor, 720*time.Hour)
	if len(s.Redis.Addresses) == 0 {
		s.Redis.Addresses = []string{"127.0.0.1:6379"}
	}
	setString(&s.Redis.KeyPrefix, "gateway:")

	h := &c.IdentityHeaders
	setString(&h.User, defaultUserHeader)
	setString(&h.Email, defaultEmailHeader)
	setString(&h.Groups, defaultGroupsHeader)
	setString(&h.Name, defaultNameHeader)

	for i := range c.Routes {
		r := &c.Routes[i]
		setString(&r.Path, defaultRoutePath)
		if r.PreserveHost == nil {
			preserve := true
			r.PreserveHost = &preserve
		}
	}

	setString(&c.TLS.Mode, "off")
	setString(&c.TLS.Storage, "file")
	if c.TLS.HSTS == nil {
		on := true
		c.TLS.HSTS = &on
	}
	if c.IdentityAliases.Builtin == nil {
		on := true
		c.IdentityAliases.Builtin = &on
	}

	setDuration(&c.Assertion.TTL, time.Minute)
	setString(&c.Pages.Title, "Gateway")

	t := &c.Timeouts
	setDuration(&t.ReadHeader, defaultReadHeader)
	setDuration(&t.Idle, defaultIdle)
	setDuration(&t.Page, defaultPage)
	setDuration(&t.BodyIdle, defaultBodyIdle)
	setDuration(&t.Shutdown, defaultShutdown)

	th := &c.Throttle
	setInt(&th.AddressFailures, defaultAddressFailures)
	setInt(&th.UserAddressFailures, defaultUserAddressFailures)
	setInt(&th.UserFailures, defaultUserFailures)
	setDuration(&th.Window, defaultThrottleWindow)
	setInt(&th.MaxEntries, defaultMaxEntries)

	setInt(&c.Limits.ClientConnections, DefaultClientConnections)

	setString(&c.Log.Level, defaultLogLevel)
	setString(&c.Log.Format, defaultLogFormat)
}

// setString sets *p to def when *p is empty.
func setString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

// setDuration sets *p to def when *p is zero.
func setDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}

// setInt sets *p to def when *p is zero.
func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}
