package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Peers: other proxies the harness can measure beside the gateway, under the same load
// and in the same rounds, each run as its own release ships it, logging as it does by
// default. nginx and Caddy only pass requests on; oauth2-proxy, like the gateway, lets
// a request through only with a session cookie, which it keeps in the cookie itself.
const (
	peerNginx  = "nginx"
	peerCaddy  = "caddy"
	peerOAuth2 = "oauth2-proxy"
	// peerNginxAuth is nginx run from examples/nginx, asking a gateway on the memory
	// store about each request (auth_request): the gateway behind nginx, signed in.
	peerNginxAuth = "nginx-auth"
)

// peerNames lists the peers in the order they are measured.
var peerNames = []string{peerNginx, peerNginxAuth, peerCaddy, peerOAuth2}

// authGateway is the name of the gateway that nginx-auth asks, and of its upstream
// listener, which it never uses: nginx sends the requests it allows to the app itself.
const authGateway = "nginx-auth-gateway"

// peer is one peer found on this machine.
type peer struct {
	name    string // one of peerNames; also its target's and upstream listener's name
	bin     string
	version string
}

// what describes how the peer is run, for the report.
func (p peer) what() string {
	switch p.name {
	case peerNginx:
		return "proxy_pass to an upstream block of 64 keep-alive connections, a worker " +
			"per core, access log on; no sign-in"
	case peerNginxAuth:
		return "examples/nginx as it is (auth_request to a gateway on the memory store, " +
			"keep-alive to both), a worker per core, access log on; signed in"
	case peerCaddy:
		return "reverse_proxy with its defaults, admin endpoint off; no sign-in"
	default:
		return "signed in through its htpasswd form (bcrypt), sessions in the cookie " +
			"(its default), request log on; each request's cookie is decrypted and checked"
	}
}

// findPeers resolves o.Peers to the peers to measure: "auto" takes each one found and
// notes the others, "none" takes none, and a comma-separated list takes those named,
// each of which must be found.
func (b *bench) findPeers(ctx context.Context) error {
	var want []string
	auto := false
	switch b.o.Peers {
	case "", "none":
		return nil
	case "auto":
		want, auto = peerNames, true
	default:
		for _, s := range strings.Split(b.o.Peers, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(peerNames, s) {
				return fmt.Errorf("-peers: unknown peer %q; known: %s", s,
					strings.Join(peerNames, ", "))
			}
			want = append(want, s)
		}
	}
	for _, name := range want {
		p, err := locatePeer(ctx, name)
		if err != nil && auto {
			b.notes = append(b.notes, fmt.Sprintf("%s was left out: %v.", name, err))
			continue
		}
		if err != nil {
			return fmt.Errorf("-peers: %s: %w", name, err)
		}
		b.peers = append(b.peers, p)
	}
	return nil
}

// locatePeer finds the binary of peer name on PATH, where Debian puts it, or where
// .ci/caddy.sh and .ci/oauth2-proxy.sh build it, and asks it for its version.
func locatePeer(ctx context.Context, name string) (peer, error) {
	places := []string{name}
	switch name {
	case peerNginxAuth:
		places = []string{"nginx", "/usr/sbin/nginx"}
		fallthrough
	case peerNginx:
		places = append(places, "/usr/sbin/nginx")
	case peerCaddy, peerOAuth2:
		if cache, err := os.UserCacheDir(); err == nil {
			built, _ := filepath.Glob(filepath.Join(cache, "frontgate-gateway", name, "*",
				name))
			// the newest release first
			slices.SortFunc(built, func(a, b string) int {
				return compareVersions(filepath.Base(filepath.Dir(b)),
					filepath.Base(filepath.Dir(a)))
			})
			places = append(places, built...)
		}
	}
	for _, place := range places {
		bin, err := exec.LookPath(place)
		if err != nil {
			continue
		}
		version, err := peerVersion(ctx, name, bin)
		if err != nil {
			return peer{}, err
		}
		return peer{name: name, bin: bin, version: version}, nil
	}
	hint := map[string]string{
		peerNginx:  "apt-get install nginx-light",
		peerCaddy:  "bash .ci/caddy.sh",
		peerOAuth2: "bash .ci/oauth2-proxy.sh",
	}[name]
	return peer{}, fmt.Errorf("not installed (%s)", hint)
}

