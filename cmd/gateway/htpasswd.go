package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/frontgate/gateway/authn"
	"github.com/frontgate/gateway/authn/password"
)

// runImportHtpasswd turns an Apache htpasswd file into a users file on stdout. bcrypt
// entries ($2y$, as htpasswd -B writes) carry over as they are; MD5 ($apr1$), SHA-1
// ({SHA}) and crypt entries are too weak to keep and are listed on stderr, for their
// users to be given new passwords with hash-password.
func runImportHtpasswd(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: gateway import-htpasswd FILE > users.yaml")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "gateway import-htpasswd:", err)
		return 1
	}
	defer f.Close()

	type entry struct {
		Password string `yaml:"password"`
	}
	users := map[string]entry{}
	var skipped []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			fmt.Fprintf(stderr, "%s:%d: not a name:hash line\n", args[0], n)
			return 1
		}
		h, err := password.Parse(hash)
		if err != nil || h.Scheme() != "bcrypt" {
			skipped = append(skipped, name)
			continue
		}
		users[name] = entry{Password: hash}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(stderr, "gateway import-htpasswd:", err)
		return 1
	}
	out, err := yaml.Marshal(map[string]any{"users": users})
	if err != nil {
		fmt.Fprintln(stderr, "gateway import-htpasswd:", err)
		return 1
	}
	// What comes out must load as a users file, or it is no import.
	if _, err := authn.ParseUsers(out, "imported"); err != nil {
		fmt.Fprintln(stderr, "gateway import-htpasswd:", err)
		return 1
	}
	stdout.Write(out)
	if len(skipped) > 0 {
		fmt.Fprintf(stderr, "skipped %d user(s) whose hashes are not bcrypt (MD5, SHA-1 or "+
			"crypt are too weak to keep); give them new ones with gateway hash-password: %s\n",
			len(skipped), strings.Join(skipped, ", "))
	}
	return 0
}
