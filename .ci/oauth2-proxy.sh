#!/usr/bin/env bash
# Builds oauth2-proxy, which the load harness (cmd/gateway-bench) measures beside the
# gateway as an authenticating peer, from the Go module proxy into
# ${XDG_CACHE_HOME:-~/.cache}/frontgate-gateway/oauth2-proxy/VERSION/oauth2-proxy, where
# the harness finds it. A build already there is kept. It needs Go; a first build takes
# about a minute on two cores. Run it (bash .ci/oauth2-proxy.sh) or source it.

oauth2_proxy_version=v7.15.6

oauth2_proxy_install() {
	local dir have
	dir="${XDG_CACHE_HOME:-$HOME/.cache}/frontgate-gateway/oauth2-proxy/$oauth2_proxy_version"
	have=
	if [ -x "$dir/oauth2-proxy" ]; then
		have="$("$dir/oauth2-proxy" --version 2>/dev/null | cut -d' ' -f2)" || have=
	fi
	if [ "$have" != "$oauth2_proxy_version" ]; then
		echo "== building oauth2-proxy $oauth2_proxy_version"
		# built as the main module, oauth2-proxy cannot tell its own version; this names it
		GOBIN="$dir" go install \
			-ldflags "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$oauth2_proxy_version" \
			"github.com/oauth2-proxy/oauth2-proxy/v7@$oauth2_proxy_version" || {
			echo "building oauth2-proxy $oauth2_proxy_version failed" >&2
			return 1
		}
	fi
	"$dir/oauth2-proxy" --version
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	oauth2_proxy_install
else
	oauth2_proxy_install || return 1
fi
