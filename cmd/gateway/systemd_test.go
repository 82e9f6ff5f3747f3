package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/frontgate/gateway/authn/password"
)

// The systemd example (examples/systemd/gateway.service) checked with systemd-analyze, on
// a copy whose ExecStart runs a gateway built by the test with a config of its own. No
// test starts the unit: that needs systemd as PID 1, which test machines and containers
// do not have.

const (
	exampleUnit = "../../examples/systemd/gateway.service"
	// the ExecStart binary and config path the example names
	unitBinary = "/usr/local/bin/gateway"
	unitConfig = "/etc/gateway/gateway.yaml"
	// maxExposure is the most systemd-analyze security may rate the unit, out of 10:
	// what it rated the example with systemd 252 (Debian 12). A newer systemd that
	// rates more settings may score higher; then measure again and say why here.
	maxExposure = 1.8
)

// systemdAnalyze returns the systemd-analyze to run. Without one the test is skipped,
// except in CI, where .ci/systemd.sh installs it and a missing one is a failure.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("systemd-analyze")
	if err == nil {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("systemd-analyze not found; .ci/systemd.sh installs it")
	}
	t.Skip("systemd-analyze not found; bash .ci/systemd.sh installs it")
	return ""
}

// buildGateway builds this command into dir and returns the binary's path.
func buildGateway(t *testing.T, dir string) string {
	t.Helper()
	goTool := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		goTool = filepath.Join(root, "bin", "go")
	}
	bin := filepath.Join(dir, "gateway")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("building the gateway: %v\n%s", err, out)
	}
	return bin
}

