#!/usr/bin/env bash
# Installs systemd-analyze for the systemd unit test (cmd/gateway/systemd_test.go), which
# checks examples/systemd/gateway.service with it; systemd itself never runs. The unit's
# ExecReload names /bin/kill, which procps provides and systemd-analyze verify requires
# to exist. Run it (bash .ci/systemd.sh) or source it.
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

systemd_install() {
	command -v systemd-analyze >/dev/null 2>&1 || apt_install systemd || return
	[ -x /bin/kill ] || apt_install procps || return
	systemd-analyze --version | sed -n 1p
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	systemd_install
else
	systemd_install || return 1
fi
