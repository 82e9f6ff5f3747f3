package authn

import (
	"io/fs"
	"os"
	"syscall"
	"time"
)

// ChangeTime returns when the file at path last changed: its status change time, which
// every write moves and, unlike the modification time, no tool can set back (cp -p,
// rsync -a and touch -r all can the other). Zero when it cannot be told.
func ChangeTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return fi.ModTime()
}

// ownerOf returns the user that owns fi's file, or -1 where that cannot be told.
func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
