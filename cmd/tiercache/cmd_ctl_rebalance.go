package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/tiercache/tiercache/raftmeta"
)

// ctlRebalance prints the rebalance record: the totals, then each node's
// share.
func ctlRebalance(w io.Writer, r *raftmeta.Rebalance) {
	if r == nil {
		fmt.Fprintln(w, "no rebalance in progress")
		return
	}
	if r.State == raftmeta.RebalanceDone && r.Hold {
		fmt.Fprintln(w, "no rebalance in progress; paused: the next one will hold its pushes until `rebalance resume`")
		if r.RangesTotal == 0 {
			return
		}
	}
	pct := 100.0
	if r.RangesTotal > 0 {
		pct = 100 * float64(r.RangesDone) / float64(r.RangesTotal)
	}
	eta := "-"
	if r.State != raftmeta.RebalanceDone && r.ETASeconds > 0 {
		eta = (time.Duration(r.ETASeconds * float64(time.Second))).Round(time.Second).String()
	}
	ctlTable(w, "REBALANCE\tSTATE\tEPOCHS\tRANGES\tKEYS\tBYTES\tETA\tSTARTED\tUPDATED", [][]string{{
		r.ID, string(r.State), fmt.Sprintf("%d -> %d", r.FromEpoch, r.ToEpoch),
		fmt.Sprintf("%d/%d (%.0f%%)", r.RangesDone, r.RangesTotal, pct),
		ctlOfTotal(r.Keys, r.KeysTotal), ctlOfTotal(r.Bytes, r.BytesTotal), eta,
		r.StartedAt.Format(time.RFC3339), r.UpdatedAt.Format(time.RFC3339),
	}})
	if len(r.Nodes) == 0 {
		return
	}
	ids := slices.Sorted(maps.Keys(r.Nodes))
	rows := make([][]string, 0, len(ids))
	for _, id := range ids {
		n := r.Nodes[id]
		rows = append(rows, []string{id, string(n.State), fmt.Sprintf("%d/%d", n.RangesDone, n.RangesTotal),
			ctlOfTotal(n.Keys, n.KeysTotal), ctlOfTotal(n.Bytes, n.BytesTotal), fmt.Sprintf("%.0fs", n.ETASeconds)})
	}
	fmt.Fprintln(w)
	ctlTable(w, "NODE\tSTATE\tRANGES\tKEYS\tBYTES\tETA", rows)
}

// ctlOfTotal prints "done/total", or just done when no total is known.
func ctlOfTotal(done, total int64) string {
	if total == 0 {
		return strconv.FormatInt(done, 10)
	}
	return strconv.FormatInt(done, 10) + "/" + strconv.FormatInt(total, 10)
}
