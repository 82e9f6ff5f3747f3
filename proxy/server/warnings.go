package server

import (
	"fmt"
	"log/slog"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
)

// Warnings returns what in cfg and its users file is valid but most likely a mistake,
// each naming the file, line and key: an allow rule that names a user the users file
// does not have, or a group no user is in, and a users file nobody can sign in with.
// Users are added and groups given while the gateway runs, so none of these keeps it
// from starting. A users file that does not load gives no warnings; loading it is the
// error then.
func Warnings(cfg *config.Config) []error {
	users, err := authn.ReadUsersFile(cfg.Users.File)
	if err != nil {
		return nil
	}
	var out []error
	enabled := 0
	groups := make(map[string]bool)
	for _, u := range users {
		if !u.Disabled {
			enabled++
		}
		for _, g := range u.Groups {
			groups[g] = true
		}
	}
	switch {
	case len(users) == 0:
		out = append(out, cfg.Errorf("users.file",
			fmt.Errorf("%s has no users, so nobody can sign in", cfg.Users.File)))
	case enabled == 0:
		out = append(out, cfg.Errorf("users.file",
			fmt.Errorf("every user in %s is disabled, so nobody can sign in", cfg.Users.File)))
	}
	for i, rt := range cfg.Routes {
		for j, name := range rt.Allow.Users {
			if users[name] == nil {
				out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].allow.users[%d]", i, j),
					fmt.Errorf("no user %q in %s", name, cfg.Users.File)))
			}
		}
		for j, g := range rt.Allow.Groups {
			if !groups[g] {
				out = append(out, cfg.Errorf(fmt.Sprintf("routes[%d].allow.groups[%d]", i, j),
					fmt.Errorf("no user in %s is in group %q", cfg.Users.File, g)))
			}
		}
	}
	return out
}

// logWarnings logs each of cfg's warnings.
func logWarnings(lg *slog.Logger, cfg *config.Config) {
	for _, w := range Warnings(cfg) {
		lg.Warn("config is likely mistaken", "problem", w)
	}
}
