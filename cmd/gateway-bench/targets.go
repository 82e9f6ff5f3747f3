package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/frontgate/gateway/authn/password"
)

// gatewayPkg is the command built and run as the gateway under test.
const gatewayPkg = "github.com/frontgate/gateway/cmd/gateway"

// benchUser and benchPassword sign in to the gateways; realUser signs in during the
// login flood.
const (
	benchUser     = "bench"
	benchPassword = "bench-password"
	realUser      = "alice"
	realPassword  = "alice-password"
)

// cheapArgon2 hashes the bench user's password on the gateway signed in 100,000 times
// and on the one nginx asks: it only makes their sign-ins fast. Requests that carry a
// session never check a password. The gateways measured under load have hashes of the
// default cost, as a users file written by gateway hash-password has, so that their
// idle memory is what a deployment's is.
var cheapArgon2 = password.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16,
	KeyLen: 32}

// target is one server under load: its process, where it listens, and the session it
// is driven with.
type target struct {
	name   string
	url    string // base URL, without a final slash
	cookie string // Cookie header to send, or empty
	proc   *proc
	side   *proc   // another process each request costs, such as redis-server, or nil
	idle   memInfo // memory after start, before any sign-in
}

// bench holds every process the harness started, and stops them.
type bench struct {
	o         Options
	dir       string // logs, configs and state dirs
	procs     []*proc
	up        *upstream
	bin       string // the gateway binary, or empty to run this one in the gateway role
	version   string // what the gateway binary says it is
	redis     string // redis-server's address, or empty without one
	redisProc *proc
	peers     []peer   // other proxies found, measured beside the gateway
	notes     []string // things left out, for the report

	peakLifetime bool // clear_refs was refused: peaks are since the process started
}

// close stops every process by its pid, last started first, and removes the temporary
// folder.
func (b *bench) close() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].stop()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// upstream is the app process, with one listener per target.
type upstream struct {
	proc      *proc
	control   string
	listeners map[string]string
	client    *http.Client
}

// accepts returns how many connections each listener has accepted so far.
func (u *upstream) accepts(ctx context.Context) (map[string]int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+u.control+"/accepts", nil)
	if err != nil {
		return nil, fmt.Errorf("asking for accept counts: %w", err)
	}
	res, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking for accept counts: %w", err)
	}
	defer res.Body.Close()
	var out map[string]int64
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("reading accept counts: %w", err)
	}
	return out, nil
}

// url returns the base URL of the listener for name.
func (u *upstream) url(name string) string { return "http://" + u.listeners[name] }

// Names of the targets, which are also the names of their upstream listeners.
const (
	nameBare     = "bare"
	namePooled   = "bare-pooled"
	nameSessions = "gateway-sessions"
	nameFlood    = "gateway-flood"
)

