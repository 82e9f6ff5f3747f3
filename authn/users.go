package authn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"

	"github.com/frontgate/gateway/authn/password"
	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/config/yamlerr"
)

// User is one account from the users file. A User is never modified after it is loaded,
// so it is safe to share between goroutines.
type User struct {
	// Name is the username, the key of the entry in the users file.
	Name string
	// DisplayName is the name shown to people; it may be empty.
	DisplayName string
	// Email is the user's address; it may be empty.
	Email string
	// Groups lists the groups the user belongs to, in file order, without duplicates.
	Groups []string
	// Disabled users cannot sign in, and their existing sessions end.
	Disabled bool

	// TOTP is the user's shared secret for one-time codes, from totp_secret; nil when
	// the user signs in with a password alone.
	TOTP totp.Secret

	encoded   string
	hash      password.Hash
	groupList string // Groups joined with commas
	binding   string // see Binding
}

// GroupList returns the groups joined with commas, as they travel in one header.
func (u *User) GroupList() string {
	if u.groupList == "" && len(u.Groups) > 0 {
		return strings.Join(u.Groups, ",")
	}
	return u.groupList
}

// PasswordHash returns the user's stored password hash in its encoded form. It must
// never be logged or shown.
func (u *User) PasswordHash() string { return u.encoded }

// Binding returns what a session is bound to: the stored password hash, and the TOTP
// secret when the user has one. Sessions keep a keyed digest of it, so that changing the
// password, or adding, changing or removing the secret, ends every session of the user.
// Without a secret it is the password hash itself, so that sessions made before secrets
// existed stay valid. It must never be logged or shown.
func (u *User) Binding() string {
	if u.binding == "" {
		return u.encoded
	}
	return u.binding
}

// LogValue keeps everything but the username out of logs.
func (u *User) LogValue() slog.Value { return slog.StringValue(u.Name) }

// FileError reports a problem in a users file at a line and key.
type FileError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FileError) Unwrap() error { return e.Err }

// authelia lists the per-user keys of Authelia's users file format that the gateway
// accepts and ignores, so an existing Authelia file loads unchanged.
var authelia = map[string]bool{
	"given_name": true, "middle_name": true, "family_name": true, "nickname": true,
	"gender": true, "birthdate": true, "website": true, "profile": true, "picture": true,
	"zoneinfo": true, "locale": true, "phone_number": true, "phone_extension": true,
	"address": true, "extra": true,
}

// MaxUsersFile bounds the users file so a mistaken path (a disk image, say) fails fast:
// a larger one is refused.
const MaxUsersFile = 64 << 20

// ReadUsersFile reads and parses a users file. Every problem is a *FileError.
func ReadUsersFile(path string) (map[string]*User, error) {
	return readUsersFile(path, false)
}

// ReadUsersFileAll is ReadUsersFile that goes on past a problem with a user: its error,
// when the file can be read, joins ([errors.Join]) a *FileError for each problem of
// every user, or is the one problem of a file that is not a users file at all.
func ReadUsersFileAll(path string) (map[string]*User, error) {
	return readUsersFile(path, true)
}

// readUsersFile is ReadUsersFile, or with all ReadUsersFileAll.
func readUsersFile(path string, all bool) (map[string]*User, error) {
	data, _, err := readUsersBytes(path)
	if err != nil {
		return nil, err
	}
	return usersFrom(data, path, all)
}

// readUsersBytes returns what the users file at path holds, and its status. A file
// that is not a regular file (a pipe would stall the read, a device never end it) or
// is larger than MaxUsersFile is refused, from its status where it can be.
func readUsersBytes(path string) ([]byte, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading users file: %w", err)
	}
	if err := usable(fi); err != nil {
		return nil, nil, &FileError{File: path, Err: err}
	}
	// opened without waiting, and judged again by what was opened: the file may have
	// been replaced since the look above
	f, fi, err := config.OpenPlain(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading users file: %w", err)
	}
	defer f.Close()
	if err := usable(fi); err != nil {
		return nil, nil, &FileError{File: path, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxUsersFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading users file: %w", err)
	}
	if len(data) > MaxUsersFile {
		return nil, nil, &FileError{File: path, Err: errTooLarge}
	}
	return data, fi, nil
}

