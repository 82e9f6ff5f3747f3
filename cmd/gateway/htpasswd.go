package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
)

// runImportHtpasswd turns an Apache htpasswd file (or stdin, for "-") into a users file on
// stdout. bcrypt entries ($2a$, $2b$, $2y$; htpasswd -B) carry over as they are. Entries
// whose hash cannot (apr1 MD5, {SHA}, crypt, $5$ and $6$ SHA crypt, a malformed hash) are
// named on stderr with their line, for their users to be given new passwords with
// hash-password; the users file printed leaves them out, and the exit status is still 0.
// A line that is not name:hash, a name the users file cannot hold and a name given twice
// are errors: nothing is printed and the exit status is 1.
func runImportHtpasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const usage = "usage: gateway import-htpasswd FILE > users.yaml  (FILE - is stdin)"
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	src, in := args[0], stdin
	if src == "-" {
		src = "stdin"
	} else {
		f, err := os.Open(src)
		if err != nil {
			fmt.Fprintln(stderr, "gateway import-htpasswd:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	imp, err := importHtpasswd(in, src)
	if err != nil {
		fmt.Fprintln(stderr, "gateway import-htpasswd:", err)
		return 1
	}
	if _, err := stdout.Write(imp.usersFile); err != nil {
		fmt.Fprintln(stderr, "gateway import-htpasswd: writing the users file:", err)
		return 1
	}
	for _, r := range imp.refused {
		fmt.Fprintf(stderr, "gateway import-htpasswd: %s:%d: user %q not carried over: %s\n",
			src, r.line, r.name, r.reason)
	}
	if n := len(imp.refused); n > 0 {
		names := make([]string, n)
		for i, r := range imp.refused {
			names[i] = r.name
		}
		fmt.Fprintf(stderr, "gateway import-htpasswd: carried over %s; left out %d (%s), "+
			"who cannot sign in until each has a new password made with gateway hash-password "+
			"or set with gateway passwd\n", plural(imp.carried, "user"), n,
			strings.Join(names, ", "))
	}
	if imp.carried == 0 && len(imp.refused) == 0 {
		// a users file with nobody in it signs nobody in: not to pass unsaid
		fmt.Fprintf(stderr, "gateway import-htpasswd: %s holds no users\n", src)
	}
	return 0
}

// refusal is an htpasswd entry whose hash does not carry over.
type refusal struct {
	line   int
	name   string
	reason string // names the kind of hash, never any of its text
}

// htpasswdImport is what an htpasswd file makes: a users file, and the entries left out.
type htpasswdImport struct {
	usersFile []byte
	carried   int
	refused   []refusal
}

// importHtpasswd reads an htpasswd file, which src names in errors. Its errors name src
// and the line of the htpasswd file.
func importHtpasswd(r io.Reader, src string) (*htpasswdImport, error) {
	type entry struct {
		Password string `yaml:"password"`
	}
	users := map[string]entry{}
	lineOf := map[string]int{} // every name seen, refused ones too, to its line
	imp := &htpasswdImport{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		if n == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a byte order mark, as Notepad writes
		}
		line := strings.TrimSpace(text)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s:%d: not a name:hash line", src, n)
		}
		if err := checkUsername(name); err != nil {
			return nil, fmt.Errorf("%s:%d: username %q: %w", src, n, name, err)
		}
		if first, dup := lineOf[name]; dup {
			return nil, fmt.Errorf("%s:%d: user %q is also on line %d; remove one of the "+
				"two, so that it is clear which password is theirs", src, n, name, first)
		}
		lineOf[name] = n
		// As for Apache, the hash ends at a second colon, and what follows is ignored.
		hash, _, _ := strings.Cut(rest, ":")
		if reason := refuseHash(hash); reason != "" {
			imp.refused = append(imp.refused, refusal{line: n, name: name, reason: reason})
			continue
		}
		// The users file's own loader is the judge of each entry, so that what it would
		// refuse is reported at its htpasswd line, not at a line of generated YAML.
		one, err := yaml.Marshal(map[string]any{"users": map[string]entry{name: {hash}}})
		if err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: %w", src, n, name, err)
		}
		if _, err := authn.ParseUsers(one, src); err != nil {
			var fe *authn.FileError
			if errors.As(err, &fe) {
				err = fe.Err
			}
			return nil, fmt.Errorf("%s:%d: user %q: %w", src, n, name, err)
		}
		users[name] = entry{Password: hash}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", src, n+1,
				bufio.MaxScanTokenSize)
		}
		return nil, fmt.Errorf("reading %s: %w", src, err)
	}
	// indented by two, as the users files in the docs are, so that entries pasted
	// from one into the other line up
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	err := enc.Encode(map[string]any{"users": users})
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("writing the users file: %w", err)
	}
	out := buf.Bytes()
	// What comes out must load as a users file, or it is no import.
	if _, err := authn.ParseUsers(out, "the users file made from "+src); err != nil {
		return nil, err
	}
	imp.usersFile, imp.carried = out, len(users)
	return imp, nil
}

