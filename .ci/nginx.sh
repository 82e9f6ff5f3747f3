#!/usr/bin/env bash
# Installs nginx for the nginx forward-auth test (proxy/server/nginx_test.go), which
# starts an nginx of its own on free loopback ports with a config it writes; this script
# starts none, and keeps the package from starting its service. Run it (bash
# .ci/nginx.sh) or source it from another CI script. It needs Debian or Ubuntu, and root
# or sudo.

nginx_install() {
	if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
		local sudo=() rc=0 policy=/usr/sbin/policy-rc.d
		if [ "$(id -u)" -ne 0 ]; then
			sudo=(sudo)
		fi
		echo "== installing nginx"

		# a policy-rc.d that answers 101 ("action forbidden") stops the package's
		# scripts from starting the service; one already in place is left alone
		local own_policy=false
		if [ ! -e "$policy" ]; then
			printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
				"${sudo[@]}" chmod 755 "$policy" && own_policy=true
		fi
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
		# nginx-light is the smallest build with auth_request; where a release no
		# longer has it, the plain package does
		if [ "$rc" -eq 0 ]; then
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends nginx-light ||
				"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
					apt-get install -y -qq --no-install-recommends nginx || rc=$?
		fi
		if "$own_policy"; then
			"${sudo[@]}" rm -f "$policy"
		fi
		if [ "$rc" -ne 0 ]; then
			echo "installing nginx failed" >&2
			return "$rc"
		fi
	fi
	# Debian puts nginx in /usr/sbin, which a plain user's PATH may lack
	if command -v nginx >/dev/null 2>&1; then
		nginx -v 2>&1
	else
		/usr/sbin/nginx -v 2>&1
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	nginx_install
else
	nginx_install || return 1
fi
