package authn

import (
	"errors"
	"strings"
	"testing"
)

func TestSetPassword(t *testing.T) {
	old, fresh := hash(t, "old"), hash(t, "new")
	file := "# who may sign in\nusers:\n" +
		"    alice:   # the admin\n" +
		"        password: \"" + old + "\"  # set at install\n" +
		"        groups: [admins]\n" +
		"    bob:\n        password: \"" + old + "\"\n        disabled: true\n"

	out, err := SetPassword([]byte(file), "users.yaml", "alice", fresh, false)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers(out, "users.yaml")
	if err != nil {
		t.Fatalf("the edited file does not load: %v\n%s", err, out)
	}
	if users["alice"].PasswordHash() != fresh || users["bob"].PasswordHash() != old ||
		!users["bob"].Disabled || len(users["alice"].Groups) != 1 {
		t.Errorf("edited users: %+v, %+v", users["alice"], users["bob"])
	}
	for _, c := range []string{"# who may sign in", "# the admin", "# set at install"} {
		if !strings.Contains(string(out), c) {
			t.Errorf("comment %q lost:\n%s", c, out)
		}
	}
	if !strings.Contains(string(out), "\n  alice:") {
		t.Errorf("not indented by two:\n%s", out)
	}

	out, err = SetPassword([]byte(file), "users.yaml", "carol", fresh, true)
	if err != nil {
		t.Fatal(err)
	}
	if users, err := ParseUsers(out, "users.yaml"); err != nil || len(users) != 3 ||
		users["carol"].PasswordHash() != fresh {
		t.Errorf("after adding carol: %v, %v\n%s", users, err, out)
	}
	for _, empty := range []string{"users:\n", "users: {}\n"} {
		out, err := SetPassword([]byte(empty), "users.yaml", "carol", fresh, true)
		if users, perr := ParseUsers(out, "users.yaml"); err != nil || perr != nil ||
			users["carol"] == nil || !strings.Contains(string(out), "\n  carol:\n") {
			t.Errorf("adding to %q: %v, %v; want carol in block style\n%s", empty, err,
				perr, out)
		}
	}
	// a password the file cannot take is what a new one mends; other problems are not
	for _, broken := range []string{"    password: \"$apr1$x$y\"\n", "    password: hunter2\n",
		"    groups: [staff]\n"} {
		data := "users:\n  alice:\n" + broken + "  bob:\n    password: \"" + old + "\"\n"
		out, err := SetPassword([]byte(data), "users.yaml", "alice", fresh, false)
		users, perr := ParseUsers(out, "users.yaml")
		if err != nil || perr != nil || users["alice"].PasswordHash() != fresh ||
			users["bob"].PasswordHash() != old {
			t.Errorf("mending %q: %v, %v\n%s", broken, err, perr, out)
		}
		if _, err := SetPassword([]byte(data), "users.yaml", "bob", fresh, false); err == nil {
			t.Errorf("setting bob's password in a file where alice's is broken succeeded")
		}
	}

	for _, tt := range []struct {
		name, data, user string
		add              bool
		want             error
		says             string
	}{
		{"unknown user", file, "carol", false, ErrNoUser, `no such user "carol" in users.yaml`},
		{"adding one there", file, "bob", true, ErrUserExists, `user exists: "bob"`},
		{"a broken file", "users:\n  alice:\n\tpassword: x\n", "alice", false, nil,
			"users.yaml:3: invalid YAML"},
		{"a name the file cannot hold", file, "bad\nname", true, nil, "control"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SetPassword([]byte(tt.data), "users.yaml", tt.user, fresh, tt.add)
			if err == nil || out != nil || tt.want != nil && !errors.Is(err, tt.want) ||
				!strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %q, %v; want an error saying %q", out, err, tt.says)
			}
		})
	}
}
