#!/usr/bin/env bash
# Installs redis-server for the Redis session store tests, which start servers of their
# own on free loopback ports; this script starts none, and keeps the package from
# starting its service. Run it (bash .ci/redis.sh) or source it from another CI
# script. It needs Debian or Ubuntu, and root or sudo.

redis_install() {
	if ! command -v redis-server >/dev/null 2>&1; then
		local sudo=() rc=0 policy=/usr/sbin/policy-rc.d
		if [ "$(id -u)" -ne 0 ]; then
			sudo=(sudo)
		fi
		echo "== installing redis-server"

		# a policy-rc.d that answers 101 ("action forbidden") stops the package's
		# scripts from starting the service; one already in place is left alone
		local own_policy=false
		if [ ! -e "$policy" ]; then
			printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
				"${sudo[@]}" chmod 755 "$policy" && own_policy=true
		fi
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq redis-server || rc=$?
		if "$own_policy"; then
			"${sudo[@]}" rm -f "$policy"
		fi
		if [ "$rc" -ne 0 ]; then
			echo "installing redis-server failed" >&2
			return "$rc"
		fi
	fi
	redis-server --version
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	redis_install
else
	redis_install || return 1
fi
