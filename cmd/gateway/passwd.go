package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/cmd/internal/shell"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy/server"
)

const passwdUsage = `usage: gateway passwd [-config FILE] [-add] NAME
`

// runPasswd sets a user's password in the users file the config names: it reads the
// password as hash-password does, and replaces the file with the edited one in one
// rename, so that a running gateway, which reads the file when it changes, never sees
// it half written, and ends the user's sessions.
func runPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("gateway passwd", flag.ContinueOnError)
	flags.SetOutput(stderr)
	withUsage(flags, passwdUsage)
	path := flags.String("config", "gateway.yaml", "config `file`")
	add := flags.Bool("add", false, "add the user, who must not be in the users file yet")
	if err := flags.Parse(args); err != nil {
		return flagExit(err)
	}
	if flags.NArg() == 0 || flags.Arg(0) == "" {
		fmt.Fprintf(stderr, "gateway passwd: give one user name\n%s", passwdUsage)
		return 2
	}
	name := flags.Arg(0)
	// flags may come after the name as well as before it
	if err := flags.Parse(flags.Args()[1:]); err != nil {
		return flagExit(err)
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway passwd: give one user name, not also %q\n%s", flags.Arg(0),
			passwdUsage)
		return 2
	}
	if *add {
		if err := checkUsername(name); err != nil {
			fmt.Fprintf(stderr, "gateway passwd: user %q: %v\n", name, err)
			return 1
		}
	}
	// The users file's place is all that is needed: not the gateway's secrets, nor a
	// users file that loads, which this may be about to make or mend.
	cfg, err := config.Locate(*path)
	if err != nil {
		fmt.Fprintln(stderr, "gateway passwd:", err)
		return 1
	}
	if _, err := config.LoadAll(*path); firstProblem(err) != nil {
		fmt.Fprintf(stderr, "gateway passwd: warning: %v (a gateway would refuse the file; "+
			"only users.file is read from it)\n", firstProblem(err))
	}
	// a file anyone may write the gateway refuses: a password set in it would not count
	if err := server.WritableByAnyone(cfg.Users.File); err != nil {
		fmt.Fprintf(stderr, "gateway passwd: the gateway refuses the users file, as "+
			"anyone could add themselves as a user: %v\n", err)
		return 1
	}
	file, data, err := readUsersFile(cfg.Users.File, *add)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "gateway passwd: there is no users file %s; gateway passwd -add "+
			"%s makes it\n", cfg.Users.File, shell.Quote(name))
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "gateway passwd:", err)
		return 1
	}
	// The edit is tried before a password is asked for, with a stand-in hash of no
	// cost, so that a file it cannot be made in does not ask in vain.
	standIn, err := password.Generate("stand-in", password.Argon2Params{Memory: 8, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 16})
	if err == nil {
		_, err = authn.SetPassword(data, file, name, standIn, *add)
	}
	if errors.Is(err, authn.ErrNoUser) {
		fmt.Fprintf(stderr, "gateway passwd: %v; gateway passwd -add %s adds the user\n",
			err, shell.Quote(name))
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "gateway passwd:", err)
		return 1
	}
	if *add {
		if alike := passingFor(data, file, name); len(alike) > 0 {
			fmt.Fprintf(stderr, "gateway passwd: warning: %q passes at a glance for %s, "+
				"already in %s (they differ in case, or in letters drawn alike)\n", name,
				strings.Join(alike, ", "), file)
		}
	}
	enc, err := readHash(stdin, stderr, "gateway passwd", name)
	if err == nil {
		err = editUsersFile(cfg.Users.File, name, enc, *add, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gateway passwd:", err)
		return 1
	}
	done := "changed"
	if *add {
		done = "set for the new user"
	}
	fmt.Fprintf(stdout, "password of %s %s in %s\n", name, done, file)
	// A gateway would see the change within seconds; asked, it reads the file now.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	read, err := server.RereadUsers(ctx, cfg)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "gateway passwd: the running gateway did not read the file at "+
			"once: %v\n", err)
	case read && !*add:
		fmt.Fprintf(stdout, "The running gateway has read the file and ended %s's "+
			"sessions.\n", name)
	case read:
		fmt.Fprintf(stdout, "The running gateway has read the file.\n")
	}
	switch {
	case *add || read:
	case err != nil:
		fmt.Fprintf(stderr, "A gateway that reads this users file sees the change within "+
			"seconds, and ends %s's sessions then.\n", name)
	default:
		fmt.Fprintf(stdout, "No gateway with this config is running here. A gateway ends "+
			"%s's sessions when it reads the file: at its start, or within seconds of the "+
			"change.\n", name)
	}
	return 0
}

