package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/tiercache/tiercache/internal/dashboard"
)

// requireBrowserEnv makes a missing Chromium a failure instead of a skip
// (CI sets it after installing Debian's chromium).
const requireBrowserEnv = "TIERCACHE_REQUIRE_BROWSER"

// screenshotEnv names a file the browser tests write a screenshot of the
// page to, for a person to look at.
const screenshotEnv = "TIERCACHE_DASHBOARD_SCREENSHOT"

// chromiumEnv names the browser to use instead of searching for one.
const chromiumEnv = "TIERCACHE_CHROMIUM"

// chromiumPath finds Debian's Chromium (or the one TIERCACHE_CHROMIUM
// names), or skips the test (fails it when TIERCACHE_REQUIRE_BROWSER=1).
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{"chromium", "/usr/bin/chromium", "chromium-browser"}
	if p := os.Getenv(chromiumEnv); p != "" {
		candidates = []string{p}
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("Chromium not found as %s (install Debian's chromium package: apt-get install chromium)",
		strings.Join(candidates, ", "))
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatalf("%s, and %s=1 requires the browser test", msg, requireBrowserEnv)
	}
	t.Skipf("%s; set %s=1 to make this a failure", msg, requireBrowserEnv)
	return ""
}

// serveDashboard starts a dashboard of src on loopback and returns it
// with its page's URL. It closes when the test ends, after the browser
// (cleanups run last registered first).
func serveDashboard(t *testing.T, src dashboard.Source, opts dashboard.Options) (*dashboard.Server, string) {
	t.Helper()
	srv, err := dashboard.New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srv, "http://" + addr.String() + "/"
}

// page is a headless Chromium tab on the dashboard, with the page's
// uncaught exceptions collected.
type page struct {
	t   *testing.T
	ctx context.Context
	url string

	mu     sync.Mutex
	errors []string // uncaught exceptions and console errors, in order
}

// openPage starts a fresh headless Chromium (its own profile folder, no
// network beyond loopback) and loads url. Everything stops when the test
// ends.
func openPage(t *testing.T, url string, budget time.Duration) *page {
	t.Helper()
	exe := chromiumPath(t)
	var out bytes.Buffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // as root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		// Chromium's own temp files (its singleton socket folder) go
		// under the test's folder too: killed at the end, it would
		// leave one folder in /tmp per run.
		chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.WindowSize(1400, 1000),
		chromedp.CombinedOutput(&syncWriter{w: &out}),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), budget)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	p := &page{t: t, ctx: tabCtx, url: url}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	if err := chromedp.Listen(tabCtx, p.collectErrors); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if err := chromedp.Do(tabCtx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	return p
}

// collectErrors runs on chromedp's reader goroutine: it only appends.
func (p *page) collectErrors(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil && ev.ExceptionDetails.Exception.Description != "" {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		msg = "console.error:"
		for _, a := range ev.Args {
			msg += " " + string(a.Value) + a.Description
		}
	default:
		return
	}
	p.mu.Lock()
	p.errors = append(p.errors, msg)
	p.mu.Unlock()
}

// noErrors fails the test if the page threw or logged an error.
func (p *page) noErrors() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errors) > 0 {
		p.t.Errorf("the page reported errors:\n%s", strings.Join(p.errors, "\n"))
	}
}

// waitTrue waits until the JavaScript expression is truthy in the page,
// with a generous deadline.
func (p *page) waitTrue(what, expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second)))
	if err != nil {
		p.screenshot("-failed")
		p.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, p.text("main"))
	}
}

// text returns the text of the first element matching the CSS selector.
func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`(document.querySelector(%q) || {textContent: "<missing>"}).textContent`, sel)))
	if err != nil {
		p.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// click clicks the first element matching the CSS selector, as a person
// would (the mouse events at its centre, scrolled into view).
func (p *page) click(sel string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("clicking %s: %v", sel, err)
	}
}

// screenshot writes the page to the file named by TIERCACHE_DASHBOARD_SCREENSHOT, if set.
func (p *page) screenshot(suffix string) {
	path := os.Getenv(screenshotEnv)
	if path == "" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot: %v", err)
		return
	}
	name := strings.TrimSuffix(path, ".png") + suffix + ".png"
	if err := os.WriteFile(name, png, 0o644); err != nil {
		p.t.Logf("screenshot: %v", err)
	}
}

// syncWriter lets Chromium's stdout and stderr copiers share a buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
