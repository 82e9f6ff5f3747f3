package tlsstore_test

import (
	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"

	"github.com/frontgate/gateway/proxy/tlsstore"
)

// Gateways that build their certmagic.Config on the same Redis and prefix share
// their certificates, and take turns ordering them.
func ExampleNew() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
	defer rdb.Close()

	var magic *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			return magic, nil
		},
	})
	defer cache.Stop()
	magic = certmagic.New(cache, certmagic.Config{
		Storage: tlsstore.New(rdb, "gateway:tls:"),
	})
	_ = magic // then magic.ManageSync(ctx, domains), magic.TLSConfig()
}
