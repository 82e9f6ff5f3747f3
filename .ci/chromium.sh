#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (proxy/server/browser_test.go), which
# start a headless browser of their own at /usr/bin/chromium. The packages it pulls in
# (avahi-daemon among them) are kept from starting services. Run it
# (bash .ci/chromium.sh) or source it.
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

chromium_install() {
	command -v chromium >/dev/null 2>&1 || apt_install chromium || return
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
