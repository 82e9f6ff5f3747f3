package authn

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseUsers checks that parsing a users file never panics, that every problem is a
// *FileError naming the file, that going on past problems finds Parse's first problem
// first and accepts what it accepts, and that every user it accepts is complete.
func FuzzParseUsers(f *testing.F) {
	bcrypt := "$2a$04$" + strings.Repeat("a", 53)
	f.Add([]byte("users:\n  alice:\n    password: \"" + bcrypt + "\"\n    groups: [a, b]\n"))
	f.Add([]byte("users:\n  bob:\n    password: \"" + bcrypt + "\"\n    grups: [a]\n" +
		"  carol:\n    password: \"$6$x$y\"\n  bob:\n    disabled: yes\n"))
	f.Add([]byte("users:\n  d:\n    password: x\n    totp_secret: JBSWY3DPEHPK3PXP\n"))
	f.Add([]byte("users: ~\n"))
	f.Add([]byte("users: [a]\nextra: 1\n"))
	f.Add([]byte("---\nusers: {}\n---\n"))
	f.Add([]byte(""))
	const file = "/etc/gateway/users.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseUsers(data, file)
		all, problems := parseUsers(data, file, true)
		if (err == nil) != (len(problems) == 0) {
			t.Fatalf("ParseUsers says %v; going on past problems, %d", err, len(problems))
		}
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != file || fe.Err == nil {
				t.Fatalf("got %T %v, want a *FileError naming %s", err, err, file)
			}
			if problems[0].Error() != err.Error() {
				t.Fatalf("first problem %v, want ParseUsers's %v", problems[0], err)
			}
			for _, p := range problems {
				if p.File != file || p.Err == nil {
					t.Fatalf("problem %v names no file or cause", p)
				}
			}
			return
		}
		if len(all) != len(users) {
			t.Fatalf("%d users, going on past problems %d", len(users), len(all))
		}
		for name, u := range users {
			if u.Name != name || u.hash == nil || u.encoded == "" || checkText(name) != nil {
				t.Fatalf("user %q incomplete: %+v", name, u)
			}
		}
	})
}
