// Package watch decides when a file watched by polling has changed for good: a file
// caught half written is not taken for its new version, and a file that never stops
// changing is still read in the end.
package watch

import "time"

// Defaults of Change's fields.
const (
	// DefaultMaxChurn is how long a file that differs at every check may go unread.
	DefaultMaxChurn = 10 * time.Second
	// DefaultSettle is how long a file changing without pause must then hold still.
	DefaultSettle = 200 * time.Millisecond
)

// Change follows one file from one check to the next. Its zero value is ready to use
// with the defaults.
type Change struct {
	// MaxChurn is how long a file that differs at every check may go unread: after it,
	// a version that holds still for Settle is read, so that a file written without
	// pause (a script changing passwords one after another) cannot keep the old version
	// in use for ever. Zero means DefaultMaxChurn.
	MaxChurn time.Duration
	// Settle is how long a file changing without pause must hold still to be read.
	// Zero means DefaultSettle.
	Settle time.Duration

	pending string // a changed version seen once, to be read if seen again
	// when the file seen once was last written: a file written again since holds still
	// no more, even when the same half is written twice
	pendingMod time.Time
	since      time.Time // since when the file has differed from the version in use
}

// Same records that the file is the version in use again.
func (c *Change) Same() {
	c.pending, c.pendingMod, c.since = "", time.Time{}, time.Time{}
}

// Ready reports whether the file, seen now with the digest stamp and the change time
// mod while it differs from the version in use, is to be read: when it was seen the same
// at the check before, or when it has differed for MaxChurn and look, called after
// Settle, finds it the same still. A file Ready takes is no longer pending.
func (c *Change) Ready(stamp string, mod time.Time,
	look func() (stamp string, mod time.Time, err error)) bool {
	now := time.Now()
	if c.since.IsZero() {
		c.since = now
	}
	if stamp == c.pending && mod.Equal(c.pendingMod) || now.Sub(c.since) >= c.maxChurn() &&
		c.holdsStill(stamp, mod, look) {
		c.Same()
		return true
	}
	c.pending, c.pendingMod = stamp, mod
	return false
}

func (c *Change) holdsStill(stamp string, mod time.Time,
	look func() (string, time.Time, error)) bool {
	settle := c.Settle
	if settle == 0 {
		settle = DefaultSettle
	}
	time.Sleep(settle)
	again, againMod, err := look()
	return err == nil && again == stamp && againMod.Equal(mod)
}

func (c *Change) maxChurn() time.Duration {
	if c.MaxChurn == 0 {
		return DefaultMaxChurn
	}
	return c.MaxChurn
}
