package dashboard_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/dashboard"
)

// TestBrowserShowsLiveNumbersAndKillsANode loads the page in headless
// Chromium against a fake federation served on loopback: the page shows
// numbers that change from one refresh to the next, draws its charts,
// and a click on a node's kill button reaches the source and shows the
// node down.
func TestBrowserShowsLiveNumbersAndKillsANode(t *testing.T) {
	src := newLiveSource()
	srv, url := serveDashboard(t, src, dashboard.Options{Interval: 250 * time.Millisecond})
	p := openPage(t, url, 60*time.Second)

	p.waitTrue("the page to go live", `document.getElementById('conn').dataset.state === 'live'`)
	p.waitTrue("the topology", `document.querySelectorAll('#topology [data-node]').length === 12`)
	p.waitTrue("a rate", `/[0-9]/.test(document.getElementById('stat-rps').textContent)`)

	// Live numbers: the total request count on the page moves between refreshes.
	first := p.text("#stat-requests")
	p.waitTrue("the request count to change from "+first,
		fmt.Sprintf(`document.getElementById('stat-requests').textContent !== %q`, first))
	if p.text("#epoch") != "3" || p.text("#leader") != "meta-1" {
		t.Errorf("header shows epoch %q leader %q, want 3 and meta-1", p.text("#epoch"), p.text("#leader"))
	}
	p.waitTrue("the charts", `document.querySelectorAll('#chart-hits path.line').length === 4 &&
		document.querySelectorAll('#chart-latency path.line').length === 6 &&
		document.querySelectorAll('#chart-lag path.line').length === 6`)
	p.waitTrue("the hot key", `document.getElementById('hotkeys').textContent.includes('item:42')`)

	node := `[data-node="us-l2-2"]`
	if got := p.text(node + " button"); got != "kill" {
		t.Fatalf("us-l2-2's button says %q, want kill", got)
	}
	p.screenshot("-before")
	p.click(node + ` button[data-action="kill-node"]`)
	p.waitTrue("us-l2-2 shown down", fmt.Sprintf(`(() => {
		const n = document.querySelector(%q);
		return n.dataset.running === 'false' && n.classList.contains('is-down') &&
			n.querySelector('.badge.state').textContent === 'down' &&
			n.querySelector('button').textContent === 'restart';
	})()`, node))
	if got := src.actions(); !slices.Contains(got, dashboard.Action{Kind: dashboard.ActionKillNode, Target: "us-l2-2"}) {
		t.Errorf("the source received %v, want a kill of us-l2-2", got)
	}
	p.waitTrue("the kill in the events", `document.getElementById('events').textContent.includes('killed us-l2-2')`)
	p.waitTrue("the open breaker", `[...document.querySelectorAll('#breakers tr')].some(
		r => r.textContent.includes('us-l2-2') && r.textContent.includes('open'))`)
	p.screenshot("-after")

	// The same button now restarts it.
	p.click(node + ` button[data-action="restart-node"]`)
	p.waitTrue("us-l2-2 back up", fmt.Sprintf(`document.querySelector(%q).dataset.running === 'true'`, node))
	p.noErrors()

	// When the dashboard goes away, the page says its numbers are stale.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	p.waitTrue("the page to show the connection lost", `document.getElementById('conn').dataset.state === 'lost'`)
}

// TestBrowserShowsAFailedAction: an action the source refuses is shown
// to the person who pressed the button, not swallowed.
func TestBrowserShowsAFailedAction(t *testing.T) {
	src := &refusingSource{liveSource: newLiveSource()}
	_, url := serveDashboard(t, src, dashboard.Options{Interval: 250 * time.Millisecond})
	p := openPage(t, url, 60*time.Second)
	p.waitTrue("the topology", `document.querySelector('[data-region="eu"] .region-head button')`)
	p.click(`[data-region="eu"] .region-head button[data-action="partition-region"]`)
	p.waitTrue("the error toast", `(() => {
		const t = document.getElementById('toast');
		return t.classList.contains('error') && t.textContent.includes('refused by the test');
	})()`)
	p.noErrors()
}
