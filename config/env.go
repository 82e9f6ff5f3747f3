package config

import (
	"errors"
	"fmt"
	"strings"
)

// expandEnv replaces each ${NAME} in s with the value lookup reports for NAME, and each
// $${ with a literal ${. Any other $ is kept as it is. NAME must match
// [A-Za-z_][A-Za-z0-9_]*. A ${ without a valid name and a closing brace is an error, and
// so is a NAME that lookup does not know, since an empty secret or address is almost
// never what the author meant. Values are inserted verbatim and never expanded again.
//
// The errors never quote the value of a variable, which may be a secret.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}

		// $${ is the escape for a literal ${
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		s = s[i+2:]

		end := strings.IndexByte(s, '}')
		if end < 0 || !isEnvName(s[:end]) {
			return "", errors.New("invalid environment reference: write ${NAME}, " +
				"or $${ for a literal ${")
		}
		name := s[:end]
		v, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is %w", name, ErrUnsetEnv)
		}
		b.WriteString(v)
		s = s[end+1:]
	}
}

// bareVariable reports whether s is $NAME, a reference to a variable written as a
// shell would take it, and returns NAME. The gateway reads only ${NAME}, so such a
// value is those very characters.
func bareVariable(s string) (string, bool) {
	name, ok := strings.CutPrefix(s, "$")
	return name, ok && isEnvName(name)
}

// isEnvName reports whether s matches [A-Za-z_][A-Za-z0-9_]*.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
