package authn

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/config/watch"
)

// Backend names the user store that authenticated a session. A session records it, as
// Django does, so that a session is only ever checked against the store that created it.
const Backend = "file"

// snapshot is one parsed version of the users file. It is never modified.
type snapshot struct {
	users   map[string]*User
	dummies []password.Hash
	stat    fileStamp // the version of the file last read, good or not
	good    fileStamp // the version users were parsed from
}

// dummyKey keys the mapping of unknown usernames to dummy hashes. It is random per
// process, so the mapping cannot be worked out from outside.
var dummyKey = []byte(randomSecret())

// dummy returns the hash an unknown username is checked against.
func (s *snapshot) dummy(name string) password.Hash {
	m := hmac.New(sha256.New, dummyKey)
	m.Write([]byte(name))
	n := binary.BigEndian.Uint64(m.Sum(nil))
	return s.dummies[n%uint64(len(s.dummies))]
}

// fileStamp tells versions of a file apart: a digest of its contents. Size and
// modification time are not enough: deployments that set fixed times (cp -p, rsync
// -a, tar, image builds) replace a file without changing either.
type fileStamp [sha256.Size]byte

// FileStore serves the users of a users file and re-reads it when it changes. A version
// that no longer parses is logged and the last good one keeps serving. Safe for
// concurrent use.
type FileStore struct {
	path     string
	log      *slog.Logger
	snap     atomic.Pointer[snapshot]
	reload   sync.Mutex
	onChange func(names []string) // guarded by reload
	onReload func()               // guarded by reload
	refuse   func(path string) error
}

// Refuse makes every later reload ask f about the file first, and keep the users in
// place, failing, when f returns an error: a file that others have come to be able to
// write, say.
func (s *FileStore) Refuse(f func(path string) error) {
	s.reload.Lock()
	s.refuse = f
	s.reload.Unlock()
}

// OnChange makes every later reload call f with the names of the users it removed,
// disabled or gave another password hash, when there are any: the users whose sessions
// no longer sign them in. f runs after the new users are in place.
func (s *FileStore) OnChange(f func(names []string)) {
	s.reload.Lock()
	s.onChange = f
	s.reload.Unlock()
}

// OnReload makes every later reload that puts a new version of the file in place call
// f, after the new users are in place and after OnChange's f.
func (s *FileStore) OnReload(f func()) {
	s.reload.Lock()
	s.onReload = f
	s.reload.Unlock()
}

// OpenFileStore reads the users file at path. It fails if the file cannot be read or
// parsed, so a gateway never starts without its users. A nil logger discards.
func OpenFileStore(path string, log *slog.Logger) (*FileStore, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &FileStore{path: path, log: log}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	if s.Len() == 0 {
		log.Warn("users file has no users: nobody can sign in", "file", path)
	}
	return s, nil
}

// Lookup returns the named user, or nil when there is none.
func (s *FileStore) Lookup(name string) *User {
	return s.snap.Load().users[name]
}

// Users returns the users as last read, by name. The map is the store's own, shared
// with every caller and never changed once read: read it, never write it.
func (s *FileStore) Users() map[string]*User { return s.snap.Load().users }

// Len returns the number of users loaded.
func (s *FileStore) Len() int { return len(s.snap.Load().users) }

// Path returns the users file's path.
func (s *FileStore) Path() string { return s.path }

// Reload reads the users file again. On error the previous users stay in place.
func (s *FileStore) Reload() error { return s.reloadAs(nil) }

// errChangedMeanwhile says that the file read was not the version expected: it changed
// since it was last looked at, and is to be looked at again.
var errChangedMeanwhile = errors.New("users file changed while it was read")

// reloadAs is Reload, of the version of the file stamped expect when it is not nil: a
// file read otherwise is left unread, with errChangedMeanwhile.
func (s *FileStore) reloadAs(expect *fileStamp) error {
	s.reload.Lock()
	old := s.snap.Load()
	changed, f, err := s.reloadLocked(expect)
	fresh := err == nil && (old == nil || old.good != s.snap.Load().good)
	after := s.onReload
	s.reload.Unlock()
	if err == nil && len(changed) > 0 && f != nil {
		f(changed)
	}
	if fresh && after != nil {
		after()
	}
	return err
}

// ReloadWhenStill is Reload once the users file holds still: two looks
// watch.DefaultSettle apart find it the same, so that a file caught half written (by a
// signal sent while a script writes it, say), which could lack a user's "disabled", is
// not taken for the new version. It waits for as long as the file keeps changing, as
// Watch does: a file only ever read in passing is never read.
func (s *FileStore) ReloadWhenStill() error {
	look := func() (fileStamp, time.Time, error) {
		st, err := stampOf(s.path)
		return st, ChangeTime(s.path), err
	}
	stamp, mod, err := look()
	for err == nil {
		time.Sleep(watch.DefaultSettle)
		again, againMod, aerr := look()
		if aerr != nil {
			break
		}
		// the version that held still is read, or none if it changed since
		if again == stamp && againMod.Equal(mod) {
			if err := s.reloadAs(&again); !errors.Is(err, errChangedMeanwhile) {
				return err
			}
		}
		stamp, mod = again, againMod
	}
	return s.Reload()
}

