//go:build unix

package server

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontgate/gateway/proxy"
)

// reloadOnHangup re-reads the users file at once on every SIGHUP until ctx ends, for
// operators who would rather not wait for the next look at the file.
func reloadOnHangup(ctx context.Context, h *proxy.Handler, lg *slog.Logger) {
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
			if err := h.ReloadUsers(); err != nil {
				lg.Error("users file rejected on SIGHUP, keeping the last good version",
					"error", err)
				continue
			}
			lg.Info("users file reloaded", "reason", "SIGHUP")
		}
	}()
}
