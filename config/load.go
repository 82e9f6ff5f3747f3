package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
)

// Load reads the config file at path and parses it with [Parse], naming the file by its
// absolute path. Failing to read the file is an error wrapping the error of the [os]
// package; every other problem, a file larger than [MaxFileSize] among them, is an
// [*Error].
func Load(path string) (*Config, error) {
	abs, data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, abs)
}

// readFile returns the absolute path of the config file at path, and its contents.
func readFile(path string) (string, []byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, fmt.Errorf("reading config: %w", err)
	}
	f, _, err := OpenPlain(abs)
	if err != nil {
		return "", nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", nil, fmt.Errorf("reading config: %w", err)
	}
	if len(data) > MaxFileSize {
		return "", nil, &Error{File: abs, Err: fmt.Errorf("file is larger than %d MiB: "+
			"is this the config file?", MaxFileSize>>20)}
	}
	return abs, data, nil
}

// MaxFileSize bounds the config file, so that a mistaken path (a log, a disk image)
// fails at once instead of filling memory. A config of thousands of routes is a fraction
// of it.
const MaxFileSize = 4 << 20

// Parse decodes data, the text of the config file named file, and returns the complete
// configuration: defaults filled in, validated, relative paths made absolute and values
// parsed into their typed fields. Config.File is file made absolute, or empty when file
// is empty.
//
// Decoding is strict. The text must hold exactly one YAML document whose keys are all
// known and set at most once, and whose values have the right types. YAML anchors,
// aliases and merge keys are refused. ${NAME} in a value reads the environment
// variable NAME, which must be set; $${ is a literal ${.
//
// Relative paths are resolved against the folder of file, or against the current
// directory when file is empty; file is used otherwise only to name the file in errors.
//
// Every error is an [*Error] naming the file, line and key. When the text has several
// problems that prevent decoding, the first one in the file is reported; after that,
// the broken rule that comes first in the file.
func Parse(data []byte, file string) (*Config, error) {
	return parse(data, file, os.LookupEnv, false)
}

// LoadAll is Load that goes on past the first problem: its error, when there is one,
// joins ([errors.Join]) an *Error for every problem it found. A file that is not valid
// YAML has one problem; one that decodes has every problem of its keys and values; one
// whose values all decode, unknown and repeated keys aside, has every broken rule too,
// after those keys: one at most for each part of the config (each route on its own),
// and one for each key of the session.
// Rules are not checked when a value failed to decode, since it would make them report
// problems that are not there.
func LoadAll(path string) (*Config, error) {
	abs, data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(data, abs, os.LookupEnv, true)
}

// parse is Parse with the environment read through lookup, so that tests can supply it;
// with all, it is LoadAll's parse.
func parse(data []byte, file string, lookup func(string) (string, bool),
	all bool) (*Config, error) {
	root, trailing, err := readDocument(data, file)
	if err != nil {
		return nil, err
	}

	// decode, recording the line of every key for the errors of later steps
	c := new(Config)
	d := decoder{file: file, lookup: lookup, lines: make(map[string]int)}
	var problems []*Error
	if all {
		d.problems = &problems
	}
	if err := d.decode(root, reflect.ValueOf(c).Elem(), ""); err != nil {
		return nil, d.hide(asError(err, file))
	}
	if trailing != nil {
		problems = append(problems, asError(trailing, file))
	}
	// a key that is unknown, or set twice, leaves the values around it whole, so the
	// rules can still be checked; a value that failed to decode would make them report
	// problems that are not there
	if !slices.ContainsFunc(problems, notKeyProblem) {
		setDefaults(c)
		// every rule is checked, so that Load's one problem is LoadAll's first: each
		// is told in the order of the file, as the problems of keys are
		broken := validate(c, file, d.lines)
		slices.SortStableFunc(broken, func(a, b *Error) int { return a.Line - b.Line })
		problems = append(problems, broken...)
	}
	// a key an unknown one was taken for is not missing too, nor what it holds
	problems = slices.DeleteFunc(problems, func(e *Error) bool {
		return errors.Is(e, ErrRequired) && d.wasPointedTo(e.Key)
	})
	for i, p := range problems {
		problems[i] = d.hint(d.hide(p))
	}
	switch {
	case len(problems) == 0:
	case !all:
		return nil, problems[0]
	default:
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return nil, errors.Join(errs...)
	}

	// resolve relative paths; filepath.Abs of "" is the current directory
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, &Error{File: file, Line: 1, Err: fmt.Errorf("resolving config path: %w", err)}
	}
	base := abs
	if file != "" {
		c.File = abs
		base = filepath.Dir(abs)
	}
	c.Users.File = resolvePath(base, c.Users.File)
	paths := []*string{&c.TLS.CertFile, &c.TLS.KeyFile, &c.TLS.CARoot, &c.Assertion.KeyFile,
		&c.Pages.Logo, &c.Pages.Stylesheet, &c.Pages.Templates}
	for i := range c.Routes {
		paths = append(paths, &c.Routes[i].UpstreamCA)
	}
	for _, p := range paths {
		if *p != "" {
			*p = resolvePath(base, *p)
		}
	}
	c.StateDir = resolvePath(base, c.StateDir)

	compile(c)
	c.lines, c.literal, c.expanded, c.vars = d.lines, d.literal, d.expanded, d.vars
	return c, nil
}

