package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	stdpng "image/png"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontgate/gateway/authn/totp"
	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/examples/legacyapp"
)

// chromiumPath is where Debian's chromium package puts its launcher; .ci/chromium.sh
// installs it.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds each browser step, so a page that never loads fails the test in
// seconds instead of hanging until the package timeout.
const stepTimeout = 10 * time.Second

// newBrowser starts headless Chromium for the test and stops it when the test ends. In CI
// a missing browser is a failure; elsewhere the test is skipped.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is needed in CI (bash .ci/chromium.sh): %v", err)
		}
		t.Skipf("no chromium at %s; install it with bash .ci/chromium.sh", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		// the browser may resolve no name but loopback, so a page that reached for another
		// origin fails here instead of leaving the machine
		chromedp.Flag("host-resolver-rules",
			"MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// no timeout on the first call: its context owns the browser process
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// newTab opens a tab in a browser context of its own, so no cookie carries over from
// another subtest, and closes it when the test ends.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening tab: %v", err)
	}
	return ctx
}

// do runs steps with a deadline and fails the test on the first error.
func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates the JavaScript expression js in the page.
func eval[T any](t *testing.T, tab context.Context, js string,
	opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluating %.60q: %v", js, err)
	}
	return v
}

// submit runs steps that navigate, such as a click on a submit button, and waits for the
// new page; it returns the page's HTTP status.
func submit(t *testing.T, tab context.Context, what string,
	steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if res == nil {
		t.Fatalf("%s: no navigation", what)
	}
	return res.Status
}

func bodyText(t *testing.T, tab context.Context) string {
	t.Helper()
	return eval[string](t, tab, "document.body.innerText")
}

// colorScheme emulates prefers-color-scheme: light or dark.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

