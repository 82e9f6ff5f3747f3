//go:build unix

package server

import "syscall"

// umask sets the process umask and returns the previous one.
func umask(mask int) int { return syscall.Umask(mask) }
