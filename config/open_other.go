//go:build !linux

package config

import "os"

// kernelFile reports whether f is a view of the kernel's rather than a file; only Linux's
// /proc and /sys are known.
func kernelFile(*os.File) bool { return false }