// reloadLocked is Reload under s.reload. It returns the users the new version ended, and
// the function to tell.
func (s *FileStore) reloadLocked(expect *fileStamp) (changed []string, f func([]string),
	err error) {
	// the bytes stamped are the bytes read: what was judged to hold still is what is
	// taken
	data, fi, err := readUsersBytes(s.path)
	if err != nil {
		return nil, nil, err
	}
	stamp := stampBytes(fi, data)
	if expect != nil && stamp != *expect {
		return nil, nil, errChangedMeanwhile
	}
	old := s.snap.Load()
	var users map[string]*User
	if s.refuse != nil {
		err = s.refuse(s.path)
	}
	if err == nil {
		users, err = usersFrom(data, s.path, false)
	}
	var ds []password.Hash
	if err == nil {
		ds, err = dummies(users)
		if err != nil {
			err = fmt.Errorf("preparing dummy hashes: %w", err)
		}
	}
	if err != nil {
		// Remember the bad version, however it was read, so that Watch reports it no
		// more, and says when the file is back to the version in use.
		if old != nil {
			s.snap.Store(&snapshot{users: old.users, dummies: old.dummies, stat: stamp,
				good: old.good})
		}
		return nil, nil, err
	}
	if old != nil {
		changed = ended(old.users, users)
	}
	s.snap.Store(&snapshot{users: users, dummies: ds, stat: stamp, good: stamp})
	return changed, s.onChange, nil
}

// ended returns, sorted, the users of before that after removes, disables or gives
// another password hash or TOTP secret.
func ended(before, after map[string]*User) []string {
	var names []string
	for name, u := range before {
		n := after[name]
		if n == nil || (n.Disabled && !u.Disabled) || n.Binding() != u.Binding() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Watch re-reads the users file whenever its contents change, checking every interval,
// until ctx is done. A change is read once the file has held still for one interval, so
// that a file caught half written, which could lack users whose sessions would then end,
// is not taken for the new version. Errors are logged, once for as long as they last,
// and the last good version keeps serving.
func (s *FileStore) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var w watchState
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.check(&w)
	}
}

// watchState is what Watch remembers from one check to the next.
type watchState struct {
	change  watch.Change
	failing string // why the file could not be read, while it cannot
}

// check is one of Watch's checks of the file.
func (s *FileStore) check(w *watchState) {
	stamp, err := stampOf(s.path)
	if err != nil {
		if err.Error() != w.failing {
			w.failing = err.Error()
			s.log.Error("users file unreadable, keeping the last good version",
				"file", s.path, "error", err)
		}
		return
	}
	if w.failing != "" {
		w.failing = ""
		s.log.Info("users file readable again", "file", s.path)
	}
	if stamp == s.snap.Load().stat {
		w.change.Same()
		return
	}
	look := func() (string, time.Time, error) {
		again, err := stampOf(s.path)
		return string(again[:]), ChangeTime(s.path), err
	}
	if !w.change.Ready(string(stamp[:]), ChangeTime(s.path), look) {
		return
	}
	if s.restored(stamp) {
		s.log.Info("users file back to the version in use", "file", s.path,
			"users", s.Len())
		return
	}
	// the version judged ready, not one written since, which the next check judges
	err = s.reloadAs(&stamp)
	if errors.Is(err, errChangedMeanwhile) {
		return
	}
	if err != nil {
		s.log.Error("users file rejected, keeping the last good version",
			"file", s.path, "error", err)
		return
	}
	s.log.Info("users file reloaded", "reason", "file changed", "file", s.path,
		"users", s.Len())
}

// restored reports whether stamp is the version of the file the users in use were read
// from, after a rejected version: put right, it needs no reading again.
func (s *FileStore) restored(stamp fileStamp) bool {
	s.reload.Lock()
	defer s.reload.Unlock()
	snap := s.snap.Load()
	if stamp != snap.good || stamp == snap.stat {
		return false
	}
	s.snap.Store(&snapshot{users: snap.users, dummies: snap.dummies, stat: stamp,
		good: stamp})
	return true
}

// stampOf returns the digest of the file at path, as stampBytes gives it, read as it
// comes rather than held whole: the watcher looks every few seconds. A file that is
// not a regular file (a pipe would stall the read, a device never end it) or is larger
// than MaxUsersFile is refused from its status, unread.
func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	if err := usable(fi); err != nil {
		return fileStamp{}, err
	}
	f, fi, err := config.OpenPlain(path) // replaced since the look above, judged again
	if err != nil {
		return fileStamp{}, err
	}
	defer f.Close()
	if err := usable(fi); err != nil {
		return fileStamp{}, err
	}
	h := stampHash(fi)
	n, err := io.Copy(h, io.LimitReader(f, MaxUsersFile+1))
	if err != nil {
		return fileStamp{}, err
	}
	if n > MaxUsersFile {
		return fileStamp{}, errTooLarge
	}
	return fileStamp(h.Sum(nil)), nil
}

// stampBytes returns the digest of data, a file's content, and of the mode and owner
// fi gives it: a file the gateway refused for them is read again once they are put
// right, and one opened to others is judged again.
func stampBytes(fi fs.FileInfo, data []byte) fileStamp {
	h := stampHash(fi)
	h.Write(data)
	return fileStamp(h.Sum(nil))
}

// stampHash returns the hash of a stamp, fed fi's mode and owner, for the content.
func stampHash(fi fs.FileInfo) interface {
	io.Writer
	Sum([]byte) []byte
} {
	h := sha256.New()
	fmt.Fprintf(h, "%o %d\n", fi.Mode(), ownerOf(fi))
	return h
}

// errTooLarge refuses a users file over MaxUsersFile.
var errTooLarge = errors.New("file is larger than 64 MiB")

// usable refuses, from its status, a users file that is not a regular file or is larger
// than MaxUsersFile.
func usable(fi os.FileInfo) error {
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	case fi.Size() > MaxUsersFile:
		return errTooLarge
	}
	return nil
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
