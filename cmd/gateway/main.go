// Command gateway is an authentication gateway for web apps that have no sign-in of their
// own. It serves a sign-in page, keeps sessions, and forwards signed-in users' requests
// to the app with their identity in request headers.
//
// Usage:
//
//	gateway [run] [-config FILE]    serve (default config: gateway.yaml)
//	gateway check [-config FILE]    validate the config and its users file
//	gateway hash-password           read a password on stdin, print an argon2id hash
//	gateway passwd [-add] NAME      set a user's password in the users file
//	gateway import-htpasswd FILE    turn an htpasswd file into a users file
//	gateway totp-secret -user NAME  make a secret for sign-in with one-time codes
//	gateway sessions list|revoke    list or end sessions, in a running gateway too
//	gateway explain [-user NAME] METHOD URL   show how a request would be judged
//	gateway version                 print the version
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/server"
)

// version and commit are set at build time with
// -ldflags "-X main.version=v1.2.3 -X main.commit=abc123", for builds made without the
// git checkout that Go would read them from.
var version, commit = "", ""

func main() {
	ctx := context.Background()
	if drains(os.Args[1:]) {
		var stop context.CancelFunc
		ctx, stop = stopOnSignal(ctx)
		defer stop()
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// stopOnSignal returns a context that ends at the first SIGINT or SIGTERM, which starts
// the drain. A second one ends the process at once, for whoever will not wait out the
// drain's deadline: in-flight requests are cut, and access records not yet written are
// lost.
func stopOnSignal(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		cancel()
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "gateway: %v again, while draining: exiting at once\n", sig)
		os.Exit(1)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}

// drains reports whether the command args name ends its work on SIGINT and SIGTERM
// (serving, and the commands that talk to a running gateway or a store), or, like
// hash-password, must get to put the terminal back. The others stop at once, as
// programs do, however long their work.
func drains(args []string) bool {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return true // run
	}
	switch args[0] {
	case "check", "import-htpasswd", "totp-secret", "version":
		return false
	}
	return true
}

const usage = `usage:
  gateway [run] [-config FILE]   serve (default config: gateway.yaml)
  gateway check [-config FILE]   validate the config and its users file
  gateway hash-password          read a password on stdin, print an argon2id hash
  gateway passwd [-config FILE] [-add] NAME
                                 set a user's password in the users file
  gateway sessions list|revoke [-config FILE] [-user NAME] [-id ID]
                                 list or end sessions
  gateway explain [-config FILE] [-user NAME] [-from ADDR] [-H 'Name: value'] METHOD URL
                                 show how a request would be judged and forwarded
  gateway import-htpasswd FILE   turn an htpasswd file (- for stdin) into a users file
  gateway totp-secret -user NAME make a secret for sign-in with one-time codes
  gateway version                print the version
`

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || isHelp(args[0])) {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runServe(ctx, args, stderr)
	case "check":
		return runCheck(args, stdout, stderr)
	case "hash-password":
		return runHash(args, stdin, stdout, stderr)
	case "passwd":
		return runPasswd(args, stdin, stdout, stderr)
	case "sessions":
		return runSessions(ctx, args, stdout, stderr)
	case "explain":
		return runExplain(ctx, args, stdout, stderr)
	case "import-htpasswd":
		return runImportHtpasswd(args, stdin, stdout, stderr)
	case "totp-secret":
		return runTOTPSecret(args, stdout, stderr)
	case "version":
		if len(args) > 0 && !isHelp(args[0]) {
			fmt.Fprintf(stderr, "gateway version: unexpected argument %q\n%s", args[0], usage)
			return 2
		}
		if len(args) > 0 {
			fmt.Fprintln(stdout, "usage: gateway version  (prints the gateway's version)")
			return 0
		}
		fmt.Fprintln(stdout, "gateway", versionString())
		return 0
	}
	if isHelp(cmd) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gateway: unknown command %q\n%s", cmd, usage)
	return 2
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// configFlags parses the flags of a command that takes -config, and those each of more
// adds to its flag set, and returns the config file's path, or the exit code when the
// command is not to run: 0 when help was asked for, 2 for flags it does not take.
func configFlags(name string, args []string, stderr io.Writer,
	more ...func(*flag.FlagSet)) (string, int, bool) {
	fs := flag.NewFlagSet("gateway "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	withUsage(fs, "usage: gateway "+name+" [-config FILE]\n")
	path := fs.String("config", "gateway.yaml", "config `file`")
	for _, add := range more {
		add(fs)
	}
	if err := fs.Parse(args); err != nil {
		return "", flagExit(err), false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway %s: unexpected argument %q\n", name, fs.Arg(0))
		fs.Usage()
		return "", 2, false
	}
	return *path, 0, true
}

// withUsage has fs print line, the command's synopsis, before its flags when help is
// asked for or a flag is not one it takes.
func withUsage(fs *flag.FlagSet, line string) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), line)
		fs.PrintDefaults()
	}
}

