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
			h := g.handler()
			if err := h.ReloadUsers(); err != nil {
				lg.Error("users file rejected on SIGHUP, keeping the last good version",
					"error", err)
				continue
			}
			users := h.Users()
			lg.Info("users file reloaded", "reason", "SIGHUP", "file", users.Path(),
				"users", users.Len())
		}
	}()
}
