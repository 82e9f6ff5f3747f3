package config

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors that an [*Error] may wrap. Test for them with [errors.Is]; the other
// problems are described only by their message, which is written for the person editing
// the file.
var (
	// ErrEmpty means the file holds no YAML document, or only a null one.
	ErrEmpty = errors.New("config is empty")

	// ErrUnknownKey means a key is not one the gateway knows, usually a typing mistake.
	// The Error's Key is the full path of the unknown key.
	ErrUnknownKey = errors.New("unknown key")

	// ErrDuplicateKey means a mapping sets the same key twice.
	ErrDuplicateKey = errors.New("duplicate key")

	// ErrRequired means a required key is missing or empty. The Error's Line is that of
	// the parent key, or 1 for a top-level key.
	ErrRequired = errors.New("value is required")

	// ErrUnsetEnv means a value refers, as ${NAME}, to an environment variable that is
	// not set.
	ErrUnsetEnv = errors.New("not set")
)

// Error is a problem in a configuration file. Every error that [Parse] returns, and
// every error of [Load] other than failing to read the file, is an *Error.
type Error struct {
	// File is the path of the config file as given to Parse; empty when parsing from
	// memory without a name.
	File string

	// Line is the 1-based line of the offending key or value. For a missing key it is
	// the line of the parent key, and for a problem with no better place it is 1.
	Line int

	// Key is the dotted path of the offending key, with [i] for list items, as in
	// "routes[0].public[1]". Empty when the problem concerns the whole document, such
	// as a YAML syntax error.
	Key string

	// Err is the problem itself.
	Err error
}

// Error renders the problem as "file:line: key: problem", leaving out the parts that are
// unknown. Without a file name the location reads "line 12".
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid config")
	}
	return b.String()
}

// Unwrap returns the underlying problem, so that errors.Is(err, ErrUnknownKey) works.
func (e *Error) Unwrap() error { return e.Err }

// Problems returns the errors err joins ([errors.Join]), and those they join in turn, in
// order; or err alone. It takes apart what [LoadAll] returns, one problem to a line.
func Problems(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, Problems(e)...)
	}
	return out
}
