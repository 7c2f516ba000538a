package bench

import "testing"

func TestRYWQuick(t *testing.T) {
	res := runQuick(t, "ryw")
	f := res.Figures
	if f["trials"] != 300 || f["violations_sticky"] != 0 {
		t.Fatalf("figures %v: want 300 trials, no sticky violation", f)
	}
	// Reads right after a write across a 35 to 100 ms one-way WAN: without
	// the token most are stale, and the sticky ones go to the writer.
	if f["stale_rate_no_sticky"] < 0.5 || f["sticky_remote_rate"] < 0.5 {
		t.Fatalf("figures %v: want most plain reads stale and most sticky reads remote", f)
	}
	if f["sticky_extra_p50_ms"] <= 0 {
		t.Fatalf("figures %v: a remote read should cost a WAN round trip", f)
	}
	if f["violation_rate_sticky"] != 0 {
		t.Fatalf("violation rate %v with no violation", f["violation_rate_sticky"])
	}
	checkLatencyCurve(t, res, "read_latency_ms_sticky")
	checkLatencyCurve(t, res, "read_latency_ms_plain")
}

// TestStampedeGlobalQuick: with stampede scope global one origin load
// serves an expiry missed in all three regions; with scope region, up to
// one per region (fewer when a region's holder finds another's fill at L3).
func TestStampedeGlobalQuick(t *testing.T) {
	res := runQuick(t, "stampede-global")
	if g, r := res.Figures["origin_loads_per_expiry_global"], res.Figures["origin_loads_per_expiry_region"]; g != 1 || r <= g {
		t.Fatalf("origin loads per expiry: global %v (want 1), region %v (want more)", g, r)
	}
}