// startBench starts the upstream, the gateway binary's build and redis-server, which
// the targets need. On error, everything started so far is stopped.
func startBench(ctx context.Context, o Options) (b *bench, err error) {
	b = &bench{o: o}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if b.dir, err = os.MkdirTemp("", "gateway-bench-"); err != nil {
		return nil, fmt.Errorf("making temporary folder: %w", err)
	}
	b.findRedis()
	if err := b.findPeers(ctx); err != nil {
		return nil, err
	}

	// one upstream process, with a listener for each target
	names := []string{nameBare, namePooled}
	for _, s := range b.stores() {
		names = append(names, "gateway-"+s)
	}
	for _, p := range b.peers {
		names = append(names, p.name)
		if p.name == peerNginxAuth {
			names = append(names, authGateway)
		}
	}
	names = append(names, nameSessions, nameFlood)
	p, ready, err := startRole("upstream", roleUpstream, names, b.dir)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	b.up = &upstream{proc: p, control: ready.Control, listeners: ready.Listeners,
		client: &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{Proxy: nil}}}

	if err := b.prepareGateway(ctx); err != nil {
		return nil, err
	}
	if b.o.Redis != "" {
		if err := b.startRedis(ctx); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// stores lists the session stores measured under load: redis only when redis-server
// is there.
func (b *bench) stores() []string {
	if b.o.Redis == "" {
		return []string{"memory", "bolt"}
	}
	return []string{"memory", "bolt", "redis"}
}

// findRedis resolves o.Redis to a path, or clears it with a note when redis-server is
// not installed.
func (b *bench) findRedis() {
	if b.o.Redis == "" {
		b.notes = append(b.notes, "gateway-redis was left out: -redis-server was empty.")
		return
	}
	path, err := exec.LookPath(b.o.Redis)
	if err != nil {
		b.notes = append(b.notes, fmt.Sprintf("gateway-redis was left out: %s is not "+
			"installed (on Debian: apt-get install redis-server).", b.o.Redis))
		b.o.Redis = ""
		return
	}
	b.o.Redis = path
}

// prepareGateway builds the gateway command, unless o.Gateway names a binary or asks
// for this one, and reads its version.
func (b *bench) prepareGateway(ctx context.Context) error {
	switch b.o.Gateway {
	case gatewaySelf:
		b.version = "this binary's server.Run (-gateway self)"
		return nil
	case "":
		b.bin = filepath.Join(b.dir, "gateway")
		fmt.Println("building", gatewayPkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=true",
			"-o", b.bin, gatewayPkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the gateway: %w\n%s", err, out)
		}
	default:
		b.bin = b.o.Gateway
	}
	out, err := exec.CommandContext(ctx, b.bin, "version").Output()
	if err != nil {
		return fmt.Errorf("asking %s for its version: %w", b.bin, err)
	}
	b.version = strings.TrimSpace(string(out))
	return nil
}

// startRedis starts redis-server on a free loopback port, saving nothing to disk.
func (b *bench) startRedis(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(b.o.Redis, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", b.dir)
	p, err := startProc("redis-server", cmd, b.dir)
	if err != nil {
		return err
	}
	b.procs = append(b.procs, p)
	b.redisProc = p
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitRedis(ctx, p, addr); err != nil {
		return p.failure(err)
	}
	b.redis = addr
	return nil
}

// waitRedis waits until redis-server at addr answers PING.
func waitRedis(ctx context.Context, p *proc, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			fmt.Fprint(c, "PING\r\n")
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("redis-server did not answer PING")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startBare starts a bare reverse proxy in its own process: the floor, or with pooled
// the same with pooled copy buffers, as the gateway's routes have.
func (b *bench) startBare(ctx context.Context, pooled bool) (*target, error) {
	name, args := nameBare, []string{b.up.url(nameBare)}
	if pooled {
		name, args = namePooled, []string{b.up.url(namePooled), "pooled"}
	}
	p, ready, err := startRole(name, roleBare, args, b.dir)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	t := &target{name: name, url: "http://" + ready.Addr, proc: p}
	if t.idle, err = settle(ctx, p); err != nil {
		return nil, err
	}
	if err := checkSession(ctx, newClient(1), t.url, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	return t, nil
}

// gatewaySpec describes one gateway process to start.
type gatewaySpec struct {
	name    string                // target name, and the name of its upstream listener
	store   string                // memory, bolt or redis
	trusted bool                  // believe X-Forwarded-For from 127.0.0.1
	loose   bool                  // raise the throttle's limits above sessionWorkers
	users   map[string]string     // passwords by user name
	hash    password.Argon2Params // what the passwords are hashed with
}

// startGateway writes spec's config and users file, starts the gateway, records its
// idle memory, then signs in as benchUser.
func (b *bench) startGateway(ctx context.Context, spec gatewaySpec) (*target, error) {
	dir, addr, err := b.place(spec.name)
	if err != nil {
		return nil, err
	}
	config, err := b.writeConfig(dir, addr, spec)
	if err != nil {
		return nil, err
	}

	var cmd *exec.Cmd
	if b.bin != "" {
		cmd = exec.Command(b.bin, "run", "-config", config)
	} else {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this binary: %w", err)
		}
		cmd = exec.Command(exe, "-config", config)
		cmd.Env = append(os.Environ(), roleEnv+"="+roleGateway)
	}
	p, err := startProc(spec.name, cmd, b.dir)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	if err := waitListening(ctx, p, addr); err != nil {
		return nil, p.failure(err)
	}
	t := &target{name: spec.name, url: "http://" + addr, proc: p}
	if spec.store == "redis" {
		t.side = b.redisProc
	}

	// idle memory first, then the one sign-in the load runs with
	if t.idle, err = settle(ctx, p); err != nil {
		return nil, err
	}
	c := newClient(1)
	if t.cookie, err = signIn(ctx, c, t.url, benchUser, spec.users[benchUser], ""); err != nil {
		return nil, p.failure(err)
	}
	if err := checkSession(ctx, c, t.url, t.cookie); err != nil {
		return nil, p.failure(err)
	}
	return t, nil
}

// place makes the folder of the target name and finds it a free loopback address.
func (b *bench) place(name string) (dir, addr string, err error) {
	dir = filepath.Join(b.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("making folder of %s: %w", name, err)
	}
	port, err := freePort()
	if err != nil {
		return "", "", err
	}
	return dir, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// writeConfig writes the users file and gateway.yaml for spec into dir and returns the
// config's path. Logs go at o.GatewayLog to the process's log file.
func (b *bench) writeConfig(dir, addr string, spec gatewaySpec) (string, error) {
	var users strings.Builder
	users.WriteString("users:\n")
	for name, pw := range spec.users {
		h, err := password.Generate(pw, spec.hash)
		if err != nil {
			return "", fmt.Errorf("hashing password: %w", err)
		}
		fmt.Fprintf(&users, "  %s:\n    password: %q\n", name, h)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users.String()),
		0o600); err != nil {
		return "", fmt.Errorf("writing users file: %w", err)
	}

	var c strings.Builder
	fmt.Fprintf(&c, "listen: %q\nstate_dir: state\n", addr)
	if spec.trusted {
		c.WriteString("trusted_proxies: [\"127.0.0.1/32\"]\n")
	}
	if spec.loose {
		// Attempts in flight count as failures until they succeed, so sessionWorkers
		// sign-ins at once as one user from one address would pass the default limit
		// of 5 per user and address, and some would be refused.
		c.WriteString("throttle:\n  address_failures: 50\n  user_address_failures: 50\n" +
			"  user_failures: 50\n")
	}
	fmt.Fprintf(&c, "users:\n  file: users.yaml\nsession:\n  store: %s\n", spec.store)
	if spec.store == "redis" {
		fmt.Fprintf(&c, "  redis:\n    addresses: [%q]\n    key_prefix: %q\n",
			b.redis, "gateway-bench:"+spec.name+":")
	}
	fmt.Fprintf(&c, "log:\n  level: %s\nroutes:\n  - upstream: %q\n", b.o.GatewayLog,
		b.up.url(spec.name))
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(c.String()), 0o600); err != nil {
		return "", fmt.Errorf("writing config: %w", err)
	}
	return path, nil
}

// waitListening waits until something accepts connections at addr. It only connects,
// so the gateway has served no request when it returns.
func waitListening(ctx context.Context, p *proc, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settleTime is how long a new process is given to finish starting before its memory
// is read: a gateway hands back the memory of the password checks it makes at start a
// second after the last.
const settleTime = 2 * time.Second

// settle waits for a new process to finish starting, then returns its memory.
func settle(ctx context.Context, p *proc) (memInfo, error) {
	select {
	case <-ctx.Done():
		return memInfo{}, ctx.Err()
	case <-time.After(settleTime):
	}
	return familyMem(p.pid())
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