// flagExit is the exit code of a command whose flags did not parse with err: 0 when
// they asked for help (-h), which the flag package has printed, else 2.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	path, code, ok := configFlags("run", args, stderr)
	if !ok {
		return code
	}
	if err := server.Run(ctx, server.Options{ConfigPath: path, Stderr: stderr}); err != nil {
		fmt.Fprintln(stderr, "gateway:", err)
		return 1
	}
	return 0
}

// effectiveUser returns the user id the process runs as; tests set it to see what
// check says to root and to others.
var effectiveUser = os.Geteuid

func runCheck(args []string, stdout, stderr io.Writer) int {
	var strict *bool
	path, code, ok := configFlags("check", args, stderr, func(fs *flag.FlagSet) {
		strict = fs.Bool("strict", false, "exit 1 on warnings too, as a deploy "+
			"pipeline may want")
	})
	if !ok {
		return code
	}
	cfg, err := server.Check(path)
	warned := false
	if err != nil {
		// every problem of each file, joined: each on a line of its own
		for _, p := range config.Problems(err) {
			fmt.Fprintln(stderr, "gateway check:", p)
		}
	}
	if cfg != nil {
		// what the config file says that is likely a mistake, told with its problems
		// too: fixing those alone would not reveal these
		for _, w := range server.Warnings(cfg) {
			fmt.Fprintln(stderr, "gateway check: warning:", w)
			warned = true
		}
	}
	if effectiveUser() == 0 {
		fmt.Fprintln(stderr, "gateway check: note: checked as root, who may read every "+
			"file and write every folder; unless the gateway runs as root too, run check as "+
			"its user to know that it can")
	}
	if err != nil {
		return 1
	}
	if warned && *strict {
		fmt.Fprintf(stderr, "gateway check: %s: warnings, which -strict counts as "+
			"problems\n", cfg.File)
		return 1
	}
	routes := "routes"
	if len(cfg.Routes) == 1 {
		routes = "route"
	}
	fmt.Fprintf(stdout, "%s: ok (%d %s, users from %s)\n", cfg.File, len(cfg.Routes), routes,
		cfg.Users.File)
	return 0
}

func runHash(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprintln(stdout, "usage: gateway hash-password  (the password is read from "+
			"stdin, with no echo on a terminal; an argon2id hash is printed)")
		return 0
	}
	if len(args) > 0 {
		fmt.Fprintf(stderr, "gateway hash-password: takes no arguments; "+
			"the password is read from stdin\n")
		return 2
	}
	enc, err := readHash(stdin, stderr, "gateway hash-password", "")
	if err != nil {
		fmt.Fprintln(stderr, "gateway hash-password:", err)
		return 1
	}
	fmt.Fprintln(stdout, enc)
	return 0
}

