package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/frontgate/gateway/proxy/assertion"
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
	if !fi.IsDir() {
		return fmt.Errorf("state_dir %s is a file, not a folder", dir)
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
// the place of, and returns the path it leads to, every symbolic link on the way
// followed. Refused are a path through a symbolic link of another user than the
// gateway's or root, at any depth (its owner could point it elsewhere at any time, even
// in a sticky folder, where they may remove what is theirs); a state_dir under a folder
// that group or others may write to, without the sticky bit that /tmp has; and, with
// owners set, one under a folder of another user than the gateway's or root. Such a
// user could rename state_dir away and make their own, with a control socket and a
// secret of theirs in it. Where the gateway runs, owners is set. check and the commands
// that talk to the gateway may run as another user, so they cannot judge owners so;
// they refuse instead a state_dir in a sticky folder that neither they nor root own,
// which anyone could have made.
func checkStateDirPath(dir string, owners bool) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("checking state_dir: %w", err)
	}
	me := os.Geteuid()
	real, err := followLinks("state_dir "+dir, abs, me, nil)
	if err != nil {
		return "", err
	}
	for child, parent := real, filepath.Dir(real); ; child, parent = parent,
		filepath.Dir(parent) {
		fi, err := os.Stat(parent)
		if err == nil {
			mode := fi.Mode()
			if mode.Perm()&0o022 != 0 {
				if mode&fs.ModeSticky == 0 {
					return "", fmt.Errorf("state_dir %s is inside %s, which group or "+
						"others may write to (mode %v), and so could replace state_dir "+
						"with a folder of their own; put it in a folder only its owner "+
						"may write", dir, parent,
						mode&(fs.ModeDir|fs.ModePerm|fs.ModeSticky))
				}
				// anyone may make what is right inside a sticky folder
				if cfi, err := os.Stat(child); err == nil && !owners {
					if uid := ownerOf(cfi); uid != me && uid != 0 {
						return "", fmt.Errorf("state_dir %s is reached through %s, of "+
							"user %d, in %s, where anyone may make a folder: anyone "+
							"could have made it, and a gateway that runs as root would "+
							"refuse it", dir, child, uid, parent)
					}
				}
			}
			if uid := ownerOf(fi); owners && uid != me && uid != 0 {
				return "", fmt.Errorf("state_dir %s is inside %s, which belongs to user "+
					"%d, not to the user the gateway runs as (%d) or root, and who could "+
					"replace state_dir with a folder of their own", dir, parent, uid, me)
			}
		}
		if parent == filepath.Dir(parent) {
			break
		}
	}
	return real, nil
}

// ownerOf returns the user that owns fi's file, or -1 where that cannot be told.
func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// followLinks returns abs with every symbolic link on it followed, at any depth, as the
// system follows them: a ".." in a link's target leaves the folder the links before it
// led to, not the one its text names. It refuses a link of another user than me or
// root, unless me is negative; what names the path in errors. visit, when not nil, is
// given each folder a part of the path is looked up in, those that hold a link on the
// way among them. What is not there yet is left as it is named.
func followLinks(what, abs string, me int, visit func(dir string)) (string, error) {
	sep := string(filepath.Separator)
	cur, todo := sep, strings.Split(abs, sep)
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur has no link in it
			continue
		}
		if visit != nil {
			visit(cur)
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return filepath.Join(append([]string{next}, todo...)...), nil
		case err != nil:
			return "", fmt.Errorf("checking %s: %w", what, err)
		case fi.Mode()&fs.ModeSymlink == 0:
			cur = next
			continue
		}
		if uid := ownerOf(fi); me >= 0 && uid != me && uid != 0 {
			return "", fmt.Errorf("%s passes through %s, a symbolic link of user %d, who "+
				"could point it elsewhere; use a link of the gateway's user or root, or "+
				"none", what, next, uid)
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many symbolic links", what)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", fmt.Errorf("checking %s: %w", what, err)
		}
		if filepath.IsAbs(target) {
			cur = sep
		}
		// the target's parts come first, read from the folder that holds the link
		todo = append(strings.Split(target, sep), todo...)
	}
	return cur, nil
}

// prepareStateDir makes state_dir, when it is not there, refuses it when someone else
// could replace what the gateway keeps in it, and returns the path it leads to, which
// the gateway uses from then on: no link on the way is followed again. It is judged
// again once made, so that a folder someone else made first, to be used as the
// gateway's, is found, and the path it leads to must not have changed meanwhile.
func prepareStateDir(dir string) (string, error) {
	before, err := checkStateDirPath(dir, true)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(before); err == nil && !fi.IsDir() {
		return "", checkStateDir(before) // names it as a file
	}
	if err := os.MkdirAll(before, 0o700); err != nil {
		return "", fmt.Errorf("creating state directory: %w", err)
	}
	real, err := checkStateDirPath(dir, true)
	switch {
	case err != nil:
		return "", err
	case real != before:
		return "", fmt.Errorf("state_dir %s led to %s, then to %s while it was made",
			dir, before, real)
	}
	if err := checkStateDir(real); err != nil {
		return "", err
	}
	if err := checkStateDirOwner(real); err != nil {
		return "", err
	}
	return real, checkStateDirFiles(real)
}

// checkStateDirFiles refuses a state_dir holding anything that someone else could
// change: a file or folder of another user than state_dir's owner, root or the one this
// runs as, one that group or others may write, or a symbolic link, which the gateway
// never makes there. A folder's owner may change its mode, but not the files of others
// in it: a secret or store left there by another user, who made the folder first, would
// be theirs to read and rewrite after the folder was handed over.
func checkStateDirFiles(dir string) error {
	top, err := os.Lstat(dir)
	if err != nil {
		return nil // not made yet, or named by the error that follows
	}
	me, owner := os.Geteuid(), ownerOf(top)
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("checking state_dir: %w", err)
		}
		if path == dir {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("checking state_dir: %w", err)
		}
		mode := fi.Mode()
		switch uid := ownerOf(fi); {
		case mode&fs.ModeSymlink != 0:
			return fmt.Errorf("state_dir holds a link, %s, which the gateway never makes "+
				"there: remove it", path)
		case uid != me && uid != 0 && uid != owner:
			return fmt.Errorf("%s in state_dir belongs to user %d, not to the user the "+
				"gateway runs as (%d), state_dir's owner or root, who could read and "+
				"replace what the gateway keeps there: remove it", path, uid, me)
		case mode.Type()&(fs.ModeSocket|fs.ModeNamedPipe) == 0 && mode.Perm()&0o022 != 0:
			return fmt.Errorf("%s in state_dir may be written by group or others (mode %v): "+
				"remove it, or run chmod go-w on it", path, mode)
		case filepath.Dir(path) == dir && slices.Contains(stateFiles, d.Name()) &&
			!mode.IsRegular():
			return fmt.Errorf("%s in state_dir is not a regular file (%v), as the gateway "+
				"makes it: remove it", path, mode)
		}
		return nil
	})
}

// stateFiles are the files the gateway makes directly under state_dir.
var stateFiles = []string{boltFile, lockFile, secretFile, assertion.KeyFile}

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
