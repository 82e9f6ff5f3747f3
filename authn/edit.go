package authn

import (
	"bytes"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// ErrNoUser means the users file has no user of the name given.
var ErrNoUser = errors.New("no such user")

// ErrUserExists means the users file already has a user of the name given.
var ErrUserExists = errors.New("user exists")

// SetPassword returns the users file data, read from file, with the password hash of
// the user name set to hash: an existing user's, or, with add, a new user's, who must
// not exist yet. The rest of the file is kept as it was, comments included, though it
// is indented anew by two spaces. A file that does not load as a users file is refused
// with the error that says why, unless the one thing wrong with it is the password of
// the user named, which is what a new one mends; and so is a result that would not
// load, such as one with a name the file cannot hold.
func SetPassword(data []byte, file, name, hash string, add bool) ([]byte, error) {
	users, problems := parseUsers(data, file, true)
	mending := len(problems) > 0 && !add
	for _, p := range problems {
		if !mending || p.Key != "users."+name+".password" {
			return nil, p
		}
	}
	switch _, ok := users[name]; {
	case mending:
	case !ok && !add:
		return nil, fmt.Errorf("%w %q in %s", ErrNoUser, name, file)
	case ok && add:
		return nil, fmt.Errorf("%w: %q, in %s", ErrUserExists, name, file)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	list, ok := mappingValue(doc.Content[0], "users")
	if !ok {
		return nil, fmt.Errorf("%s: no users key", file)
	}
	if list.Kind != yaml.MappingNode { // "users:" with nothing under it
		*list = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if len(list.Content) == 0 {
		list.Style = 0 // "users: {}" grows into the block style people edit
	}
	value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: hash,
		Style: yaml.DoubleQuotedStyle}
	if add {
		list.Content = append(list.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name},
			&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "password"}, value}})
	} else {
		entry, ok := mappingValue(list, name)
		if !ok {
			return nil, fmt.Errorf("%w %q in %s", ErrNoUser, name, file)
		}
		old, ok := mappingValue(entry, "password")
		switch {
		case ok:
			value.HeadComment, value.LineComment = old.HeadComment, old.LineComment
			*old = *value
		case entry != nil && entry.Kind == yaml.MappingNode: // an entry without one
			entry.Content = append(entry.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "password"}, value)
		default:
			return nil, fmt.Errorf("%s: the entry of %q is not a mapping", file, name)
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("writing %s: %w", file, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", file, err)
	}
	// What comes out must load, with the new hash, or the file is not written.
	after, err := ParseUsers(out.Bytes(), file)
	if err != nil {
		return nil, err
	}
	if u := after[name]; u == nil || u.PasswordHash() != hash ||
		!mending && len(after) != len(users)+btoi(add) {
		return nil, fmt.Errorf("%s: the edited file does not hold the new password of %q",
			file, name)
	}
	return out.Bytes(), nil
}

// mappingValue returns the value of key in the mapping m, and whether it is there.
func mappingValue(m *yaml.Node, key string) (*yaml.Node, bool) {
	if m.Kind != yaml.MappingNode {
		return nil, false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1], true
		}
	}
	return nil, false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
