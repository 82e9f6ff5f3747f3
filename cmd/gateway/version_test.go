package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	stamped := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i],
				Value: settings[i+1]})
		}
		return bi
	}
	const rev = "f407bfdec5cd0123456789abcdef0123456789ab"
	for _, tt := range []struct {
		name, version, commit string
		bi                    *debug.BuildInfo
		want                  string
	}{
		{"from the checkout", "", "", stamped("(devel)", "vcs.revision", rev,
			"vcs.modified", "false"), "devel (commit f407bfdec5cd)"},
		{"checkout with changes", "", "", stamped("(devel)", "vcs.revision", rev,
			"vcs.modified", "true"), "devel (commit f407bfdec5cd, modified)"},
		{"module version", "", "", stamped("v0.0.0-20261204210620-f407bfdec5cd",
			"vcs.revision", rev), "v0.0.0-20261204210620-f407bfdec5cd (commit f407bfdec5cd)"},
		{"tag and commit from the build", "v1.2.3", "abc1234", stamped("(devel)"),
			"v1.2.3 (commit abc1234)"},
		{"tag from the build, commit from the checkout", "v1.2.3", "", stamped("v1.2.3",
			"vcs.revision", rev), "v1.2.3 (commit f407bfdec5cd)"},
		{"nothing known", "", "", nil, "devel (commit unknown)"},
	} {
		if got := versionOf(tt.version, tt.commit, tt.bi); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestHelp: help asked for, of the gateway or of one of its commands, is shown and exits
// 0; a flag a command does not take exits 2.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"help", "-h", "-help", "--help"} {
		code, out, errOut := runCmd(t, "", arg)
		if code != 0 || !strings.Contains(out, "gateway import-htpasswd") ||
			!strings.Contains(out, "-from ADDR") || errOut != "" {
			t.Errorf("gateway %s: exit %d, stdout %q, stderr %q; want the command list",
				arg, code, out, errOut)
		}
	}
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"run", "-h"}, "-config file"},
		{[]string{"run", "-h"}, "usage: gateway run [-config FILE]"},
		{[]string{"check", "-h"}, "-config file"},
		{[]string{"check", "-h"}, "usage: gateway check [-config FILE]"},
		{[]string{"passwd", "-h"}, "-add"},
		{[]string{"passwd", "-h"}, "usage: gateway passwd [-config FILE] [-add] NAME"},
		{[]string{"passwd", "alice", "-h"}, "-add"},
		{[]string{"sessions", "list", "-h"}, "-user"},
		{[]string{"sessions", "-h"}, "gateway sessions revoke"},
		{[]string{"explain", "-h"}, "-from"},
		{[]string{"explain", "-h"}, "METHOD URL"},
		{[]string{"version", "-h"}, "usage: gateway version"},
		{[]string{"totp-secret", "-h"}, "-user"},
		{[]string{"hash-password", "-h"}, "usage: gateway hash-password"},
		{[]string{"import-htpasswd", "--help"}, "usage: gateway import-htpasswd FILE"},
	} {
		code, out, errOut := runCmd(t, "", tt.args...)
		if code != 0 || !strings.Contains(out+errOut, tt.says) {
			t.Errorf("gateway %q: exit %d, %q %q; want 0 and %q", tt.args, code, out, errOut,
				tt.says)
		}
	}
	if code, _, errOut := runCmd(t, "", "check", "-bogus"); code != 2 ||
		!strings.Contains(errOut, "flag provided but not defined: -bogus") {
		t.Errorf("check -bogus: exit %d, %q; want 2", code, errOut)
	}
}
