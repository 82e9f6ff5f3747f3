package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// checkStateDir refuses a state_dir that others may write to: whoever can replace its
// files can replace the session secret, the session store or the control socket.
func checkStateDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking state_dir: %w", err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("state_dir %s is writable by group or others (mode %v); "+
			"run chmod 700 on it", dir, fi.Mode()&(fs.ModeDir|fs.ModePerm))
	}
	return nil
}

// checkStateDirOwner refuses a state_dir that belongs to a user other than the one the
// gateway runs as, or root. Its owner could replace what the gateway keeps there (the
// session store, a generated secret) and the control socket, through which the gateway
// command would then revoke no session while saying it did. (check does not judge the
// owner: it may run as another user than the gateway does, root above all.)
func checkStateDirOwner(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil // made by the gateway itself, or named by the error that follows
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if me := os.Geteuid(); int(st.Uid) != me && st.Uid != 0 {
		return fmt.Errorf("state_dir %s belongs to user %d, not to the user the gateway "+
			"runs as (%d) or root, and its owner could replace the session store, its "+
			"secret and the control socket; chown it to the gateway's user", dir, st.Uid, me)
	}
	return nil
}

// checkStateDirPath refuses a state_dir that someone else could put another folder in
// the place of: one under a folder that group or others may write to, without the
// sticky bit that /tmp has, or, with owners set, under one that belongs to another user
// than the gateway's or root. Such a user could rename state_dir away and make their
// own, with a control socket of theirs in it. The path is followed through symbolic
// links too. Owners are judged only where the gateway itself runs: check and the
// commands that talk to it may run as another user.
func checkStateDirPath(dir string, owners bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("checking state_dir: %w", err)
	}
	me := os.Geteuid()
	if err := checkLinks(dir, abs, me); err != nil {
		return err
	}
	paths := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		paths = append(paths, real)
	}
	for _, p := range paths {
		for parent := filepath.Dir(p); ; parent = filepath.Dir(parent) {
			fi, err := os.Stat(parent)
			if err == nil {
				mode := fi.Mode()
				if mode.Perm()&0o022 != 0 && mode&fs.ModeSticky == 0 {
					return fmt.Errorf("state_dir %s is inside %s, which group or others "+
						"may write to (mode %v), and so could replace state_dir with a "+
						"folder of their own; put it in a folder only its owner may write",
						dir, parent, mode&(fs.ModeDir|fs.ModePerm|fs.ModeSticky))
				}
				if st, ok := fi.Sys().(*syscall.Stat_t); owners && ok && int(st.Uid) != me &&
					st.Uid != 0 {
					return fmt.Errorf("state_dir %s is inside %s, which belongs to user %d, "+
						"not to the user the gateway runs as (%d) or root, and who could "+
						"replace state_dir with a folder of their own", dir, parent, st.Uid,
						me)
				}
			}
			if parent == filepath.Dir(parent) {
				break
			}
		}
	}
	return nil
}

// checkLinks refuses a path to state_dir that passes through a symbolic link of
// another user than me or root, state_dir itself included: its owner may point it
// elsewhere at any time, even in a sticky folder, where they may remove what is theirs.
func checkLinks(dir, abs string, me int) error {
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != me && st.Uid != 0 {
				return fmt.Errorf("state_dir %s passes through %s, a symbolic link of user "+
					"%d, who could point it elsewhere; use a link of the gateway's user or "+
					"root, or none", dir, p, st.Uid)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// prepareStateDir makes state_dir, when it is not there, and refuses it when someone
// else could replace what the gateway keeps in it. It is judged after it is made, so
// that one someone else made first, to be used as the gateway's, is found.
func prepareStateDir(dir string) error {
	if err := checkStateDirPath(dir, true); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	if err := checkStateDir(dir); err != nil {
		return err
	}
	return checkStateDirOwner(dir)
}

// lockFile is the name, under state_dir, of the file a running gateway holds locked.
const lockFile = "gateway.lock"

// lockStateDir takes state_dir for this gateway until the returned file is closed, or
// says that another gateway has it. Two gateways on one state_dir would share its
// generated secret and store file, and the commands could not tell them apart; the
// control socket finds a second one too, but two starting at once could both miss the
// other's socket.
func lockStateDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking state_dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state_dir %s: another gateway is running with it", dir)
		}
		return nil, fmt.Errorf("locking state_dir: %w", err)
	}
	return f, nil
}

// checkControlPeer refuses a control socket whose other end is not the gateway: a
// process of another user than the owner of state_dir (the gateway's own, see
// checkStateDirOwner), root or the caller.
func checkControlPeer(c net.Conn, dir string) error {
	uid, ok := peerUID(c)
	if !ok {
		return nil // no way to ask; state_dir's path and owner were judged
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking state_dir: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || uid == int(st.Uid) || uid == 0 || uid == os.Geteuid() {
		return nil
	}
	return errors.New("the control socket in " + dir + " is served by user " +
		fmt.Sprint(uid) + ", who owns neither state_dir nor this command: not the gateway")
}
