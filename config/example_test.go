package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontgate/gateway/config"
)

func ExampleParse() {
	data := []byte(`users:
  file: users.yml
session:
  secrte: oops
routes:
  - upstream: http://127.0.0.1:3000
`)
	_, err := config.Parse(data, "gateway.yaml")
	fmt.Println(err)

	var e *config.Error
	if errors.As(err, &e) {
		fmt.Println(e.Line, e.Key, errors.Is(err, config.ErrUnknownKey))
	}
	// Output:
	// gateway.yaml:4: session.secrte: unknown key
	// 4 session.secrte true
}

// TestTypicalExample: the fuller example the README shows is a valid config, and the
// README shows it as the file has it.
func TestTypicalExample(t *testing.T) {
	t.Setenv("GATEWAY_SECRET", "e4a1f09c3b7d2865e4a1f09c3b7d2865")
	path := filepath.Join("..", "examples", "typical.yaml")
	if _, err := config.Load(path); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	readme, _ := os.ReadFile(filepath.Join("..", "README.md"))
	if !strings.Contains(string(readme), "```yaml\n"+string(text)+"```\n") {
		t.Error("README.md does not show examples/typical.yaml as it is")
	}
}
