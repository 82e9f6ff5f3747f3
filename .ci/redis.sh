#!/usr/bin/env bash
# Installs redis-server for the Redis store tests, which start servers of their own on
# free loopback ports. Run it (bash .ci/redis.sh) or source it.
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

redis_install() {
	command -v redis-server >/dev/null 2>&1 || apt_install redis-server || return
	redis-server --version
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	redis_install
else
	redis_install || return 1
fi