// peerVersion asks bin, a build of peer name, which release it is.
func peerVersion(ctx context.Context, name, bin string) (string, error) {
	arg := "version"
	switch name {
	case peerNginx, peerNginxAuth:
		arg = "-v"
	case peerOAuth2:
		arg = "--version"
	}
	out, err := exec.CommandContext(ctx, bin, arg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("asking %s for its version: %w", bin, err)
	}
	v := parsePeerVersion(name, string(out))
	if v == "" {
		return "", fmt.Errorf("%s printed no version: %q", bin, out)
	}
	return v, nil
}

// parsePeerVersion returns the release in what peer name printed when asked for its
// version, or "" when there is none: "nginx version: nginx/1.22.1", "v2.11.9 h1:…", or
// "oauth2-proxy v7.15.6 (built with go1.26.8)".
func parsePeerVersion(name, out string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	var v string
	if name == peerNginx || name == peerNginxAuth {
		_, v, _ = strings.Cut(line, "nginx/")
		v, _, _ = strings.Cut(v, " ")
	} else if f := strings.Fields(strings.TrimPrefix(line, "oauth2-proxy ")); len(f) > 0 {
		v = f[0]
	}
	// a release starts with its major number; "undefined" is what a build says that was
	// not told its own
	if n := strings.TrimPrefix(v, "v"); n == "" || n[0] < '0' || n[0] > '9' {
		return ""
	}
	return v
}

// compareVersions orders release names such as v2.10.2 and v2.9.1 by their numbers.
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// startPeer starts p in front of its upstream listener on a free loopback port,
// records its idle memory and, for oauth2-proxy, signs in.
func (b *bench) startPeer(ctx context.Context, p peer) (*target, error) {
	dir, addr, err := b.place(p.name)
	if err != nil {
		return nil, err
	}
	up := b.up.listeners[p.name]

	var cmd *exec.Cmd
	var gw *target
	switch p.name {
	case peerNginx:
		cmd, err = nginxCommand(p.bin, dir, addr, up)
	case peerNginxAuth:
		gw, err = b.startGateway(ctx, gatewaySpec{name: authGateway, store: "memory",
			trusted: true, users: map[string]string{benchUser: benchPassword},
			hash: cheapArgon2})
		if err == nil {
			cmd, err = nginxAuthCommand(p.bin, dir, addr, up,
				strings.TrimPrefix(gw.url, "http://"))
		}
	case peerCaddy:
		cmd, err = caddyCommand(p.bin, dir, addr, up)
	default:
		cmd, err = oauth2Command(p.bin, dir, addr, up)
	}
	if err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(b.dir, p.name+".out"))
	if err != nil {
		return nil, fmt.Errorf("creating output file of %s: %w", p.name, err)
	}
	defer out.Close()
	cmd.Stdout = out
	pr, err := startProc(p.name, cmd, b.dir)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, pr)
	if err := waitListening(ctx, pr, addr); err != nil {
		return nil, pr.failure(err)
	}
	t := &target{name: p.name, url: "http://" + addr, proc: pr}
	if t.idle, err = settle(ctx, pr); err != nil {
		return nil, err
	}
	c := newClient(1)
	switch p.name {
	case peerOAuth2:
		if t.cookie, err = oauth2SignIn(ctx, c, t.url); err != nil {
			return nil, pr.failure(err)
		}
	case peerNginxAuth:
		// signed in through nginx, as a browser is; the gateway's CPU time is reported
		// beside nginx's
		if t.cookie, err = signIn(ctx, c, t.url, benchUser, benchPassword, ""); err != nil {
			return nil, pr.failure(err)
		}
		t.side = gw.proc
	}
	if err := checkSession(ctx, c, t.url, t.cookie); err != nil {
		return nil, pr.failure(err)
	}
	return t, nil
}

// nginxCommand writes an nginx config into dir that proxies addr to up, and returns
// the command that runs it in the foreground. Every file nginx writes stays in dir.
func nginxCommand(bin, dir, addr, up string) (*exec.Cmd, error) {
	conf := fmt.Sprintf(`worker_processes auto;
error_log stderr warn;
pid %s;
events {
    worker_connections 1024;
}
http {
%s    upstream app {
        server %s;
        keepalive 64;
    }
    server {
        listen %s;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`, filepath.Join(dir, "nginx.pid"), nginxLocal(bin, dir), up, addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("writing nginx config: %w", err)
	}
	// on SIGTERM the master stops its workers and exits
	return exec.Command(bin, "-p", dir, "-c", path, "-e", "stderr", "-g", "daemon off;"),
		nil
}

