package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// OpenPlain opens the file at path for reading and returns it with its status, or an
// error when it is not a regular file, or is one of the kernel's (/proc/self/environ,
// named as a stylesheet, would serve the gateway's environment to anyone). The open
// does not wait: a FIFO or device put in the file's place (by mistake, or by someone
// who can write the folder) would otherwise hold the read, and with it the reload that
// made it, every reload after it and the shutdown that waits for them.
func OpenPlain(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path,
			Err: fmt.Errorf("not a regular file (%v)", fi.Mode())}
	}
	if kernelFile(f) {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path,
			Err: errors.New("a file of the kernel's /proc or /sys, not one of the gateway's")}
	}
	return f, fi, nil
}

// ReadPlain reads the file at path as OpenPlain opens it, refusing one of more than
// limit bytes: every file the config names (a certificate, a template, a logo) is read
// so, and none of them can hold a reload.
func ReadPlain(path string, limit int64) ([]byte, error) {
	f, _, err := OpenPlain(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "read", Path: path,
			Err: fmt.Errorf("larger than %d bytes", limit)}
	}
	return data, nil
}

// ReadDirPlain reads the folder at path, refusing without waiting anything but a folder
// put in its place (a FIFO would hold the open, as for OpenPlain).
func ReadDirPlain(path string) ([]os.DirEntry, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}