// usersFrom parses data, the users file at path, as readUsersFile does.
func usersFrom(data []byte, path string, all bool) (map[string]*User, error) {
	users, problems := parseUsers(data, path, all)
	switch {
	case len(problems) == 0:
		return users, nil
	case !all:
		return nil, problems[0]
	}
	// found key by key, then value by value: told in the file's order
	slices.SortStableFunc(problems, func(a, b *FileError) int { return a.Line - b.Line })
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return nil, errors.Join(errs...)
}

// ParseUsers parses users file content in Authelia's format:
//
//	users:
//	  alice:
//	    displayname: "Alice"
//	    password: "$argon2id$v=19$m=19456,t=2,p=1$..."
//	    email: alice@example.com
//	    groups: [staff]
//	    disabled: false
//	    totp_secret: "..." # the gateway's own key: a second step of one-time codes
//
// Unknown keys, unsupported hash schemes, control characters in names, emails or groups,
// and commas in group names are errors that name the user. file only labels errors.
func ParseUsers(data []byte, file string) (map[string]*User, error) {
	users, problems := parseUsers(data, file, false)
	if len(problems) > 0 {
		return nil, problems[0]
	}
	return users, nil
}

// parseUsers is ParseUsers that returns its problems as a list: the first alone, or,
// with all, every problem of every user.
func parseUsers(data []byte, file string, all bool) (map[string]*User, []*FileError) {
	var problems []*FileError
	users, err := parseUsersInto(data, file, func(err error) bool {
		problems = append(problems, err.(*FileError))
		return all
	})
	if err != nil {
		problems = append(problems, err.(*FileError))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return users, nil
}

// parseUsersInto parses a users file, passing each problem with a user to keep, which
// says whether to go on past it; a problem that ends the parse is returned.
func parseUsersInto(data []byte, file string,
	keep func(error) bool) (map[string]*User, error) {
	fail := func(n *yaml.Node, key string, err error) error {
		line := 0
		if n != nil {
			line = n.Line
		}
		return &FileError{File: file, Line: line, Key: key, Err: err}
	}

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FileError{File: file, Line: 1, Err: errors.New("file is empty; " +
				"a users file starts with users:")}
		}
		line, msg := yamlerr.Syntax(data, err)
		return nil, &FileError{File: file, Line: line, Err: errors.New("invalid YAML: " + msg)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		line, msg := yamlerr.Syntax(data, err)
		return nil, &FileError{File: file, Line: line, Err: errors.New("invalid YAML: " + msg)}
	default:
		return nil, fail(&extra, "", errors.New("more than one YAML document"))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fail(root, "", errors.New("expected a mapping with a users key"))
	}

	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "users" {
			if looksLikeUser(v) {
				return nil, fail(k, k.Value, errors.New("unknown key; a user's entry goes "+
					"under users:, indented below it"))
			}
			return nil, fail(k, k.Value, unknownKey(k.Value, "users"))
		}
		if list != nil {
			// the second would drop every user of the first without a word
			return nil, fail(k, "users", fmt.Errorf("duplicate key, first set on line %d",
				root.Content[i-2].Line))
		}
		list = v
	}
	if list == nil {
		return nil, fail(root, "users", errors.New("missing"))
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return map[string]*User{}, nil
	}
	if list.Kind != yaml.MappingNode {
		return nil, fail(list, "users", errors.New("expected a mapping of usernames"))
	}

	users := make(map[string]*User, len(list.Content)/2)
	seen := make(map[string]bool, len(list.Content)/2)
	failed := false
	for i := 0; i+1 < len(list.Content); i += 2 {
		k, v := list.Content[i], list.Content[i+1]
		key := "users." + k.Value
		var err error
		switch {
		case k.Kind != yaml.ScalarNode || k.Style&yaml.TaggedStyle != 0 || k.Tag == "!!null":
			// an alias, a tag or a null as the key: other YAML readers would take another
			// name from it (the anchored one, the decoded bytes, none)
			err = fail(k, "users", fmt.Errorf("username %q: write the name itself, with no "+
				"alias, tag or null", k.Value))
		case k.Value == "":
			err = fail(k, "users", fmt.Errorf("username %q: empty", k.Value))
		case CheckName(k.Value) != nil:
			err = fail(k, "users", fmt.Errorf("username %q: %w", k.Value, CheckName(k.Value)))
		case seen[k.Value]:
			err = fail(k, key, errors.New("user defined twice"))
		}
		seen[k.Value] = true
		if err != nil {
			failed = true
			if !keep(err) {
				return nil, nil
			}
			continue
		}
		u, ok := parseUser(k, v, key, fail, keep)
		switch {
		case u != nil:
			users[u.Name] = u
		case !ok:
			return nil, nil
		default:
			failed = true
		}
	}
	if failed {
		return nil, nil
	}
	return users, nil
}