func fillLogin(user, pass string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('username').value = ''`),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), pass),
	)
}

var clickSignIn = chromedp.Click(chromedp.CSS(`form[action="/.gateway/login"] button`))

// sampleAppConfig starts the sample legacy app (examples/legacyapp) on loopback, reading
// the identity header from the config as examples/quickstart does, and returns the path
// of a config whose first route sends requests to it. extra is added to the config as
// writeConfig adds it.
func sampleAppConfig(t *testing.T, extra ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, "http://"+ln.Addr().String(), extra...)
	cfg, err := config.Load(path)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	app := &http.Server{Handler: legacyapp.Handler(cfg.IdentityHeaders.User),
		ReadHeaderTimeout: stepTimeout}
	go app.Serve(ln)
	t.Cleanup(func() { app.Close() })
	return path
}

// appIdentity reads who the sample app's page says signed in: its heading, the name it
// greets, and the X-Forwarded-User value in its table of the headers it received.
func appIdentity(t *testing.T, tab context.Context) string {
	t.Helper()
	return eval[string](t, tab, `(() => {
		const text = e => e ? e.innerText : '-';
		const row = [...document.querySelectorAll('tr')]
			.find(r => r.cells[0].innerText === 'X-Forwarded-User');
		return [text(document.querySelector('h1')), text(document.querySelector('p strong')),
			text(row && row.cells[1])].join(' / ');
	})()`)
}

// nowhere is an address where nothing listens: port 1 of loopback.
const nowhere = "http://127.0.0.1:1"

// signedInTab opens a tab in which alice has signed in at the gateway at base.
func signedInTab(t *testing.T, browser context.Context, base string) context.Context {
	t.Helper()
	tab := newTab(t, browser)
	submit(t, tab, "opening sign-in", chromedp.Navigate(base+"/.gateway/login"))
	do(t, tab, "filling the form", fillLogin("alice", "pw"))
	if status := submit(t, tab, "signing in", clickSignIn); status != 200 {
		t.Fatalf("signing in at %s: status %d, want 200", base, status)
	}
	return tab
}

// brandAccent is the accent colour of the branded pages in light mode.
const brandAccent = "#0a6b4b"

// brandCSS is a brand's stylesheet: its own accent, with the contrast the built-in one
// keeps in each scheme.
const brandCSS = `:root { --accent: ` + brandAccent + `; --accent-hover: #08543a; --focus: ` +
	brandAccent + `; }
@media (prefers-color-scheme: dark) {
  :root { --accent: #6fd6a8; --accent-hover: #9be5c3; --focus: #6fd6a8; }
}
`

// brandedConfig returns the path of a config in front of the sample app whose pages have
// a title, a logo of 160x48 px and brandCSS.
func brandedConfig(t *testing.T) string {
	t.Helper()
	path := sampleAppConfig(t, "pages:\n  title: Acme Intranet\n  logo: logo.png\n"+
		"  stylesheet: brand.css\n")
	logo := image.NewNRGBA(image.Rect(0, 0, 160, 48))
	draw.Draw(logo, logo.Bounds(), image.NewUniform(color.NRGBA{0x0a, 0x6b, 0x4b, 0xff}),
		image.Point{}, draw.Src)
	var png bytes.Buffer
	if err := stdpng.Encode(&png, logo); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	for name, data := range map[string][]byte{"logo.png": png.Bytes(),
		"brand.css": []byte(brandCSS)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// checkBrand fails the test unless the page shows the logo of brandedConfig and takes
// its accent colour from brandCSS, so that a scan of a branded page scans the branding.
func checkBrand(t *testing.T, tab context.Context) {
	t.Helper()
	got := eval[string](t, tab, `[
		document.title,
		(document.querySelector('img.logo') || {}).naturalWidth,
		getComputedStyle(document.documentElement).getPropertyValue('--accent').trim(),
	].join(' | ')`)
	if want := " · Acme Intranet | 160 | " + brandAccent; !strings.HasSuffix(got, want) {
		t.Errorf("branded page: title, logo width, accent %q, want them ending %q", got, want)
	}
}

// appSignedIn is what appIdentity reads once alice has signed in.
const appSignedIn = "Legacy app / alice / alice"

func TestBrowser(t *testing.T) {
	start := time.Now()
	// /staff/ admits bob alone, so alice gets 403 there; /down/ leads nowhere, so 502
	base := startGateway(t, sampleAppConfig(t,
		"  - path: /staff/\n    upstream: "+nowhere+"\n    allow:\n      users: [bob]\n",
		"  - path: /down/\n    upstream: "+nowhere+"\n"))
	browser := newBrowser(t)
	login := base + "/.gateway/login"

	t.Run("SignInAndOut", func(t *testing.T) {
		tab := newTab(t, browser)
		status := submit(t, tab, "opening /app/", chromedp.Navigate(base+"/app/"))
		if status != 200 {
			t.Fatalf("unauthenticated /app/: status %d, want the sign-in page (200)", status)
		}
		if got := eval[string](t, tab, "location.pathname"); got != "/.gateway/login" {
			t.Fatalf("unauthenticated /app/ led to %s, want /.gateway/login", got)
		}
		do(t, tab, "filling the form", fillLogin("alice", "pw"))
		if status := submit(t, tab, "signing in", clickSignIn); status != 200 {
			t.Fatalf("after sign-in: status %d, want 200", status)
		}
		if got := appIdentity(t, tab); got != appSignedIn {
			t.Fatalf("after sign-in the app shows %q, want %q", got, appSignedIn)
		}
		if got := eval[string](t, tab, "location.pathname"); got != "/app/" {
			t.Errorf("after sign-in: at %s, want back at /app/", got)
		}

		// the app's own link leads to the gateway's sign-out page
		submit(t, tab, "following the app's sign-out link",
			chromedp.Click(chromedp.CSS(`a[href="/.gateway/logout"]`)))
		if got := bodyText(t, tab); !strings.Contains(got, "You are signed in as alice") {
			t.Fatalf("sign-out page: %q, want the confirmation for alice", got)
		}
		submit(t, tab, "signing out",
			chromedp.Click(chromedp.CSS(`form[action="/.gateway/logout"] button`)))
		notice := eval[string](t, tab,
			`(document.querySelector('[role="status"]') || {}).textContent`)
		if notice != "You have been logged out" {
			t.Errorf("after sign-out: status %q, want %q", notice, "You have been logged out")
		}
		submit(t, tab, "opening /app/ again", chromedp.Navigate(base+"/app/"))
		if got := eval[string](t, tab, "location.pathname"); got != "/.gateway/login" {
			t.Errorf("after sign-out /app/ led to %s, want /.gateway/login", got)
		}
	})

	t.Run("FailedSignIn", func(t *testing.T) {
		tab := newTab(t, browser)
		submit(t, tab, "opening sign-in", chromedp.Navigate(login))
		do(t, tab, "filling the form", fillLogin("alice", "wrong"))
		if status := submit(t, tab, "signing in", clickSignIn); status != 401 {
			t.Errorf("wrong password: status %d, want 401", status)
		}
		alert := eval[string](t, tab,
			`(document.querySelector('[role="alert"]') || {}).textContent`)
		if alert != "Invalid credentials" {
			t.Errorf("wrong password: alert %q, want %q", alert, "Invalid credentials")
		}
		// the error is read out with each field, and focus waits in the password field
		described := eval[string](t, tab, `[...document.querySelectorAll('#username, #password')]
			.map(e => e.getAttribute('aria-describedby') + '/' + e.getAttribute('aria-invalid'))
			.join(' ')`)
		if described != "login-error/true login-error/true" {
			t.Errorf("fields: aria-describedby/aria-invalid %q, want login-error/true on both",
				described)
		}
		waitFocus(t, tab, "password")
		got := eval[string](t, tab, "document.getElementById('username').value")
		if got != "alice" {
			t.Errorf("after a failure username is %q, want alice kept", got)
		}
	})

	t.Run("KeyboardOnly", func(t *testing.T) {
		tab := newTab(t, browser)
		submit(t, tab, "opening /app/", chromedp.Navigate(base+"/app/"))

		// focus starts in the username field, and Tab walks the controls in reading
		// order, each with a visible focus ring; Shift+Tab walks back
		focused := func() string {
			t.Helper()
			id := eval[string](t, tab, "document.activeElement.id")
			ring := eval[string](t, tab, `(s => s.outlineStyle + ' ' + s.outlineWidth)(
				getComputedStyle(document.activeElement))`)
			if ring != "solid 3px" {
				t.Errorf("focus ring on %q: outline %q, want solid 3px", id, ring)
			}
			return id
		}
		waitFocus(t, tab, "username")
		order := []string{focused()}
		for range 3 {
			do(t, tab, "pressing Tab", chromedp.KeyEvent(kb.Tab))
			order = append(order, focused())
		}
		got, want := strings.Join(order, " "), "username password remember sign-in"
		if got != want {
			t.Errorf("focus order: %q, want %q", got, want)
		}
		for range 3 {
			do(t, tab, "pressing Shift+Tab", chromedp.KeyEvent(kb.Tab,
				chromedp.KeyModifiers(chromedp.ModifierShift)))
		}
		if got := focused(); got != "username" {
			t.Fatalf("after three Shift+Tab focus is on %q, want username", got)
		}

		do(t, tab, "typing", chromedp.KeyEvent("alice"), chromedp.KeyEvent(kb.Tab),
			chromedp.KeyEvent("pw"))
		submit(t, tab, "pressing Enter", chromedp.KeyEvent(kb.Enter))
		if got := appIdentity(t, tab); got != appSignedIn {
			t.Errorf("after keyboard sign-in the app shows %q, want %q", got, appSignedIn)
		}
	})

	t.Run("OneTimeCode", func(t *testing.T) {
		// erin signs in with a one-time code after her password, by keyboard alone
		const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
		path := sampleAppConfig(t)
		writeUsersFile(t, path, map[string]string{}, map[string]string{
			"erin": "    totp_secret: " + secret + "\n"})
		twoStep := startGateway(t, path)
		key, err := totp.ParseSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		axe := readAxe(t)
		tab := newTab(t, browser)
		submit(t, tab, "opening /app/", chromedp.Navigate(twoStep+"/app/"))
		waitFocus(t, tab, "username")
		do(t, tab, "typing", chromedp.KeyEvent("erin"), chromedp.KeyEvent(kb.Tab),
			chromedp.KeyEvent("pw"))
		if status := submit(t, tab, "pressing Enter", chromedp.KeyEvent(kb.Enter)); status !=
			200 {
			t.Fatalf("password step: status %d, want 200", status)
		}
		if h1 := eval[string](t, tab, "document.querySelector('h1').textContent"); h1 !=
			"Enter your code" {
			t.Fatalf("after the password: heading %q, want the code page", h1)
		}
		waitFocus(t, tab, "code")
		checkPage(t, tab)
		scanSchemes(t, tab, axe)

		do(t, tab, "typing a wrong code", chromedp.KeyEvent("000000"))
		if status := submit(t, tab, "pressing Enter", chromedp.KeyEvent(kb.Enter)); status !=
			401 {
			t.Errorf("wrong code: status %d, want 401", status)
		}
		alert := eval[string](t, tab,
			`(document.querySelector('[role="alert"]') || {}).textContent`)
		described := eval[string](t, tab, `(e => e.getAttribute('aria-describedby') + '/' +
			e.getAttribute('aria-invalid'))(document.getElementById('code'))`)
		if alert != "Invalid code" || described != "code-help code-error/true" {
			t.Errorf("wrong code: alert %q, code field %q; want %q tied to the field",
				alert, described, "Invalid code")
		}
		waitFocus(t, tab, "code")
		scanSchemes(t, tab, axe)

		do(t, tab, "typing the code", chromedp.KeyEvent(key.Code(time.Now())))
		submit(t, tab, "pressing Enter", chromedp.KeyEvent(kb.Enter))
		if got, want := appIdentity(t, tab), "Legacy app / erin / erin"; got != want {
			t.Errorf("after the code the app shows %q, want %q", got, want)
		}
	})

	t.Run("Axe", func(t *testing.T) {
		axe := readAxe(t)
		// one gateway whose Redis session store cannot be reached, and one with branding
		storeDown := startGateway(t, writeConfig(t, nowhere,
			"session:\n  store: redis\n  redis:\n    addresses: [\"127.0.0.1:1\"]\n"))
		branded := startGateway(t, brandedConfig(t))
		// pages for nobody signed in share a tab: each sign-in form is posted right after
		// it is opened, so a cookie one gateway set on 127.0.0.1 changes nothing at another
		out := newTab(t, browser)
		in, brandIn := signedInTab(t, browser, base), signedInTab(t, browser, branded)
		for _, tc := range []struct {
			name   string
			tab    context.Context
			url    string
			pass   string // when set, alice then signs in with it on the page opened
			status int64
			brand  bool
		}{
			{"sign-in", out, login, "", 200, false},
			{"failed-sign-in", out, login, "wrong", 401, false},
			{"signed-out", out, base + "/.gateway/logout", "", 200, false},
			{"404", out, base + "/.gateway/no-such-page", "", 404, false},
			{"sign-out", in, base + "/.gateway/logout", "", 200, false},
			{"403", in, base + "/staff/", "", 403, false},
			{"502", in, base + "/down/", "", 502, false},
			{"503", out, storeDown + "/.gateway/login", "pw", 503, false},
			{"branded-sign-in", out, branded + "/.gateway/login", "", 200, true},
			{"branded-failed-sign-in", out, branded + "/.gateway/login", "wrong", 401,
				true},
			{"branded-404", out, branded + "/.gateway/no-such-page", "", 404, true},
			{"branded-sign-out", brandIn, branded + "/.gateway/logout", "", 200, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				do(t, tc.tab, "emulating light", colorScheme("light"))
				status := submit(t, tc.tab, "opening "+tc.url, chromedp.Navigate(tc.url))
				if tc.pass != "" {
					do(t, tc.tab, "filling the form", fillLogin("alice", tc.pass))
					status = submit(t, tc.tab, "signing in", clickSignIn)
				}
				if status != tc.status {
					t.Fatalf("status %d, want %d", status, tc.status)
				}
				checkPage(t, tc.tab)
				if tc.brand {
					checkBrand(t, tc.tab)
				}
				scanSchemes(t, tc.tab, axe)
			})
		}
	})

	t.Run("Reflow", func(t *testing.T) {
		axe := readAxe(t)
		tab := newTab(t, browser)
		// 320 CSS px wide (WCAG 1.4.10), and a 1280x800 window at 200% zoom (1.4.4).
		// Browser zoom makes each CSS pixel two device pixels, media queries included,
		// which is what Chromium's device scale factor emulates; CSS zoom would leave
		// the media queries at 1280 px.
		for _, size := range []struct {
			name  string
			w, h  int64
			scale float64
		}{{"320px", 320, 640, 1}, {"zoom-200", 640, 400, 2}} {
			t.Run(size.name, func(t *testing.T) {
				do(t, tab, "sizing", chromedp.EmulateViewport(size.w, size.h,
					chromedp.EmulateScale(size.scale)))
				submit(t, tab, "opening sign-in", chromedp.Navigate(login))
				// a long name and its error take the most room the page gives them
				do(t, tab, "filling the form", fillLogin(strings.Repeat("a", 80), "wrong"))
				submit(t, tab, "signing in", clickSignIn)
				got := eval[string](t, tab, "innerWidth + ' CSS px at ' + devicePixelRatio")
				if want := fmt.Sprintf("%d CSS px at %v", size.w, size.scale); got != want {
					t.Fatalf("viewport %s, want %s", got, want)
				}
				checkReflow(t, tab)
				scanSchemes(t, tab, axe)
			})
		}
	})

	t.Run("Screenshots", func(t *testing.T) {
		// The test output folder at the top of the repository, kept after the run
		// (and ignored by git); GATEWAY_SCREENSHOTS names another.
		dir := os.Getenv("GATEWAY_SCREENSHOTS")
		if dir == "" {
			dir = filepath.Join("..", "..", "testdata-out", "screenshots")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		tab := newTab(t, browser)
		for _, shot := range screenshots {
			do(t, tab, "emulating", colorScheme(shot.scheme),
				chromedp.EmulateViewport(shot.w, shot.h))
			submit(t, tab, "opening sign-in", chromedp.Navigate(login))
			ctx, cancel := context.WithTimeout(tab, stepTimeout)
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			cancel()
			if err != nil {
				t.Fatalf("screenshot %s: %v", shot.name, err)
			}
			cfg, err := stdpng.DecodeConfig(bytes.NewReader(png))
			if err != nil || int64(cfg.Width) != shot.w || int64(cfg.Height) != shot.h {
				t.Errorf("screenshot %s: %dx%d (%v), want a %dx%d PNG", shot.name,
					cfg.Width, cfg.Height, err, shot.w, shot.h)
			}
			if err := os.WriteFile(filepath.Join(dir, shot.name), png, 0o644); err != nil {
				t.Fatal(err)
			}
			if *updateScreenshots {
				err := os.WriteFile(filepath.Join(keptScreenshots, shot.name), png, 0o644)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if *updateScreenshots && !t.Failed() {
			err := os.WriteFile(filepath.Join(keptScreenshots, pagesHashFile),
				[]byte(pagesHashText(pagesHash(t))), 0o644)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshots and the hash of their pages replaced in %s", keptScreenshots)
		}
		t.Logf("screenshots in %s", dir)
	})

	t.Logf("browser tests took %v", time.Since(start).Round(time.Millisecond))
}

// waitFocus waits for the element with id to take focus, as autofocus does a moment after
// the page loads.
func waitFocus(t *testing.T, tab context.Context, id string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := eval[string](t, tab, "document.activeElement.id")
		if got == id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("focus is on %q, want %q", got, id)
		}
	}
}

// checkPage fails the test when the page runs script or loaded anything from another
// origin; the gateway's pages promise neither.
func checkPage(t *testing.T, tab context.Context) {
	t.Helper()
	got := eval[string](t, tab, `[
		...[...document.scripts].map(s => 'script ' + (s.src || 'inline')),
		...performance.getEntriesByType('resource').map(e => e.name)
			.filter(u => new URL(u).origin !== location.origin),
	].join(', ')`)
	if got != "" {
		t.Errorf("page loads %s, want no script and nothing from other origins", got)
	}
}

// checkReflow fails the test when the page scrolls sideways, or when a field or the
// sign-in button, scrolled down to, is cut off or covered.
func checkReflow(t *testing.T, tab context.Context) {
	t.Helper()
	overflow := eval[int](t, tab, "document.documentElement.scrollWidth - "+
		"document.documentElement.clientWidth")
	if overflow > 0 {
		t.Errorf("%d px of horizontal scrolling, want none", overflow)
	}
	hidden := eval[string](t, tab, `['username', 'password', 'sign-in'].filter(id => {
		// scrolled down to, never sideways
		const e = document.getElementById(id), top = e.getBoundingClientRect().top;
		scrollTo(0, scrollY + top - innerHeight / 3);
		const r = e.getBoundingClientRect();
		return r.width < 1 || r.height < 1 || r.left < 0 ||
			r.right > document.documentElement.clientWidth ||
			document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) !== e;
	}).join(' ')`)
	if hidden != "" {
		t.Errorf("not fully in view: %s; want the fields and the button visible", hidden)
	}
}

// readAxe reads the vendored axe-core.
func readAxe(t *testing.T) string {
	t.Helper()
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(axe)
}

// scanSchemes runs axe-core on the page in light mode and then in dark mode, and fails
// the test on any violation.
func scanSchemes(t *testing.T, tab context.Context, axe string) {
	t.Helper()
	for _, scheme := range []string{"light", "dark"} {
		do(t, tab, "emulating "+scheme, colorScheme(scheme))
		// a scan in dark mode that saw the light colours would pass them twice
		dark := eval[bool](t, tab, "matchMedia('(prefers-color-scheme: dark)').matches")
		if dark != (scheme == "dark") {
			t.Fatalf("emulating %s: prefers-color-scheme: dark is %v", scheme, dark)
		}
		for _, v := range runAxe(t, tab, axe) {
			t.Errorf("%s: axe %s (%s): %s; at %s", scheme, v.ID, v.Impact, v.Help,
				strings.Join(v.Targets, ", "))
		}
	}
}

// axeViolation is the part of an axe-core result the test reports.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// runAxe injects axe-core into the page, unless an earlier run did, through DevTools,
// which the page's CSP does not govern, and runs the WCAG 2.2 A and AA rules and axe's
// best practices.
func runAxe(t *testing.T, tab context.Context, axe string) []axeViolation {
	t.Helper()
	if eval[bool](t, tab, "typeof axe === 'undefined'") {
		eval[chromedp.Void](t, tab, axe)
	}
	out := eval[string](t, tab, `axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
			'wcag22aa', 'best-practice']},
		resultTypes: ['violations'],
	}).then(r => JSON.stringify({
		passes: r.passes.map(p => p.id),
		violations: r.violations.map(v => ({
			id: v.id, impact: v.impact, help: v.help,
			targets: v.nodes.map(n => n.target.join(' ')),
		})),
	}))`, chromedp.EvalAwaitPromise)
	var res struct {
		Passes     []string       `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(fmt.Errorf("reading axe results: %w", err))
	}
	// a run that checked nothing would pass too; contrast is the rule most at risk
	if !slices.Contains(res.Passes, "color-contrast") &&
		!slices.ContainsFunc(res.Violations, func(v axeViolation) bool {
			return v.ID == "color-contrast"
		}) {
		t.Errorf("axe did not check color-contrast; it passed only %v", res.Passes)
	}
	return res.Violations
}
