package dashboard_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tiercache/tiercache/internal/dashboard"
	"github.com/tiercache/tiercache/internal/demo"
)

// TestBrowserAgainstTheRealDemo serves the dashboard of a real demo (the
// whole three-region federation on loopback, a small workload) and
// presses a region's partition button, then heal: the page shows the
// region cut off with its links cut and the event, then the region
// healed.
func TestBrowserAgainstTheRealDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole federation; skipped with -short")
	}
	chromiumPath(t) // skip before the expensive part when there is no browser
	began := time.Now()
	// A light run for 2 cores, as the demo's note suggests.
	d, err := demo.Start(demo.Options{
		Rows: 2000, Workers: 3, ThinkTime: time.Millisecond, OriginLatency: time.Millisecond,
		TrendEvery: time.Second, TrendFor: 1500 * time.Millisecond, TrendExpiry: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() }) // after the dashboard that samples it
	_, url := serveDashboard(t, d, dashboard.Options{})
	p := openPage(t, url, 90*time.Second)

	p.waitTrue("the page to go live", `document.getElementById('conn').dataset.state === 'live'`)
	p.waitTrue("three regions", `document.querySelectorAll('#topology [data-region]').length === 3`)
	p.waitTrue("traffic", `/[1-9]/.test(document.getElementById('stat-rps').textContent)`)
	p.waitTrue("the app clients' breaker toward each of the 9 L2 nodes", `[...document.querySelectorAll('#breakers tr')].filter(
		r => /-l2-/.test(r.textContent) && /closed|open/.test(r.textContent)).length === 9`)
	region, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector('#topology [data-region]').dataset.region`))
	if err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`[data-region=%q]`, region)

	p.click(sel + ` .region-head button[data-action="partition-region"]`)
	p.waitTrue(region+" shown partitioned", fmt.Sprintf(`document.querySelector(%q).dataset.partitioned === 'true'`, sel))
	p.waitTrue("the partition in the events", fmt.Sprintf(`document.getElementById('events').textContent.includes(%q)`, "region "+region+" partitioned"))
	p.waitTrue("the region's links shown cut", fmt.Sprintf(`[...document.querySelectorAll('#links tr')].some(
		r => r.textContent.includes(%q) && r.textContent.includes('cut'))`, region))
	p.screenshot("-demo-partitioned")

	p.click(sel + ` .region-head button[data-action="heal-region"]`)
	p.waitTrue(region+" shown healed", fmt.Sprintf(`document.querySelector(%q).dataset.partitioned === 'false'`, sel))
	p.waitTrue("the heal in the events", fmt.Sprintf(`document.getElementById('events').textContent.includes(%q)`, "region "+region+" healed"))

	// Trace one read (once the links are back): the waterfall goes from
	// the app's Get through an L2 node and across the QUIC link to another
	// region's L3 node, then to the origin.
	p.waitTrue("every link connected again", `document.querySelectorAll('#links tr').length > 0 &&
		![...document.querySelectorAll('#links tr')].some(r => r.textContent.includes('cut'))`)
	p.waitTrue("the trace card's regions", `document.querySelectorAll('#trace-region option').length === 3`)
	p.click(`#trace-get`)
	p.waitTrue("a waterfall from the Get to a remote L3 node and the origin", `(() => {
		const rows = [...document.querySelectorAll('#trace-waterfall .trace-row')];
		const names = rows.map(r => r.dataset.span);
		return ['tiercache.Get', 'l2.TC.GET', 'federation.Call', 'federation.Serve', 'l3.Get', 'tiercache.Load'].every(n => names.includes(n));
	})()`)
	p.screenshot("-demo-trace")
	p.noErrors()
	t.Logf("real demo browser test took %v (demo startup %v)", time.Since(began), d.Startup())
}
