module github.com/frontgate/gateway

go 1.26.8

require (
	github.com/gorilla/securecookie v1.1.2
	golang.org/x/crypto v0.59.0
	golang.org/x/term v0.48.0
	gopkg.in/yaml.v3 v3.0.1
)

require golang.org/x/sys v0.50.0 // indirect
