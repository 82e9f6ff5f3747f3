#!/usr/bin/env bash
# Installs nginx for the forward-auth test (proxy/server/nginx_test.go), which starts an
# nginx of its own on free loopback ports. Run it (bash .ci/nginx.sh) or source it.
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

nginx_install() {
	# nginx-light is the smallest build with auth_request; where a release no longer
	# has it, the plain package does
	if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
		apt_install nginx-light nginx || return
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
