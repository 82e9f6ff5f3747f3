package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/server"
)

const sessionsUsage = `usage:
  gateway sessions list [-config FILE] [-user NAME]
  gateway sessions revoke [-config FILE] (-user NAME | -id ID)
`

// runSessions lists or revokes sessions, in the running gateway when there is one.
func runSessions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sessionsUsage)
		return 2
	}
	fs := flag.NewFlagSet("gateway sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	withUsage(fs, sessionsUsage)
	path := fs.String("config", "gateway.yaml", "config `file`")
	user := fs.String("user", "", "only the sessions of this `user`")
	id := fs.String("id", "", "the session with this `id`, as listed (revoke only)")
	// Flags may come before the command as well as after it.
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, sessionsUsage)
		return 2
	}
	verb := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway sessions: unexpected argument %q\n%s", fs.Arg(0),
			sessionsUsage)
		return 2
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["user"] && *user == "" {
		// refused rather than read as every user's, which revoke would end
		fmt.Fprintf(stderr, "gateway sessions: -user names no user; leave it out for "+
			"every user's sessions\n%s", sessionsUsage)
		return 2
	}
	if verb == "list" && given["id"] {
		// refused rather than ignored: whoever gave it would take the listing as filtered
		fmt.Fprintf(stderr, "gateway sessions list: -id is for revoke; list takes -user\n%s",
			sessionsUsage)
		return 2
	}
	if verb == "revoke" && (*user == "") == (*id == "") {
		fmt.Fprintf(stderr, "gateway sessions revoke: give -user or -id, one of them\n%s",
			sessionsUsage)
		return 2
	}
	cfg, err := config.LoadAll(*path)
	if err != nil {
		// A running gateway can be asked without the environment it runs with, which
		// an operator's shell often lacks, and while its file holds an edit that it
		// refused and serves on without: that is when sessions may need ending.
		located, lerr := config.Locate(*path)
		if lerr != nil {
			fmt.Fprintln(stderr, "gateway sessions:", lerr)
			return 1
		}
		if p := firstProblem(err); p != nil {
			fmt.Fprintf(stderr, "gateway sessions: warning: %v (a gateway would refuse "+
				"the file; only state_dir and users.file are read from it)\n", p)
		}
		cfg = located
	}
	switch verb {
	case "list":
		// the zone tells a listing read on another machine, or from a service running
		// in UTC, from local time
		const listTime = time.DateTime + " MST"
		list, err := server.ListSessions(ctx, cfg, *user, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "gateway sessions:", err)
			return 1
		}
		if len(list) == 0 {
			if unknownUser(cfg, *user, stderr) {
				return 1
			}
			// said on stderr, as a header over no rows is easily taken for a failure
			of := ""
			if *user != "" {
				of = " of " + *user
			}
			fmt.Fprintf(stderr, "gateway sessions: no live sessions%s\n", of)
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tSIGNED IN\tLAST SEEN\tCLIENT\tREMEMBERED")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", s.ID, s.User,
				s.Created.Local().Format(listTime), s.LastSeen.Local().Format(listTime),
				s.ClientIP, s.Remember)
		}
		tw.Flush()
		return 0
	case "revoke":
		n, err := server.RevokeSessions(ctx, cfg, *user, *id, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "gateway sessions:", err)
			return 1
		}
		if n == 0 && unknownUser(cfg, *user, stderr) {
			return 1
		}
		fmt.Fprintf(stdout, "revoked %d session(s)\n", n)
		return 0
	}
	fmt.Fprintf(stderr, "gateway sessions: unknown command %q\n%s", verb, sessionsUsage)
	return 2
}

// firstProblem returns the first problem err, from config.LoadAll, joins that is not a
// variable unset in this shell (which a running gateway has), or nil.
func firstProblem(err error) error {
	if err == nil {
		return nil
	}
	for _, p := range config.Problems(err) {
		if !errors.Is(p, config.ErrUnsetEnv) {
			return p
		}
	}
	return nil
}

// unknownUser reports, and says on stderr, that user is set but not in the users file: a
// typo finds no sessions, which must not pass for a user who has none. A user removed
// from the file may still be named, to end sessions left behind.
func unknownUser(cfg *config.Config, user string, stderr io.Writer) bool {
	if user == "" {
		return false
	}
	users, err := authn.OpenFileStore(cfg.Users.File, nil)
	if err != nil || users.Lookup(user) != nil {
		return false
	}
	fmt.Fprintf(stderr, "gateway sessions: no user %q in %s\n", user, cfg.Users.File)
	return true
}
