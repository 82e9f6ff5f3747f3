package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/logthin"
)

// Timeouts of the client New builds. A request that finds Redis down or stalled must
// fail within a few seconds, not hang until the user gives up: the session lookup sits
// in front of every request the gateway serves.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = time.Second
)

// New returns a Store on a go-redis client built from c: a standalone client for one
// address, a sentinel client when MasterName is set (Addresses then lists the
// sentinels), or a cluster client for several addresses. Keys start with c.KeyPrefix
// as given; config.Load fills in its default.
//
// New does not connect, so it does not fail when Redis is down: every call then returns
// an error (never session.ErrNotFound), and the client reconnects by itself once Redis
// is back. Call Ping to check Redis at start-up. A call gives up after about two dial
// timeouts (2s each) on an unreachable host, one I/O timeout (1s) on a stalled
// connection, or its context's deadline, whichever comes first. New fails only on
// settings that cannot work: no address, or a database other than 0 for a cluster,
// which has only database 0.
//
// With MasterName set, Username and Password authenticate to the sentinels as well as
// to Redis, since config.Redis has no credentials of their own for sentinels. A
// sentinel without a password accepts any password for its default user, so it still
// works when Username is empty; with a Username, every sentinel needs that user with
// that password.
//
// With TLS the server's certificate is verified against the system's roots and must
// carry the host of the first address; in a cluster or behind sentinels, every node
// must present a certificate for that name.
func New(c config.Redis) (*Store, error) {
	opts, err := options(c)
	if err != nil {
		return nil, err
	}
	st := NewWithClient(redis.NewUniversalClient(opts), c.KeyPrefix)
	once := *opts
	once.MaxRetries = -1
	st.once = redis.NewUniversalClient(&once)
	return st, nil
}

// options returns the go-redis options New builds its client from, or the error New
// returns.
func options(c config.Redis) (*redis.UniversalOptions, error) {
	if len(c.Addresses) == 0 {
		return nil, errors.New("creating redis store: no address")
	}
	cluster := c.MasterName == "" && len(c.Addresses) > 1
	if cluster && c.DB != 0 {
		return nil, fmt.Errorf("creating redis store: a cluster has only database 0, not %d",
			c.DB)
	}
	opts := &redis.UniversalOptions{
		Addrs:      c.Addresses,
		MasterName: c.MasterName,
		Username:   c.Username,
		Password:   c.Password,
		DB:         int(c.DB),

		// One dial attempt and one retry, where go-redis would dial five times per
		// attempt and retry three times: against a host that drops packets that
		// would hold a request for most of a minute. The retry still covers a pooled
		// connection that died with a restarted Redis.
		DialTimeout:           dialTimeout,
		DialerRetries:         1,
		MaxRetries:            1,
		ReadTimeout:           ioTimeout,
		WriteTimeout:          ioTimeout,
		ContextTimeoutEnabled: true,
	}
	if c.MasterName != "" {
		opts.SentinelUsername, opts.SentinelPassword = c.Username, c.Password
	}
	if c.TLS {
		host, _, err := net.SplitHostPort(c.Addresses[0])
		if err != nil {
			return nil, fmt.Errorf("creating redis store: address %q: %w", c.Addresses[0], err)
		}
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	return opts, nil
}

// SetLogger sends go-redis's own messages (reconnects, pool trouble) to lg, at Warn, at
// most one every clientLogEvery: while Redis is down, every request would otherwise add
// several. The go-redis logger is global to the process, so the last call wins.
func SetLogger(lg *slog.Logger) {
	redis.SetLogger(&slogAdapter{lg: lg, thin: logthin.Thinner{Every: clientLogEvery}})
}

// clientLogEvery is the least time between two records of go-redis's messages.
const clientLogEvery = 10 * time.Second

type slogAdapter struct {
	lg   *slog.Logger
	thin logthin.Thinner
}

func (a *slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	if n, ok := a.thin.Allow(); ok {
		a.lg.WarnContext(ctx, "redis client", "message", fmt.Sprintf(format, v...),
			"suppressed", n)
	}
}
