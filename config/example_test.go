package config_test

import (
	"errors"
	"fmt"

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
