//go:build unix

package server

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// reloadOnHangup reloads the config and re-reads the users file at once on every SIGHUP
// until ctx ends, for operators who would rather not wait for the next look at the files.
func reloadOnHangup(ctx context.Context, g *gateway, lg *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			g.reload("SIGHUP")
			g.rereadUsers("SIGHUP")
		}
	}()
}