// nginxAuthCommand writes examples/nginx/nginx.conf into dir with its addresses
// replaced: nginx listens on addr, sends what the gateway at gw allows to up, and keeps
// its files in dir. It returns the command that runs it in the foreground.
func nginxAuthCommand(bin, dir, addr, up, gw string) (*exec.Cmd, error) {
	var example []byte
	var err error
	// the harness runs from the module's root; its test, from its own folder
	for _, p := range []string{"examples/nginx/nginx.conf",
		"../../examples/nginx/nginx.conf"} {
		if example, err = os.ReadFile(p); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the nginx example (run from the module): %w", err)
	}
	conf := string(example)
	for _, r := range [][2]string{
		{"listen 80;", "listen " + addr + ";"},
		{"server 127.0.0.1:8080;", "server " + gw + ";"},
		{"server 127.0.0.1:9001;", "server " + up + ";"},
		{"\nevents {}\n", "\nworker_processes auto;\nevents {}\n"},
		{"\nhttp {\n", "\nhttp {\n" + nginxLocal(bin, dir)},
	} {
		if !strings.Contains(conf, r[0]) {
			return nil, fmt.Errorf("the nginx example no longer has %q", r[0])
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("writing nginx config: %w", err)
	}
	return exec.Command(bin, "-p", dir, "-c", path, "-e", "stderr", "-g",
		"daemon off; pid "+filepath.Join(dir, "nginx.pid")+";"), nil
}

// nginxLocal returns directives for an http block that keep nginx's access log and
// the temporary files of each module built into bin in dir.
func nginxLocal(bin, dir string) string {
	built, _ := exec.Command(bin, "-V").CombinedOutput()
	out := fmt.Sprintf("    access_log %s;\n    client_body_temp_path %s;\n",
		filepath.Join(dir, "access.log"), filepath.Join(dir, "body"))
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		if !strings.Contains(string(built), "--without-http_"+m+"_module") {
			out += fmt.Sprintf("    %s_temp_path %s;\n", m, filepath.Join(dir, m))
		}
	}
	return out
}

// caddyCommand writes a Caddyfile into dir that proxies addr to up, and returns the
// command that runs it, with dir as its home so that it writes nothing elsewhere.
func caddyCommand(bin, dir, addr, up string) (*exec.Cmd, error) {
	conf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\n\n"+
		"http://%s {\n\treverse_proxy %s\n}\n", addr, up)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("writing Caddyfile: %w", err)
	}
	cmd := exec.Command(bin, "run", "--adapter", "caddyfile", "--config", path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	return cmd, nil
}

// oauth2Command writes an htpasswd file of the bench user into dir and returns the
// command that runs oauth2-proxy on addr in front of up. Its OAuth provider is never
// reached: the bench user signs in through the htpasswd form.
func oauth2Command(bin, dir, addr, up string) (*exec.Cmd, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(benchPassword), bcrypt.MinCost)
	if err != nil {
		return nil, fmt.Errorf("hashing password: %w", err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(benchUser+":"+string(h)+"\n"),
		0o600); err != nil {
		return nil, fmt.Errorf("writing htpasswd: %w", err)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	return exec.Command(bin,
		"--http-address="+addr,
		"--upstream=http://"+up+"/",
		"--htpasswd-file="+htpasswd,
		"--email-domain=*",
		"--cookie-secret="+hex.EncodeToString(secret), // 32 characters: AES-256
		"--cookie-secure=false",                       // the load is plain HTTP
		"--client-id=bench", "--client-secret=bench",  // required; never used
	), nil
}

// oauth2SignIn signs in to oauth2-proxy at base through its htpasswd form and returns
// the Cookie header value its session cookie makes.
func oauth2SignIn(ctx context.Context, c *http.Client, base string) (string, error) {
	form := url.Values{"username": {benchUser}, "password": {benchPassword}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/oauth2/sign_in",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("signing in: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("signing in: %w", err)
	}
	res.Body.Close()
	cookie := cookieOf(res, "_oauth2_proxy")
	if res.StatusCode != http.StatusFound || cookie == "" {
		return "", fmt.Errorf("signing in: status %d without a session cookie, want 302 "+
			"with one", res.StatusCode)
	}
	return cookie, nil
}
