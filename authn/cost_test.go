package authn

import (
	"testing"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

func TestSlowestCheck(t *testing.T) {
	// 32 MiB and two passes against 64 KiB and one: the first is hundreds of times the
	// work, whatever the machine
	slow, err := password.Generate("pw", password.Argon2Params{Memory: 32 << 10, Time: 2,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers([]byte("users:\n  alice:\n    password: \""+hash(t, "pw")+
		"\"\n  bob:\n    password: \""+slow+"\"\n  carol:\n    password: \""+slow+
		"\"\n    disabled: true\n"), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}

	got := SlowestCheck(users, time.Minute)
	if got.User != "bob" || got.Kind != "$argon2id$v=19$m=32768,t=2,p=1" ||
		got.Took <= 0 || got.Unfinished {
		t.Errorf("got %+v, want bob's kind of hash, finished", got)
	}

	// out of time: the check still running is the answer
	got = SlowestCheck(users, time.Nanosecond)
	if got.Took != time.Nanosecond || !got.Unfinished {
		t.Errorf("with no time: got %+v, want an unfinished check of 1ns", got)
	}

	delete(users, "alice")
	delete(users, "bob")
	if got := SlowestCheck(users, time.Minute); got != (CheckCost{}) {
		t.Errorf("with every user disabled: got %+v, want none", got)
	}
}
