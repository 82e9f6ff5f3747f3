#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (proxy/server/browser_test.go), which
# start a headless browser of their own at /usr/bin/chromium for each run; this script
# starts none, and keeps the package from starting any service it pulls in. Run it
# (bash .ci/chromium.sh) or source it from another CI script. It needs Debian or Ubuntu,
# and root or sudo.

chromium_install() {
	if ! command -v chromium >/dev/null 2>&1; then
		local sudo=() rc=0 policy=/usr/sbin/policy-rc.d
		if [ "$(id -u)" -ne 0 ]; then
			sudo=(sudo)
		fi
		echo "== installing chromium"

		# a policy-rc.d that answers 101 ("action forbidden") stops the scripts of the
		# packages chromium depends on (avahi-daemon among them) from starting their
		# services; one already in place is left alone
		local own_policy=false
		if [ ! -e "$policy" ]; then
			printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
				"${sudo[@]}" chmod 755 "$policy" && own_policy=true
		fi
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq chromium || rc=$?
		if "$own_policy"; then
			"${sudo[@]}" rm -f "$policy"
		fi
		if [ "$rc" -ne 0 ]; then
			echo "installing chromium failed" >&2
			return "$rc"
		fi
	fi
	# the Debian wrapper's dev-shm check can print "[: ...: unexpected operator" on
	# some mounts; it is harmless, so only the version line is kept
	chromium --version 2>/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	chromium_install
else
	chromium_install || return 1
fi
