package config

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// OpenPlain opens the file at path for reading and returns it with its status, or an
// error when it is not a regular file. The open does not wait: a FIFO or device put in
// the file's place (by mistake, or by someone who can write the folder) would otherwise
// hold the read, and with it the reload that made it, every reload after it and the
// shutdown that waits for them.
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
			Err: fmt.Errorf("not a regular file (%v)", fi.Mode().Type())}
	}
	return f, fi, nil
}