// passingFor returns, quoted, the users of the users file data who pass for name at a
// glance, as authn.LookAlikes finds them; none when data does not load.
func passingFor(data []byte, file, name string) []string {
	users, err := authn.ParseUsers(data, file)
	if err != nil {
		return nil
	}
	users[name] = nil
	for _, group := range authn.LookAlikes(users) {
		if slices.Contains(group, name) {
			var out []string
			for _, n := range group {
				if n != name {
					out = append(out, strconv.Quote(n))
				}
			}
			return out
		}
	}
	return nil
}

// readUsersFile reads the users file at path, where a symbolic link leads, and returns
// where that is. With create, a file that is not there reads as one with no users, at
// path. A file over authn.MaxUsersFile is refused, as the gateway refuses it.
func readUsersFile(path string, create bool) (string, []byte, error) {
	file, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		// the first user makes the file, readable by its owner alone
		return path, []byte("users:\n"), nil
	}
	if err != nil {
		return "", nil, err
	}
	f, _, err := config.OpenPlain(file)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, authn.MaxUsersFile+1))
	if err != nil {
		return "", nil, err
	}
	if len(data) > authn.MaxUsersFile {
		return "", nil, fmt.Errorf("%s is larger than %d MiB, which the gateway refuses",
			file, authn.MaxUsersFile>>20)
	}
	return file, data, nil
}

// editUsersFile sets the password hash of name in the users file at path, as
// authn.SetPassword does, and replaces the file with the result. The file is read again
// for it, while a lock on its folder is held, so that two runs at once each change what
// the other wrote, not what was there before either: without it, the one that renamed
// last would undo the other's change, and both would say they had made theirs.
func editUsersFile(path, name, hash string, add bool, stderr io.Writer) error {
	target := path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		target = real // the folder of the file itself, however the configs name it
	}
	dir, err := lockFolder(filepath.Dir(target), stderr)
	if err != nil {
		return err
	}
	defer dir.Close() // which lets go of the lock
	file, data, err := readUsersFile(path, add)
	if err != nil {
		return err
	}
	out, err := authn.SetPassword(data, file, name, hash, add)
	if err != nil {
		return err
	}
	if len(out) > authn.MaxUsersFile {
		return fmt.Errorf("%s would grow past %d MiB, which the gateway refuses", file,
			authn.MaxUsersFile>>20)
	}
	return replaceFile(file, out)
}

// lockFolder opens the folder dir and holds an exclusive lock on it until it is closed.
// A lock another holds is waited for, after saying so on stderr.
func lockFolder(dir string, stderr io.Writer) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		fmt.Fprintf(stderr, "gateway passwd: waiting for another change in %s to end\n", dir)
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return f, nil
}

// replaceFile puts data in place of the file at path in one rename, with the file's
// mode and owner: a file written in place can be read half written, and one that
// changed owner could no longer be read by a gateway that runs as its owner.
func replaceFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return writeNew(path, data)
	}
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing next to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing there
	err = tmp.Chmod(fi.Mode().Perm())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && err == nil &&
		(int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid()) {
		if err = tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
			err = fmt.Errorf("keeping the owner of %s: %w", path, err)
		}
	}
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeNew writes data to a new file at path, with mode 0600, failing if one is there.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("making %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("making %s: %w", path, err)
	}
	return nil
}
