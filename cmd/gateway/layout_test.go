package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// topLevel is every name the repository's root may hold: the packages, the examples,
// the module files, the docs, the default config and the CI scripts.
var topLevel = map[string]bool{
	".ci": true, ".gitignore": true, "LICENSE": true, "README.md": true,
	"SECURITY.md": true, "authn": true, "cmd": true, "config": true, "examples": true,
	"gateway.yaml": true, "go.mod": true, "go.sum": true, "proxy": true,
}

// TestRepositoryRoot fails when a file is committed at the root beyond the layout the
// README describes, such as what a test or a hand-run server left behind.
func TestRepositoryRoot(t *testing.T) {
	cmd := exec.Command("git", "ls-files", "--full-name", "--", ":/")
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("listing the repository's files with git: %v", err)
		}
		t.Skipf("not a git checkout, or no git: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, _, _ := strings.Cut(f, "/")
		if !topLevel[name] && !seen[name] {
			seen[name] = true
			t.Errorf("%s is committed at the repository's root, outside its layout", name)
		}
	}
	if !strings.Contains(string(out), "go.mod\n") {
		t.Errorf("git listed no go.mod; got %q", out)
	}
}