// notKeyProblem reports whether e is a problem of a value, not of the key it is under.
func notKeyProblem(e *Error) bool {
	return !errors.Is(e, ErrUnknownKey) && !errors.Is(e, ErrDuplicateKey)
}

// resolvePath returns p made absolute against the folder base.
func resolvePath(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// compile fills the typed fields from their text, which validate has already checked,
// so that the rest of the gateway never parses configuration text again.
func compile(c *Config) {
	c.Trusted = make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		p, _ := parseProxy(s)
		c.Trusted = append(c.Trusted, p)
	}
	for i, h := range c.AllowedRedirectHosts {
		c.AllowedRedirectHosts[i] = strings.ToLower(h)
	}
	// a request's Host is compared with them in lower case
	for i, d := range c.TLS.Domains {
		c.TLS.Domains[i] = strings.ToLower(d)
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		r.UpstreamURL, _ = parseUpstream(r.Upstream)
		r.Host = NormalizeHost(r.Host)
		for j, m := range r.Allow.Methods {
			r.Allow.Methods[j] = strings.ToUpper(m)
		}
	}
}

// Locate reads from the config file at path only what a command needs to find the
// gateway that runs with it: File, StateDir, Users.File, Session.Store (empty when it
// reads an unset environment variable) and Log, with their defaults and
// relative paths resolved. Unlike Load it does not need the gateway's environment: a
// reference to an unset variable elsewhere in the file reads as empty, and [Config.Partial]
// names it. Nothing else is set or validated, so the result serves to reach a running
// gateway, never to run one or open its store.
//
// Nor does it need the rest of the file to be right: a gateway keeps serving the config
// it has while a broken edit of its file waits to be mended, and its sessions and users
// must stay within reach meanwhile. Locate fails only on a file that is not YAML, and on
// a problem with one of the keys it reads: a value that does not decode, a key set
// twice, or an unknown key that was most likely meant as one of them. [Config.Partial]
// names the first problem it let pass.
func Locate(path string) (*Config, error) {
	abs, data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	root, _, err := readDocument(data, abs)
	if err != nil {
		return nil, err
	}
	var (
		full     Config
		problems []*Error
	)
	d := decoder{file: abs, lookup: os.LookupEnv, lines: make(map[string]int),
		unset: make(map[string]string), problems: &problems}
	if err := d.decode(root, reflect.ValueOf(&full).Elem(), ""); err != nil {
		return nil, err
	}
	for _, key := range locatedKeys {
		from := d.pointer(key)
		for _, p := range problems {
			// a problem of the key, of a key above it (the whole file's among them), or
			// of an unknown key meant as it
			if p.Key == key || p.Key == "" || strings.HasPrefix(key, p.Key+".") ||
				from != "" && p.Key == from {
				return nil, d.hint(d.hide(p))
			}
		}
		if name, ok := d.unset[key]; ok {
			return nil, &Error{File: abs, Line: d.lines[key], Key: key,
				Err: fmt.Errorf("environment variable %s is %w", name, ErrUnsetEnv)}
		}
	}
	setDefaults(&full)
	if _, ok := d.unset["session.store"]; ok {
		full.Session.Store = ""
	}
	base := filepath.Dir(abs)
	c := &Config{
		File:     abs,
		StateDir: resolvePath(base, full.StateDir),
		Users:    Users{File: resolvePath(base, full.Users.File)},
		Session:  Session{Store: full.Session.Store},
		Log:      full.Log,
		lines:    d.lines,
		located:  true,
		unset:    d.unset,
	}
	if len(problems) > 0 {
		c.broken = d.hint(d.hide(problems[0]))
	}
	return c, nil
}

// locatedKeys are the keys Locate must read right; the others it reads can fall back
// to their defaults.
var locatedKeys = []string{"state_dir", "users.file", "session.store"}

// Partial returns nil for a Config from Load or Parse. For one from [Locate], which holds
// only where the gateway keeps its state, it returns an error that says so and names the
// environment variables the file refers to that are not set.
func (c *Config) Partial() error {
	if !c.located {
		return nil
	}
	if c.broken != nil {
		return fmt.Errorf("only the location of the gateway's state was read from %s, "+
			"which has a problem: %w", c.File, c.broken)
	}
	if len(c.unset) == 0 {
		return errors.New("only the location of the gateway's state was read from " +
			c.File)
	}
	keys := make([]string, 0, len(c.unset))
	for k := range c.unset {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " reads " + c.unset[k]
	}
	return fmt.Errorf("environment variables the config refers to are %w (%s)", ErrUnsetEnv,
		strings.Join(parts, ", "))
}

// LiteralVariables returns a warning for each value written as $NAME, such as a
// password of "$REDIS_PASSWORD": the gateway reads it as those very characters, since
// only ${NAME} reads an environment variable. Each names its file, line and key. They
// are warnings, not errors, because such a text may be meant.
func (c *Config) LiteralVariables() []error {
	var out []error
	for _, key := range slices.Sorted(maps.Keys(c.literal)) {
		name := c.literal[key]
		v := validator{file: c.File, lines: c.lines}
		out = append(out, &Error{File: c.File, Line: v.line(key), Key: key,
			Err: fmt.Errorf("$%s is read as these very characters; to read the "+
				"environment variable %s, write ${%s}", name, name, name)})
	}
	slices.SortStableFunc(out, func(a, b error) int {
		return a.(*Error).Line - b.(*Error).Line
	})
	return out
}
