// Package shell writes words for the commands the gateway's tools print for a person to
// run in a POSIX shell.
package shell

import "strings"

// Quote returns s as one word of a POSIX shell: as it is when no character of it is
// special to the shell, else in single quotes.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"+
		"0123456789,._/:=@-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
