package authn

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

// heapHeld is the memory the heap holds from the operating system: in use, or free but
// not handed back.
func heapHeld() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapSys - m.HeapReleased
}

// TestHashMemory checks that the 19 MiB a default-cost argon2id check takes is handed
// back soon after the check, with no collection of the program's own making: an idle
// gateway keeps no sign-in's memory.
func TestHashMemory(t *testing.T) {
	enc, err := password.Generate("right", password.DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := writeStore(t, "users:\n  alice:\n    password: \""+enc+"\"\n")
	a := NewAuthenticator(s, 1)
	for _, name := range []string{"alice", "nobody"} {
		if _, err := a.Authenticate(context.Background(), name, "wrong"); err == nil {
			t.Fatalf("%s signed in with a wrong password", name)
		}
	}
	const want = 8 << 20 // far less than one check's 19 MiB
	deadline := time.Now().Add(10 * time.Second)
	for heapHeld() >= want {
		if time.Now().After(deadline) {
			t.Fatalf("heap holds %.1f MiB 10 s after the last check, want < %d MiB",
				float64(heapHeld())/(1<<20), want>>20)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
