package totp_test

import (
	"testing"

	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/authn/totp/ledgertest"
)

func TestMemory(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) totp.Ledger { return new(totp.Memory) })
}
