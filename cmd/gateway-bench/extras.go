package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

// sessionWorkers is how many sign-ins run at a time when filling the memory store.
const sessionWorkers = 8

// sessionsResult is what a gateway on the memory store uses with many live sessions.
type sessionsResult struct {
	n        int // live sessions at the end
	failed   int // sign-ins that did not return a session
	firstErr error
	elapsed  time.Duration
	idle     memInfo // after start, before any sign-in
	after    memInfo // after the last sign-in, its garbage not yet collected
	inUse    memInfo // after signed-in load that followed
}

// measureSessions starts a gateway on the memory store, signs in o.Sessions times as
// separate browsers, and reads the process's memory; then again after a run of
// signed-in load, by which time the sign-ins' garbage has been collected.
func (b *bench) measureSessions(ctx context.Context, ld loader) (*sessionsResult, error) {
	t, err := b.startGateway(ctx, gatewaySpec{name: nameSessions, store: "memory",
		loose: true, users: map[string]string{benchUser: benchPassword}, hash: cheapArgon2})
	if err != nil {
		return nil, err
	}
	defer t.proc.stop()
	res := &sessionsResult{idle: t.idle}
	fmt.Printf("%s: signing in %d times, %d at a time\n", t.name, b.o.Sessions,
		sessionWorkers)

	// startGateway signed in once already
	var next, failed atomic.Int64
	next.Store(1)
	var errOnce sync.Once
	c := newClient(sessionWorkers)
	var wg sync.WaitGroup
	start := time.Now()
	for range sessionWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(b.o.Sessions) {
					return
				}
				if _, err := signIn(ctx, c, t.url, benchUser, benchPassword, ""); err != nil {
					failed.Add(1)
					errOnce.Do(func() { res.firstErr = err })
				}
				if i%10000 == 0 {
					fmt.Printf("%s: %d sign-ins\n", t.name, i)
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.failed = int(failed.Load())
	res.n = b.o.Sessions - res.failed
	if res.after, err = procMem(t.proc.pid()); err != nil {
		return nil, err
	}

	// the first session must still be live: none was dropped to make room
	if err := checkSession(ctx, c, t.url, t.cookie); err != nil {
		return nil, t.proc.failure(err)
	}
	if _, err := ld.run(ctx, t.url+loadPath, t.cookie, b.o.FloodLoadConns,
		b.o.Duration); err != nil {
		return nil, t.proc.failure(err)
	}
	if res.inUse, err = procMem(t.proc.pid()); err != nil {
		return nil, err
	}
	return res, nil
}

// Who signs in during the flood, and from where. Flood requests come from addresses
// of 198.18.0.0/15, the range set aside for benchmarks; the real user comes from
// 192.0.2.1, a documentation address. Both are only X-Forwarded-For values: nothing is
// sent to them.
const (
	floodNet     = "198.18.0.0/15"
	realUserAddr = "192.0.2.1"
)

// floodRound is one round of the login flood: the signed-in load without and with it.
type floodRound struct {
	base, flood loadResult
	checked     int64         // wrong-password attempts answered 401: a password checked
	refused     int64         // attempts answered 429 by the throttle
	other       int64         // other answers and transport errors
	span        time.Duration // how long the flood ran
}

// floodResult is the login flood over all rounds.
type floodResult struct {
	rounds []floodRound
	// the real user's sign-ins: from a browser used before; from a browser never used
	// before, at the address the user signed in from before; and from a browser never
	// used before at an address never used before
	known, fresh, stranger signIns
	idle                   memInfo
	peak                   int64 // peak resident memory over the floods
}

// measureFlood starts a gateway whose users have argon2id hashes at the default cost,
// and measures, for each round, the signed-in load alone and then under a flood of
// wrong-password sign-ins, while a real user signs in from an address of their own.
func (b *bench) measureFlood(ctx context.Context, ld loader) (*floodResult, error) {
	t, err := b.startGateway(ctx, gatewaySpec{name: nameFlood, store: "memory",
		trusted: true, hash: password.DefaultArgon2,
		users: map[string]string{benchUser: benchPassword, realUser: realPassword}})
	if err != nil {
		return nil, err
	}
	defer t.proc.stop()
	res := &floodResult{idle: t.idle}
	if err := resetPeak(t.proc.pid()); err != nil {
		b.notePeak(err)
	}
	var seq atomic.Int64
	for r := range b.o.FloodRounds {
		var fr floodRound
		if fr.base, err = ld.run(ctx, t.url+loadPath, t.cookie, b.o.FloodLoadConns,
			b.o.Duration); err != nil {
			return nil, t.proc.failure(err)
		}
		kinds, err := b.floodOnce(ctx, ld, t, &fr, &seq)
		if err != nil {
			return nil, t.proc.failure(err)
		}
		res.rounds = append(res.rounds, fr)
		res.known.merge(kinds[0])
		res.fresh.merge(kinds[1])
		res.stranger.merge(kinds[2])
		fmt.Printf("flood round %d: %8.0f req/s alone, %8.0f under flood (%.2fx); "+
			"%d passwords checked, %d refused; sign-ins %v, from a new browser %v, "+
			"from a new browser and address %v\n", r+1, fr.base.rate, fr.flood.rate,
			fr.flood.rate/fr.base.rate, fr.checked, fr.refused, kinds[0].times,
			kinds[1].times, kinds[2].times)
	}
	mem, err := procMem(t.proc.pid())
	if err != nil {
		return nil, err
	}
	res.peak = mem.peak
	return res, nil
}

// signIns are the real user's sign-ins of one kind.
type signIns struct {
	times  []time.Duration
	failed int // sign-ins that did not return a session
}

func (s *signIns) merge(o signIns) {
	s.times = append(s.times, o.times...)
	s.failed += o.failed
}

// floodOnce runs the flood with o.FloodConns concurrent wrong-password sign-ins, and
// under it the signed-in load and, one after another, the real user's sign-ins, in
// turn: from a browser the user signed in with before the flood (it carries the
// gateway's device cookie), from one never used before at the same address, and from
// one never used before at an address never used before (192.0.2.100 on).
func (b *bench) floodOnce(ctx context.Context, ld loader, t *target, fr *floodRound,
	seq *atomic.Int64) (kinds [3]signIns, err error) {
	uc := newClient(1)
	_, device, err := signInDevice(ctx, uc, t.url, realUser, realPassword, realUserAddr, "")
	if err != nil {
		return kinds, err
	}
	if device == "" {
		return kinds, errors.New("signing in: the gateway set no device cookie")
	}

	fctx, stop := context.WithCancel(ctx)
	defer stop()
	fc := newClient(b.o.FloodConns)
	defer fc.CloseIdleConnections()
	var wg sync.WaitGroup
	var checked, refused, other atomic.Int64
	start := time.Now()
	for range b.o.FloodConns {
		wg.Go(func() {
			flooder(fctx, fc, t.url, seq, b.o.FloodSpread, &checked, &refused, &other)
		})
	}

	// let the queue of password checks fill before measuring
	select {
	case <-ctx.Done():
		return kinds, ctx.Err()
	case <-time.After(min(time.Second, b.o.Duration)):
	}
	done := make(chan struct{})
	var lerr error
	go func() {
		fr.flood, lerr = ld.run(ctx, t.url+loadPath, t.cookie, b.o.FloodLoadConns,
			b.o.Duration)
		close(done)
	}()
	for i, finished := 0, false; !finished; i++ {
		kind, dev, addr := &kinds[i%3], device, realUserAddr
		switch i % 3 {
		case 1:
			dev = ""
		case 2:
			dev, addr = "", fmt.Sprintf("192.0.2.%d", 100+int(strangerSeq.Add(1))%150)
		}
		t0 := time.Now()
		if _, _, err := signInDevice(ctx, uc, t.url, realUser, realPassword, addr,
			dev); err != nil {
			kind.failed++
		} else {
			kind.times = append(kind.times, time.Since(t0))
		}
		select {
		case <-done:
			finished = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	<-done
	stop()
	wg.Wait()
	fr.span = time.Since(start)
	fr.checked, fr.refused, fr.other = checked.Load(), refused.Load(), other.Load()
	if lerr != nil {
		return kinds, lerr
	}
	return kinds, ctx.Err()
}

// strangerSeq numbers the addresses the real user signs in from for the first time.
var strangerSeq atomic.Int64

// flooder posts wrong passwords until ctx ends, each time for a name no user has and
// from an address of floodNet not used before, so that neither the per-address nor the
// per-username limit refuses it: every attempt costs the gateway a full password check
// against a dummy hash as costly as its users' hashes. With spread, each address is of
// another /24 network than the last 511.
func flooder(ctx context.Context, c *http.Client, base string, seq *atomic.Int64,
	spread bool, checked, refused, other *atomic.Int64) {
	var f loginForm
	for ctx.Err() == nil {
		i := seq.Add(1)
		addr := floodAddr(i, spread)
		var err error
		if f.csrf == "" {
			if f, err = getForm(ctx, c, base, addr); err != nil {
				if ctx.Err() == nil {
					other.Add(1)
					time.Sleep(10 * time.Millisecond)
				}
				continue
			}
		}
		status, _, err := postLogin(ctx, c, base, f, fmt.Sprintf("nobody-%d", i),
			"wrong-password", addr)
		switch {
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
		case err == nil && status == http.StatusUnauthorized:
			checked.Add(1)
		case err == nil && status == http.StatusTooManyRequests:
			refused.Add(1)
		default:
			other.Add(1)
		}
	}
}

// floodAddr returns the i-th address of floodNet, wrapping after its 131,072: in order,
// or with spread, taking the 512 /24 networks of floodNet in turn.
func floodAddr(i int64, spread bool) string {
	n := uint32(i) % (1 << 17)
	if spread {
		n = n%512<<8 | n/512
	}
	return fmt.Sprintf("198.%d.%d.%d", 18+n>>16, n>>8&0xff, n&0xff)
}