// parseUser parses the entry n of the user whose name is nameNode, at key, passing each
// problem to keep; it returns the user, or nil and whether keep said to go on.
func parseUser(nameNode, n *yaml.Node, key string,
	fail func(*yaml.Node, string, error) error, keep func(error) bool) (*User, bool) {
	name := nameNode.Value
	if n.Kind != yaml.MappingNode {
		return nil, keep(fail(n, key, errors.New("expected a mapping")))
	}
	u := &User{Name: name}
	var pwNode *yaml.Node
	failed := false
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fk := key + "." + k.Value
		var err error
		if first, again := seen[k.Value]; again {
			// the later would win without a word: "disabled: true" undone below it
			failed = true
			if !keep(fail(k, fk, fmt.Errorf("duplicate key, first set on line %d", first))) {
				return nil, false
			}
			continue
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "displayname":
			err = decodeText(v, &u.DisplayName)
		case "email":
			err = decodeText(v, &u.Email)
		case "password":
			pwNode = v
			err = decodeText(v, &u.encoded)
		case "disabled":
			u.Disabled, err = decodeBool(v)
		case "groups":
			u.Groups, err = decodeGroups(v)
			u.groupList = strings.Join(u.Groups, ",")
		case "totp_secret":
			var text string
			if err = decodeText(v, &text); err == nil && text != "" {
				// the error says what is wrong, never the secret
				u.TOTP, err = totp.ParseSecret(text)
				if err != nil {
					err = fmt.Errorf("%w; make one with gateway totp-secret", err)
				}
			}
		default:
			switch {
			case authelia[k.Value]:
			case looksLikeUser(v):
				err = fmt.Errorf("unknown key; %s looks like a user of its own, indented "+
					"under %s: indent it as %s is (%d spaces)", k.Value, name, name,
					nameNode.Column-1)
			default:
				err = unknownKey(k.Value, userKeys...)
			}
		}
		if err != nil {
			failed = true
			if !keep(fail(k, fk, err)) {
				return nil, false
			}
		}
	}
	if pwNode == nil || u.encoded == "" {
		return nil, keep(fail(n, key+".password", errors.New("missing")))
	}
	h, err := password.Parse(u.encoded)
	if err != nil {
		// The error names the scheme but never the hash itself.
		return nil, keep(fail(pwNode, key+".password",
			fmt.Errorf("%w; make a hash with gateway hash-password", err)))
	}
	if failed {
		return nil, true
	}
	u.hash = h
	if u.TOTP != nil {
		u.binding = u.encoded + "\x00totp\x00" + u.TOTP.String()
	}
	return u, true
}

// looksLikeUser reports whether n, the value of a key at the top of a users file, is a
// mapping with a key only a user's entry has: a user written without the users: above.
func looksLikeUser(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		if slices.Contains(userKeys, n.Content[i].Value) {
			return true
		}
	}
	return false
}

// userKeys are the keys of a user that the gateway reads.
var userKeys = []string{"displayname", "email", "password", "disabled", "groups",
	"totp_secret"}

// unknownKey is the error for key, which is none of known, suggesting the one it most
// likely meant.
func unknownKey(key string, known ...string) error {
	if near := yamlerr.Nearest(key, slices.Values(known)); near != "" {
		return fmt.Errorf("unknown key; did you mean %s?", near)
	}
	return errors.New("unknown key")
}

func decodeText(n *yaml.Node, dst *string) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be a single value")
	}
	if n.Tag != "!!null" {
		*dst = n.Value
	}
	return checkText(*dst)
}

