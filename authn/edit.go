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
// with the error that says why, and so is a result that would not, such as a name the
// file cannot hold.
func SetPassword(data []byte, file, name, hash string, add bool) ([]byte, error) {
	users, err := ParseUsers(data, file)
	if err != nil {
		return nil, err
	}
	switch _, ok := users[name]; {
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
		if !ok {
			return nil, fmt.Errorf("%s: user %q has no password key", file, name)
		}
		value.HeadComment, value.LineComment = old.HeadComment, old.LineComment
		*old = *value
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
	if u := after[name]; u == nil || u.PasswordHash() != hash || len(after) != len(users)+
		btoi(add) {
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
