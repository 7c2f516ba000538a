package bench

import (
	"math"
)

// The report's two chart kinds, drawn with svgDoc: grouped bars (each
// figure beside its peer) and lines (a series over time or percentile).

// palette: tiercache first, its peers after, so "ours" is always blue.
var palette = []string{"#1f77b4", "#ff7f0e", "#7f7f7f", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

const (
	plotW, plotH                  = 720.0, 380.0
	marginL, marginR              = 78.0, 20.0
	marginT, marginB              = 56.0, 52.0
	titleSize, labelSize, valSize = 15.0, 12.0, 10.5
)

// BarChart is grouped bars: one group per figure, one bar per side.
type BarChart struct {
	Title  string
	YLabel string
	Series []string   // side names, in palette order (ours first)
	Groups []BarGroup // one per figure
	Log    bool       // a log y axis, for figures decades apart
}

// BarGroup is one figure's values, one per series (NaN: not measured).
type BarGroup struct {
	Label  string
	Values []float64
}

// LineChart is one or more series against a shared x axis.
type LineChart struct {
	Title, XLabel, YLabel string
	Lines                 []PlotLine
	Marks                 []PlotMark // vertical event markers (a kill, a heal)
	Log                   bool
	// XTicks, when set, names evenly spaced x positions 0, 1, 2...: the
	// lines' X values are indexes into it (percentiles p50..p99.9 read
	// better evenly spaced than on a linear axis).
	XTicks []string
}

// PlotLine is one series; X and Y have the same length.
type PlotLine struct {
	Label string
	X, Y  []float64
}

// PlotMark is a labelled vertical line at X.
type PlotMark struct {
	X     float64
	Label string
}

// frame draws the title, the legend, the y axis with its grid and label,
// and returns the plot area's corners (lower when the legend wraps).
func frame(d *svgDoc, title, ylabel string, names []string, ya axis) (x0, y0, x1, y1 float64) {
	rows := legend(d, names)
	x0, y0, x1, y1 = marginL, marginT+legendRowH*float64(rows-1), plotW-marginR, plotH-marginB
	d.text(plotW/2, 22, title, "middle", titleSize, false)
	for _, t := range ya.ticks {
		y := y1 - ya.frac(t)*(y1-y0)
		d.line(x0, y, x1, y, "#e0e0e0", 1, false)
		d.text(x0-6, y+4, fmtValue(t), "end", labelSize, false)
	}
	d.line(x0, y0, x0, y1, "#333333", 1, false)
	d.line(x0, y1, x1, y1, "#333333", 1, false)
	d.text(16, (y0+y1)/2, ylabel, "middle", labelSize, true)
	return
}

const legendRowH = 17.0

// legend draws one swatch per name across the top, wrapping to more rows
// when the names do not fit one, and returns the rows used.
func legend(d *svgDoc, names []string) int {
	x, y, rows := marginL, 34.0, 1
	for i, n := range names {
		w := 16 + 7*float64(len([]rune(n))) + 18 // about 7 px a character at 12 px
		if x+w > plotW-marginR && x > marginL {
			x, y, rows = marginL, y+legendRowH, rows+1
		}
		d.rect(x, y, 12, 12, palette[i%len(palette)], "")
		d.text(x+16, y+10, n, "start", labelSize, false)
		x += w
	}
	return rows
}

// SVG renders the chart.
func (c BarChart) SVG() []byte {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, g := range c.Groups {
		for _, v := range g.Values {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	var ya axis
	if c.Log {
		ya = logAxis(math.Max(lo, 1e-9), hi)
	} else {
		ya = linearAxis(math.Min(0, lo), math.Max(0, hi)) // bars start at zero
	}
	d := newSVG(plotW, plotH)
	x0, y0, x1, y1 := frame(d, c.Title, c.YLabel, c.Series, ya)
	base := y1 - ya.frac(math.Max(0, ya.min))*(y1-y0)
	if ya.log {
		base = y1
	}
	groupW := (x1 - x0) / float64(max(len(c.Groups), 1))
	barW := groupW * 0.8 / float64(max(len(c.Series), 1))
	for gi, g := range c.Groups {
		gx := x0 + float64(gi)*groupW + groupW*0.1
		for si, v := range g.Values {
			bx := gx + float64(si)*barW
			name := ""
			if si < len(c.Series) {
				name = c.Series[si]
			}
			if math.IsNaN(v) {
				d.text(bx+barW/2, base-4, "n/a", "middle", valSize, false)
				continue
			}
			top := y1 - ya.frac(v)*(y1-y0)
			d.rect(bx, top, barW-2, base-top, palette[si%len(palette)], g.Label+", "+name+": "+fmtValue(v))
			d.text(bx+barW/2, math.Min(top, base)-4, fmtValue(v), "middle", valSize, false)
		}
		d.text(x0+float64(gi)*groupW+groupW/2, y1+18, g.Label, "middle", labelSize, false)
	}
	return d.bytes()
}

// SVG renders the chart.
func (c LineChart) SVG() []byte {
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, l := range c.Lines {
		for i := range min(len(l.X), len(l.Y)) {
			if math.IsNaN(l.Y[i]) {
				continue
			}
			xlo, xhi = math.Min(xlo, l.X[i]), math.Max(xhi, l.X[i])
			ylo, yhi = math.Min(ylo, l.Y[i]), math.Max(yhi, l.Y[i])
		}
	}
	for _, m := range c.Marks {
		xlo, xhi = math.Min(xlo, m.X), math.Max(xhi, m.X)
	}
	xa := linearAxis(xlo, xhi)
	if len(c.XTicks) > 0 {
		xa = axis{min: -0.25, max: float64(len(c.XTicks)) - 0.75}
		for i := range c.XTicks {
			xa.ticks = append(xa.ticks, float64(i))
		}
	}
	var ya axis
	if c.Log {
		ya = logAxis(math.Max(ylo, 1e-9), yhi)
	} else {
		ya = linearAxis(math.Min(0, ylo), yhi)
	}
	d := newSVG(plotW, plotH)
	names := make([]string, len(c.Lines))
	for i, l := range c.Lines {
		names[i] = l.Label
	}
	x0, y0, x1, y1 := frame(d, c.Title, c.YLabel, names, ya)
	px := func(v float64) float64 { return x0 + xa.frac(v)*(x1-x0) }
	py := func(v float64) float64 { return y1 - ya.frac(v)*(y1-y0) }
	for i, t := range xa.ticks {
		label := fmtValue(t)
		if i < len(c.XTicks) {
			label = c.XTicks[i]
		}
		d.line(px(t), y1, px(t), y1+4, "#333333", 1, false)
		d.text(px(t), y1+17, label, "middle", labelSize, false)
	}
	d.text((x0+x1)/2, plotH-10, c.XLabel, "middle", labelSize, false)
	for _, m := range c.Marks {
		d.line(px(m.X), y0, px(m.X), y1, "#d62728", 1, true)
		d.text(px(m.X)+4, y0+12, m.Label, "start", valSize, false)
	}
	for li, l := range c.Lines {
		color := palette[li%len(palette)]
		var xs, ys []float64
		var tips []string
		for i := range min(len(l.X), len(l.Y)) {
			if !math.IsNaN(l.Y[i]) {
				xs, ys = append(xs, px(l.X[i])), append(ys, py(l.Y[i]))
				x := fmtValue(l.X[i])
				if j := int(l.X[i]); len(c.XTicks) > 0 && j >= 0 && j < len(c.XTicks) {
					x = c.XTicks[j]
				}
				tips = append(tips, l.Label+": "+x+", "+fmtValue(l.Y[i]))
			}
		}
		d.polyline(xs, ys, color, 2)
		if len(xs) <= 40 { // few points: mark each, with its value
			for i := range xs {
				d.circle(xs[i], ys[i], 3, color, tips[i])
			}
		}
	}
	return d.bytes()
}