// decodeBool accepts only true and false: YAML 1.1's yes, no, on and off are refused, as
// is a quoted "true", so that what a user is cannot hang on a reading of YAML.
func decodeBool(n *yaml.Node) (bool, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		switch n.Value {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		}
	}
	return false, fmt.Errorf("must be true or false, not %q", n.Value)
}

func decodeGroups(n *yaml.Node) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, errors.New("must be a list of group names, such as [staff, admins]")
	}
	groups := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			return nil, errors.New("must be a list of group names, such as [staff, admins]")
		}
		groups = append(groups, item.Value)
	}
	seen := make(map[string]bool, len(groups))
	out := groups[:0]
	for _, g := range groups {
		if g == "" {
			return nil, errors.New("empty group name")
		}
		if err := checkText(g); err != nil {
			return nil, fmt.Errorf("group %q: %w", g, err)
		}
		// Groups travel comma-separated in one header; a comma would forge a second group.
		if strings.Contains(g, ",") {
			return nil, fmt.Errorf("group %q: contains a comma", g)
		}
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out, nil
}

// checkText refuses values that would corrupt a header or a log line when passed on.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("contains a control character")
		}
	}
	if strings.TrimSpace(s) != s {
		return errors.New("has leading or trailing space")
	}
	return nil
}

// CheckName returns why s cannot be a username of the users file, or nil. It is checkText
// for a username, which must also hide no character, and be read as a name by every
// YAML reader: no character that shows as nothing or as a blank (a zero-width space, a
// byte-order mark, a variation selector, a Hangul filler, a braille blank, any space but
// the plain one, a line or paragraph separator), one form only of each accented letter
// (Unicode's composed form, NFC), no compatibility character that sign-in reads as
// another (NFKC), not "<<", a merge key to YAML 1.1 readers, and letters of one script
// (see checkScripts). Names that pass for each other are LookAlikes' to find.
func CheckName(s string) error {
	if err := checkText(s); err != nil {
		return err
	}
	for _, r := range s {
		if r != ' ' && (r == '\u2800' || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp,
			unicode.Zs, unicode.Other_Default_Ignorable_Code_Point,
			unicode.Variation_Selector)) {
			return fmt.Errorf("contains the invisible character %U", r)
		}
	}
	if !norm.NFC.IsNormalString(s) {
		return errors.New("is not in Unicode's composed form (NFC): an accented letter " +
			"is written as a letter and a separate accent")
	}
	if err := checkCompatibility(s); err != nil {
		return err
	}
	if s == "<<" {
		return errors.New("is a YAML merge key")
	}
	return checkScripts(s)
}

// dummies returns the hashes unknown usernames are checked against: one per user, in
// name order, each of the same cost as that user's own hash. An unknown name is mapped
// to one of them by a keyed hash of the name, so unknown names cost what known ones do in
// the same proportions. Were there one dummy, a user whose hash has another cost (an old
// bcrypt hash among argon2id ones, say) would stand out from every unknown name.
func dummies(users map[string]*User) ([]password.Hash, error) {
	hashBegins()
	defer hashEnds()
	if len(users) == 0 {
		enc, err := password.Generate(randomSecret(), password.DefaultArgon2)
		if err != nil {
			return nil, err
		}
		h, err := password.Parse(enc)
		return []password.Hash{h}, err
	}
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	byCost := map[string]password.Hash{}
	out := make([]password.Hash, len(names))
	for i, n := range names {
		u := users[n]
		c := costKey(u.encoded)
		if byCost[c] == nil {
			d, err := password.SameCost(u.hash)
			if err != nil {
				return nil, err
			}
			byCost[c] = d
		}
		out[i] = byCost[c]
	}
	return out, nil
}

// costKey is the part of an encoded hash that decides its cost: the scheme and its
// parameters, without salt or key.
func costKey(encoded string) string {
	parts := strings.Split(encoded, "$")
	if len(parts) < 4 {
		return encoded
	}
	if strings.HasPrefix(parts[1], "2") { // bcrypt: $2b$10$...
		// $2a$, $2b$ and $2y$ differ in how old implementations treated some
		// passwords, not in what checking one costs
		return "$2b$" + parts[2]
	}
	return strings.Join(parts[:len(parts)-2], "$")
}
