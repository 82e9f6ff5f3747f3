#!/usr/bin/env bash
# Builds Caddy for the forward-auth test (proxy/server/caddy_test.go), which starts a
# Caddy of its own on free loopback ports with examples/caddy/Caddyfile. The example
# needs Caddy 2.10 or later and Debian's is older, so this builds the releases below from
# the Go module proxy, each into ${XDG_CACHE_HOME:-~/.cache}/frontgate-gateway/caddy/
# VERSION/caddy, where the test finds them. A build already there is kept. It needs Go;
# a first build takes a minute or two on two cores for each release. Run it
# (bash .ci/caddy.sh) or source it.

# The oldest release the example supports, where the Caddyfile alone removes a client's
# identity headers, and a current one, where Caddy removes some of them by itself too.
caddy_versions=(v2.10.2 v2.11.9)

caddy_install() {
	local dir version have
	dir="${XDG_CACHE_HOME:-$HOME/.cache}/frontgate-gateway/caddy"
	for version in "${caddy_versions[@]}"; do
		have=
		if [ -x "$dir/$version/caddy" ]; then
			have="$("$dir/$version/caddy" version 2>/dev/null | cut -d' ' -f1)" || have=
		fi
		if [ "$have" != "$version" ]; then
			echo "== building caddy $version"
			# built as the main module, Caddy cannot tell its own version; this names it
			GOBIN="$dir/$version" go install \
				-ldflags "-X github.com/caddyserver/caddy/v2.CustomVersion=$version" \
				"github.com/caddyserver/caddy/v2/cmd/caddy@$version" || {
				echo "building caddy $version failed" >&2
				return 1
			}
		fi
		"$dir/$version/caddy" version
	done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	caddy_install
else
	caddy_install || return 1
fi
