package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/frontgate/gateway/authn/totp"
)

const totpUsage = `usage: gateway totp-secret -user NAME [-issuer NAME]
`

// runTOTPSecret makes a new TOTP secret for a user: the line to put in their entry of
// the users file, and the otpauth URI for their authenticator app.
func runTOTPSecret(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway totp-secret", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "the `user` the secret is for, as the app will name it")
	issuer := fs.String("issuer", "Gateway", "the site's `name`, as the app will show it")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	var problem string
	switch {
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case *user == "":
		problem = "give -user, the name of the user the secret is for"
	case *issuer == "":
		problem = "-issuer is empty; give the site's name, as the app will show it"
	}
	if problem != "" {
		fmt.Fprintf(stderr, "gateway totp-secret: %s\n%s", problem, totpUsage)
		return 2
	}
	s := totp.NewSecret()
	fmt.Fprintf(stdout, "totp_secret: %q\n%s\n", s.String(), totp.URI(*issuer, *user, s))
	fmt.Fprintf(stderr, "Put the first line in %s's entry of the users file. Give %s the "+
		"second as a QR code\n(qrencode -t ansiutf8 'otpauth://…'), or the secret to type "+
		"into the authenticator app.\n", *user, *user)
	return 0
}
