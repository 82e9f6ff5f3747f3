//go:build unix

package server

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// hangups returns a channel of the SIGHUPs the process gets, from now until stop is
// called. Taken at the start of Run and stopped at its very end, so that a SIGHUP while
// the gateway starts (reading a large users file, say) waits for it to serve, and one
// while it drains is dropped: neither ends the process, as a SIGHUP no one asked for
// does.
func hangups() (hup <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}

// reloadOnHangup reloads the config and re-reads the users file at once on every SIGHUP
// from hup until ctx ends, for operators who would rather not wait for the next look at
// the files.
func reloadOnHangup(ctx context.Context, g *gateway, hup <-chan os.Signal) {
	go func() {
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
