package main

import (
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestParsePeerVersion(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{peerNginx, "nginx version: nginx/1.22.1\n", "1.22.1"},
		{peerNginx, "nginx version: nginx/1.27.4 (Ubuntu)\n", "1.27.4"},
		{peerNginx, "nginx version: openresty/1.25.3.1\n", ""},
		{peerCaddy, "v2.11.9 h1:abc=\n", "v2.11.9"},
		{peerCaddy, "v2.10.2\n", "v2.10.2"},
		{peerCaddy, "(devel)\n", ""},
		{peerOAuth2, "oauth2-proxy v7.15.6 (built with go1.26.8)\n", "v7.15.6"},
		{peerOAuth2, "oauth2-proxy undefined (built with go1.26.8)\n", ""},
		{peerOAuth2, "", ""},
	}
	for _, tt := range tests {
		if got := parsePeerVersion(tt.name, tt.out); got != tt.want {
			t.Errorf("parsePeerVersion(%q, %q) = %q, want %q", tt.name, tt.out, got, tt.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	in := []string{"v2.9.1", "v2.11.9", "v2.10.2", "v2.10", "v10.0.0"}
	slices.SortFunc(in, compareVersions)
	want := []string{"v2.9.1", "v2.10", "v2.10.2", "v2.11.9", "v10.0.0"}
	if !slices.Equal(in, want) {
		t.Errorf("sorted %q, want %q", in, want)
	}
}

// TestFamily starts a shell that starts a sleep, and checks that family finds both and
// that the sums over the family are at least the shell's own.
func TestFamily(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range family(cmd.Process.Pid)[1:] {
			syscall.Kill(p, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	pid := cmd.Process.Pid
	var f []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if f = family(pid); len(f) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(f) != 2 || f[0] != pid {
		t.Fatalf("family(%d) = %v, want the shell and its sleep", pid, f)
	}
	own, err := procMem(pid)
	if err != nil {
		t.Fatal(err)
	}
	all, err := familyMem(pid)
	if err != nil {
		t.Fatal(err)
	}
	if all.rss <= own.rss || all.peak <= own.peak {
		t.Errorf("familyMem = %+v, want more than the shell's own %+v", all, own)
	}
	if _, err := familyCPU(pid); err != nil {
		t.Error(err)
	}
	if _, err := familyCPU(0); err == nil {
		t.Error("familyCPU(0): got no error")
	}
}
