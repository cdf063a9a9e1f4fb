package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidcrp/oidcrp/internal/hydra"
)

// envBrowser, set to "1", turns on TestBrowser outside CI (it also needs
// OIDCRP_HYDRA=1).
const envBrowser = "OIDCRP_BROWSER"

// envChromium overrides the Chromium binary TestBrowser runs.
const envChromium = "OIDCRP_CHROMIUM"

// defaultChromium is where Debian's chromium package puts the browser.
const defaultChromium = "/usr/bin/chromium"

// chromiumOrSkip returns the Chromium binary to run, or skips t when the
// browser test is not wanted or, outside CI, when Chromium is missing.
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	if !hydra.Enabled() {
		t.Skip("set OIDCRP_HYDRA=1 and OIDCRP_BROWSER=1 to log in with a real Chromium")
	}
	if !ci && os.Getenv(envBrowser) != "1" {
		t.Skip("set OIDCRP_BROWSER=1 to log in with a real Chromium")
	}
	path := os.Getenv(envChromium)
	if path == "" {
		path = defaultChromium
	}
	if _, err := exec.LookPath(path); err != nil {
		if ci {
			t.Fatalf("Chromium is needed under CI=true (apt-get install chromium, or set %s): %v", envChromium, err)
		}
		t.Skipf("Chromium not found (apt-get install chromium, or set %s): %v", envChromium, err)
	}
	return path
}

// TestBrowser logs in and out of the demo with a real Chromium: the app on
// localhost, Hydra and its login pages on 127.0.0.1, so the provider's
// redirect back to /callback is a cross-site navigation that must still
// carry the app's SameSite=Lax login-state cookie.
func TestBrowser(t *testing.T) {
	chromium := chromiumOrSkip(t)
	d := startDemo(t)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// The test's hosts are loopback addresses: resolve nothing else, so
		// the browser's own background services make no lookups at all.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.Flag("dns-prefetch-disable", true),
		chromedp.Flag("disable-ipv6", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	// Cancelling the allocator kills the browser and waits for it to exit;
	// the deferred calls run before t.TempDir is removed.
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	// The first Do starts the browser and binds it to bctx; later steps
	// get their own timeouts derived from it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium %s: %v", chromium, err)
	}

	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, currentPage(bctx))
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 5*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v\n%s", sel, err, currentPage(bctx))
		}
		return strings.TrimSpace(s)
	}
	location := func() string {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 5*time.Second)
		defer cancel()
		loc, err := chromedp.Run(sctx, chromedp.Location())
		if err != nil {
			t.Fatalf("read the location: %v\n%s", err, currentPage(bctx))
		}
		return loc
	}

	step("open the home page",
		chromedp.Navigate(d.appURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")))
	step("click Log in",
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := location(); !strings.HasPrefix(loc, "http://127.0.0.1:") || !strings.Contains(loc, "/login?login_challenge=") {
		t.Fatalf("the login form is at %s, want the provider's login page on 127.0.0.1", loc)
	}
	step("sign in as alice",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "alice-password"),
		chromedp.Click(chromedp.CSS(`button[value="login"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	step("allow on the consent page",
		chromedp.Click(chromedp.CSS(`button[value="allow"]`)),
		chromedp.WaitVisible(chromedp.CSS("#greeting")))

	if loc := location(); loc != d.appURL+"/" {
		t.Errorf("after login the browser is at %s, want %s/", loc, d.appURL)
	}
	checks := []struct {
		name, sel, want string
	}{
		{"greeting", "#greeting", "Alice Example"},
		{"email", "#email", "alice@example.com"},
		{"subject", "#sub", "alice"},
	}
	for _, c := range checks {
		if got := text(c.sel); !strings.Contains(got, c.want) {
			t.Errorf("%s (%s) = %q, want it to show %q\n%s", c.name, c.sel, got, c.want, currentPage(bctx))
		}
	}
	saveScreenshot(t, bctx, "logged-in.png")

	// Logging out ends the app's session and then Hydra's (RP-initiated
	// logout), whose page asks for confirmation.
	step("click Log out",
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="yes"]`)))
	if loc := location(); !strings.HasPrefix(loc, "http://127.0.0.1:") || !strings.Contains(loc, "/logout?logout_challenge=") {
		t.Errorf("the logout confirmation is at %s, want the provider's logout page on 127.0.0.1", loc)
	}
	step("confirm the logout",
		chromedp.Click(chromedp.CSS(`button[value="yes"]`)),
		chromedp.WaitVisible(chromedp.CSS("#logged-out")))
	if loc := location(); loc != d.appURL+"/logout/done" && !strings.HasPrefix(loc, d.appURL+"/logout/done?") {
		t.Errorf("after logout the browser is at %s, want %s/logout/done", loc, d.appURL)
	}
	if got := text("#logged-out"); got != "You are logged out" {
		t.Errorf("the logged-out page says %q, want %q", got, "You are logged out")
	}
	step("the home page offers Log in again",
		chromedp.Navigate(d.appURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login")))
	step("Hydra asks for the password again",
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#password")))

	// Close the browser gracefully before the deferred kills.
	cctx, ccancel := context.WithTimeout(bctx, 10*time.Second)
	defer ccancel()
	if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("close Chromium: %v", err)
	}
}

// saveScreenshot writes a full-page PNG of the current page to
// <repo>/.cache/artifacts/name.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".cache", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// currentPage describes the browser's page (URL and HTML) for an error
// message; it gives up after a few seconds.
func currentPage(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	loc, err := chromedp.Run(sctx, chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(cannot read the page: %v)", err)
	}
	html, err := chromedp.Run(sctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		return fmt.Sprintf("page %s (cannot read its HTML: %v)", loc, err)
	}
	return fmt.Sprintf("page %s:\n%s", loc, html)
}

// repoRoot is the first directory at or above the working directory that
// holds a go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