// checkUsername applies the users file's rules for names, and refuses one too long for a
// sign-in to send.
func checkUsername(name string) error {
	switch {
	case !utf8.ValidString(name):
		return errors.New("not valid UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("contains a control character")
	case strings.TrimSpace(name) != name:
		return errors.New("has leading or trailing space")
	case len(name) > authn.MaxUsernameLength:
		return fmt.Errorf("longer than %d bytes, more than a sign-in accepts",
			authn.MaxUsernameLength)
	}
	return authn.CheckName(name)
}

// desCrypt matches a traditional DES crypt hash (htpasswd -d): two characters of salt and
// eleven of hash.
var desCrypt = regexp.MustCompile(`^[./0-9A-Za-z]{13}$`)

// htpasswdKinds names the hash kinds an htpasswd file may hold that do not carry over, by
// how they begin, and why.
var htpasswdKinds = []struct{ prefix, reason string }{
	{"$apr1$", "$apr1$ (Apache MD5, htpasswd -m) hash, too weak to keep"},
	{"{SHA}", "{SHA} (unsalted SHA-1, htpasswd -s) hash, too weak to keep"},
	{"$1$", "$1$ (MD5 crypt) hash, too weak to keep"},
	{"$5$", "$5$ (SHA-256 crypt) hash, which the gateway does not verify"},
	{"$6$", "$6$ (SHA-512 crypt) hash, which the gateway does not verify"},
	{"$2$", "$2$ (original bcrypt) hash, which the gateway does not verify"},
	{"$2x$", "$2x$ (bcrypt with the sign extension bug) hash, which the gateway does not " +
		"verify"},
}

// refuseHash returns why hash cannot carry over into the users file, or "" if it can:
// a hash the gateway verifies carries over as it is. The reason names the kind of hash
// but never repeats any of it, which may be a plaintext password.
func refuseHash(hash string) string {
	_, err := password.Parse(hash)
	switch {
	case err == nil:
		return ""
	case hash == "":
		return "no password hash"
	case errors.Is(err, password.ErrMalformed):
		// A scheme the gateway verifies, so its name is one of a few and safe to repeat;
		// the password package's errors name the flaw, never the hash.
		scheme, _, _ := strings.Cut(hash[1:], "$")
		if strings.HasPrefix(scheme, "2") {
			scheme = "bcrypt"
		}
		return fmt.Sprintf("malformed %s hash (%s)", scheme,
			after(err.Error(), password.ErrMalformed.Error()+": "))
	}
	for _, k := range htpasswdKinds {
		if strings.HasPrefix(hash, k.prefix) {
			return k.reason
		}
	}
	if desCrypt.MatchString(hash) {
		return "crypt (DES, htpasswd -d) hash, too weak to keep"
	}
	if hash[0] != '$' && hash[0] != '{' {
		return "not a hash (a plaintext password, htpasswd -p?)"
	}
	// The password package names the schemes it knows of and refuses, never the hash.
	return "hash the gateway does not verify: " +
		after(err.Error(), password.ErrUnsupported.Error()+": ")
}

// after returns what follows the first sep in s, or s if there is no sep.
func after(s, sep string) string {
	if _, rest, ok := strings.Cut(s, sep); ok {
		return rest
	}
	return s
}

// plural returns "1 user" or "n users".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