// readHash reads one password, as readPassword does, and returns its argon2id hash at
// the default cost. A password short enough to guess, or that is the user's name
// (name, when not empty), is hashed all the same, with a warning: the person who sets
// it decides.
func readHash(stdin io.Reader, stderr io.Writer, cmd, name string) (string, error) {
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return "", err
	}
	if name != "" && strings.EqualFold(pw, name) {
		fmt.Fprintf(stderr, "%s: warning: the password is the user's name, the first "+
			"guess of anyone who tries\n", cmd)
	}
	if n := utf8.RuneCountInString(pw); n < minPasswordLength {
		fmt.Fprintf(stderr, "%s: warning: the password is %d characters long; one of "+
			"fewer than %d falls to guessing soonest\n", cmd, n, minPasswordLength)
	}
	return password.Generate(pw, password.DefaultArgon2)
}

// minPasswordLength is the length under which a password is warned of, as Django's
// default validators do.
const minPasswordLength = 8

// readPassword reads one password: from a terminal without echo, asking twice, or else
// the whole of stdin, of which one trailing newline is not part of the password.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		if _, err := checkPassword(string(a)); err != nil {
			return "", err // said at once, not after it is typed again
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords do not match")
		}
		return checkPassword(string(a))
	}
	data, err := io.ReadAll(io.LimitReader(bufio.NewReader(stdin), password.MaxLength+3))
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	s := string(data)
	if strings.HasSuffix(s, "\r\n") {
		s = s[:len(s)-2]
	} else {
		s = strings.TrimSuffix(s, "\n")
	}
	return checkPassword(s)
}

func checkPassword(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("the password is empty")
	case len(s) > password.MaxLength:
		return "", fmt.Errorf("the password is longer than %d bytes", password.MaxLength)
	}
	// Browsers strip line breaks from a password field and no keyboard types other
	// control characters (but tab, by pasting): such a password could never be used to
	// sign in, and is surely a stray newline.
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return "", errors.New("the password contains a control character, such as a " +
				"second newline; no browser could send it")
		}
	}
	return s, nil
}

// versionString is the version set at build time, or the module version or VCS revision
// the binary was built from.
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(version, commit, bi)
}

// versionOf describes a build: its version (v, set at build time, or else the module's,
// or "devel") and the commit it was built from (c, set at build time, or else the one Go
// stamped from the checkout), marked when the checkout had changes.
func versionOf(v, c string, bi *debug.BuildInfo) string {
	dirty := false
	if bi != nil {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		return v + " (commit unknown)"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if dirty {
		c += ", modified"
	}
	return v + " (commit " + c + ")"
}

// headerFlags collects -H "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return errors.New("want Name: value")
	}
	http.Header(h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

const explainUsage = "usage: gateway explain [-config FILE] [-user NAME] [-from ADDR] " +
	"[-H 'Name: value'] METHOD URL\n"

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	withUsage(fs, explainUsage)
	path := fs.String("config", "gateway.yaml", "config `file`")
	user := fs.String("user", "", "sign the request in as this `user`")
	from := fs.String("from", "", "client `address` (default 192.0.2.1)")
	hdr := headerFlags{}
	fs.Var(hdr, "H", "extra request `header`, as 'Name: value' (repeatable)")
	// Flags may come before, between or after METHOD and URL.
	var pos []string
	for rest := args; ; rest = fs.Args()[1:] {
		if err := fs.Parse(rest); err != nil {
			return flagExit(err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
	}
	if len(pos) != 2 {
		fmt.Fprint(stderr, explainUsage)
		return 2
	}
	forwarded, err := server.Explain(ctx, *path, server.ExplainRequest{User: *user,
		Method: pos[0], URL: pos[1], Header: http.Header(hdr), ClientIP: *from}, stdout)
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "gateway explain:", err)
		return 1
	case !forwarded:
		// so that a script can assert a rule: the gateway answers the request itself
		return explainAnswered
	}
	return 0
}

// explainAnswered is the exit status of gateway explain when the gateway would answer
// the request itself rather than pass it to the upstream.
const explainAnswered = 3