// writeUnitConfig writes a config for the unit to run, shaped as the unit's comments ask:
// a state_dir of its own (StateDirectory's /var/lib/gateway under systemd) and the
// secret from the environment (EnvironmentFile's GATEWAY_SECRET).
func writeUnitConfig(t *testing.T, dir string) string {
	t.Helper()
	h, err := password.Generate("pw", password.Argon2Params{Memory: 64, Time: 1,
		Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(users, []byte("users:\n  alice:\n    password: \""+h+"\"\n"),
		0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gateway.yaml")
	conf := "listen: \"127.0.0.1:0\"\n" +
		"state_dir: \"" + filepath.Join(dir, "state") + "\"\n" +
		"users:\n  file: \"" + users + "\"\n" +
		"session:\n  secrets: [\"${GATEWAY_SECRET}\"]\n" +
		"routes:\n  - upstream: \"http://127.0.0.1:9001\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeUnit writes the example unit into dir, as gateway.service, with its ExecStart
// running bin with config. Only the ExecStart line changes, and it must name the
// example's binary and config once each, so the test cannot drift from the example.
func writeUnit(t *testing.T, dir, bin, config string) string {
	t.Helper()
	text, err := os.ReadFile(exampleUnit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	n := 0
	for i, l := range lines {
		if !strings.HasPrefix(l, "ExecStart=") {
			continue
		}
		n++
		if strings.Count(l, unitBinary) != 1 || strings.Count(l, unitConfig) != 1 {
			t.Fatalf("%s: ExecStart %q does not name %s and %s once each", exampleUnit,
				l, unitBinary, unitConfig)
		}
		l = strings.Replace(l, unitBinary, bin, 1)
		lines[i] = strings.Replace(l, unitConfig, config, 1)
	}
	if n != 1 {
		t.Fatalf("%s has %d ExecStart lines, want 1", exampleUnit, n)
	}
	path := filepath.Join(dir, "gateway.service")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// unitSettings returns the settings of a unit file by section and key, each key's values
// in order. Comments and blank lines are skipped; the example continues no line.
func unitSettings(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	section := ""
	for i, l := range strings.Split(string(text), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			out[section] = map[string][]string{}
		case strings.HasSuffix(l, `\`):
			t.Fatalf("%s:%d: a continued line; unitSettings reads none", path, i+1)
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a setting: %q", path, i+1, l)
			}
			k = strings.TrimSpace(k)
			out[section][k] = append(out[section][k], strings.TrimSpace(v))
		}
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	analyze := systemdAnalyze(t)
	dir := t.TempDir()
	bin := buildGateway(t, dir)
	config := writeUnitConfig(t, dir)
	unit := writeUnit(t, dir, bin, config)
	settings := unitSettings(t, unit)

	t.Run("verify", func(t *testing.T) {
		// Without systemd as PID 1 this loads the unit and the units it names from disk,
		// as systemd would, and checks the settings and that ExecStart and ExecReload
		// name programs that exist. It exits 0 for an unknown or malformed setting, which
		// it only prints: so any output at all is a problem. The man pages are not looked
		// for and no generators run, so the machine's own setup does not matter.
		cmd := exec.Command(analyze, "verify", "--man=no", "--generators=no",
			"--recursive-errors=one", unit)
		cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0")
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})

	t.Run("security", func(t *testing.T) {
		cmd := exec.Command(analyze, "security", "--offline=true", "--no-pager", unit)
		cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0")
		out, err := cmd.CombinedOutput()
		if err != nil && strings.Contains(string(out), "--offline") {
			t.Skipf("this systemd-analyze cannot judge a unit file offline (systemd 250 "+
				"and later can): %s", out)
		}
		if err != nil {
			t.Fatalf("systemd-analyze security: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`Overall exposure level for gateway\.service: ` +
			`([0-9]+\.[0-9]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no overall exposure level in:\n%s", out)
		}
		got, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		if got > maxExposure {
			t.Errorf("exposure level %.1f, want at most %.1f:\n%s", got, maxExposure, out)
		}
	})

	t.Run("directives", func(t *testing.T) {
		// DynamicUser=yes implies several of these, and systemd-analyze security rates
		// them as set whether or not they are written; the unit states them anyway, so
		// that a reader sees them and removing DynamicUser cannot drop them silently.
		for _, tt := range []struct{ key, want string }{
			{"DynamicUser", "yes"},
			{"ProtectSystem", "strict"},
			{"NoNewPrivileges", "yes"},
			{"StateDirectory", "gateway"},
			{"StateDirectoryMode", "0700"},
			{"ProtectHome", "yes"},
			{"PrivateTmp", "yes"},
			{"UMask", "0077"},
			// the group the README has own the config and users file, which hold
			// password hashes and must not be readable by every user
			{"SupplementaryGroups", "gateway"},
		} {
			if got := settings["Service"][tt.key]; len(got) != 1 || got[0] != tt.want {
				t.Errorf("[Service] %s: got %q, want %s=%s once", tt.key, got, tt.key,
					tt.want)
			}
		}
	})

	t.Run("ExecStart", func(t *testing.T) {
		args := strings.Fields(settings["Service"]["ExecStart"][0])
		if len(args) < 2 || args[0] != bin || args[1] != "run" {
			t.Fatalf("ExecStart %q: want %s run and its flags", args, bin)
		}
		env := append(os.Environ(), "GATEWAY_SECRET=e4a1f09c3b7d2865e4a1f09c3b7d2865")

		// the same flags, to the command that only checks the config
		check := exec.Command(bin, append([]string{"check"}, args[2:]...)...)
		check.Env = env
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("gateway check %q: %v\n%s", args[2:], err, out)
		}

		// the command itself, until systemctl reload and stop would signal it
		runExecStart(t, args, env)
	})
}

// runExecStart runs the command line args with env, as systemd would start the unit, and
// checks that it serves, reloads on SIGHUP (ExecReload) and exits 0 on SIGTERM
// (systemctl stop). It is stopped by its PID.
func runExecStart(t *testing.T, args, env []string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	p := startProcess(t, cmd)
	addr := p.listening()
	res, err := http.Get("http://" + addr + "/.gateway/login")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("sign-in page: status %d, want 200", res.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if line := p.await(`msg="users file reloaded" reason=SIGHUP`); !strings.Contains(line,
		" users=1") {
		t.Errorf("reload record %q, want it to count the one user", line)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.await(`msg="gateway stopping"`)
	if err := p.exit(); err != nil {
		t.Errorf("gateway after SIGTERM: %v, want exit status 0:\n%s", err,
			strings.Join(p.log, "\n"))
	}
}
