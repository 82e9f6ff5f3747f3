package authn

import (
	"runtime/debug"
	"sync"
	"time"
)

// quietBeforeReturn is how long no password hash may have been computed before the
// memory hashing used is handed back to the operating system.
const quietBeforeReturn = time.Second

// hashing counts the password hashes being computed, checks and dummies alike, and
// hands their memory back to the operating system once none has run for
// quietBeforeReturn.
//
// An argon2id hash at the default cost takes 19 MiB for as long as it runs. The
// collector frees it, but a collection that ran meanwhile set the heap's next goal by
// it, and an idle gateway may run no other for minutes: without this, the memory of one
// sign-in, or of the checks made when the users file is loaded, stays resident until
// then, doubling an idle gateway's footprint.
var hashing struct {
	mu      sync.Mutex
	running int
	timer   *time.Timer
}

// hashBegins records that a hash is being computed.
func hashBegins() {
	hashing.mu.Lock()
	hashing.running++
	if hashing.timer != nil {
		hashing.timer.Stop()
	}
	hashing.mu.Unlock()
}

// hashEnds records that a hash begun by hashBegins is done, and, when it was the last
// one running, schedules the return of memory.
func hashEnds() {
	hashing.mu.Lock()
	defer hashing.mu.Unlock()
	hashing.running--
	if hashing.running > 0 {
		return
	}
	if hashing.timer == nil {
		hashing.timer = time.AfterFunc(quietBeforeReturn, returnMemory)
		return
	}
	hashing.timer.Reset(quietBeforeReturn)
}

// returnMemory hands the heap's free memory back to the operating system, unless a
// hash began since it was scheduled: that one's hashEnds schedules it again.
func returnMemory() {
	hashing.mu.Lock()
	idle := hashing.running == 0
	hashing.mu.Unlock()
	if idle {
		debug.FreeOSMemory()
	}
}
