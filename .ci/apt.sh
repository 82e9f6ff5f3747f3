#!/usr/bin/env bash
# Shared by the CI install scripts: apt_install installs Debian packages for tests that
# start servers of their own, and keeps the packages' scripts from starting any
# service (a policy-rc.d answering 101, "action forbidden"; one already in place is
# left alone). It needs Debian or Ubuntu, and root or sudo. Source it; do not run it.
#
#   apt_install PACKAGE [FALLBACK]   install PACKAGE, or FALLBACK if PACKAGE fails

apt_install() {
	local sudo=() rc=0 policy=/usr/sbin/policy-rc.d own_policy=false
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	echo "== installing $1"
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
			"${sudo[@]}" chmod 755 "$policy" && own_policy=true
	fi
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
	"${apt[@]}" update -qq || rc=$?
	if [ "$rc" -eq 0 ]; then
		"${apt[@]}" install -y -qq "$1" ||
			{ [ -n "${2:-}" ] && "${apt[@]}" install -y -qq "$2"; } ||
			rc=$?
	fi
	if "$own_policy"; then
		"${sudo[@]}" rm -f "$policy"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "installing $1 failed" >&2
	fi
	return "$rc"
}
