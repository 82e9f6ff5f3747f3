package page

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplatesFolderByName: the templates folder is the one its name names; [ ] and *
// in it are letters, not a pattern that could match another user's folder.
func TestTemplatesFolderByName(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "site2")
	os.Mkdir(other, 0o700)
	os.WriteFile(filepath.Join(other, "login.html"), []byte("another folder's"), 0o600)
	for _, name := range []string{"sit[e]2", "site?", "s*"} {
		_, err := NewRenderer(Brand{Templates: filepath.Join(dir, name)})
		if err == nil || !strings.Contains(err.Error(), "holds no .html file") {
			t.Errorf("%s: %v, want no templates found, where site2 matches it as a "+
				"pattern", name, err)
		}
	}
	literal := filepath.Join(dir, "sit[e]2")
	os.Mkdir(literal, 0o700)
	os.WriteFile(filepath.Join(literal, "login.html"), []byte(`{{define "x"}}{{end}}`),
		0o600)
	if _, err := NewRenderer(Brand{Templates: literal}); err != nil {
		t.Errorf("the folder named sit[e]2: %v", err)
	}
}
