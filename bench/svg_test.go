package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// svgElement is one parsed element: its name, attributes and own text.
type svgElement struct {
	name  string
	attrs map[string]string
	text  string
}

// parseSVG decodes doc as XML, failing the test on any syntax error, and
// returns its elements in document order.
func parseSVG(t *testing.T, doc []byte) []svgElement {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var out []svgElement
	var stack []int
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v\n%s", err, doc)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			el := svgElement{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				el.attrs[a.Name.Local] = a.Value
			}
			out = append(out, el)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].text += string(tk)
			}
		}
	}
	if len(out) == 0 || out[0].name != "svg" || out[0].attrs["viewBox"] == "" {
		t.Fatalf("root is not an <svg> with a viewBox: %+v", out)
	}
	return out
}

func elements(els []svgElement, name string) []svgElement {
	var out []svgElement
	for _, e := range els {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

func texts(els []svgElement) []string {
	var out []string
	for _, e := range elements(els, "text") {
		out = append(out, e.text)
	}
	return out
}

func attrFloat(t *testing.T, e svgElement, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.name, name, e.attrs[name], err)
	}
	return v
}

func TestLinearAxisRanges(t *testing.T) {
	for _, c := range []struct {
		lo, hi   float64
		min, max float64
		ticks    int
	}{
		{0, 9.3, 0, 10, 6},
		{0, 697123, 0, 700000, 8},
		{-3, 7, -4, 8, 7},
		{0.0012, 0.0087, 0, 0.01, 6},
		{0, 0, 0, 1, 6},             // all zero: still a unit of height
		{5, 5, 2, 8, 7},             // a single value is widened around itself
		{math.NaN(), 3, 0, 1, 6},    // garbage in: a usable axis, not a panic
		{9.3, 0, 0, 10, 6},          // reversed bounds
		{1e-9, 3e-9, 1e-9, 3e-9, 5}, // tiny values keep their scale
		{100, 101, 100, 101, 6},     // a narrow range far from zero
		{2.5, 2.5e6, 0, 2.5e6, 6},   // six decades on a linear axis
		{-10, -1, -10, 0, 6},        // all negative
		{0.5, 0.5001, 0.5, 0.5001, 6},
	} {
		a := linearAxis(c.lo, c.hi)
		if math.Abs(a.min-c.min) > 1e-12 || math.Abs(a.max-c.max) > 1e-12 || len(a.ticks) != c.ticks {
			t.Errorf("linearAxis(%v, %v) = [%v, %v] with ticks %v; want [%v, %v] with %d ticks", c.lo, c.hi, a.min, a.max, a.ticks, c.min, c.max, c.ticks)
			continue
		}
		if a.ticks[0] != a.min || math.Abs(a.ticks[len(a.ticks)-1]-a.max) > 1e-12 {
			t.Errorf("linearAxis(%v, %v): ticks %v do not span [%v, %v]", c.lo, c.hi, a.ticks, a.min, a.max)
		}
		if !math.IsNaN(c.lo) && (a.min > math.Min(c.lo, c.hi) || a.max < math.Max(c.lo, c.hi)) {
			t.Errorf("linearAxis(%v, %v) = [%v, %v] does not cover the data", c.lo, c.hi, a.min, a.max)
		}
		for i := 2; i < len(a.ticks); i++ { // evenly spaced, no float noise
			if d0, d1 := a.ticks[1]-a.ticks[0], a.ticks[i]-a.ticks[i-1]; math.Abs(d0-d1) > d0*1e-9 {
				t.Errorf("linearAxis(%v, %v): uneven ticks %v", c.lo, c.hi, a.ticks)
				break
			}
		}
	}
}

func TestLogAxisRanges(t *testing.T) {
	for _, c := range []struct {
		lo, hi, min, max float64
	}{
		{1, 9686, 0.1, 10000}, // 1 itself gets a decade below, so its bar shows
		{8, 9686, 1, 10000},
		{0.5, 3, 0.1, 10},
		{100, 100, 10, 100},
		{0, 50, 0.1, 100}, // a zero floor is taken as 1
	} {
		a := logAxis(c.lo, c.hi)
		if math.Abs(a.min-c.min) > c.min*1e-9 || math.Abs(a.max-c.max) > c.max*1e-9 || !a.log {
			t.Errorf("logAxis(%v, %v) = [%v, %v]; want [%v, %v]", c.lo, c.hi, a.min, a.max, c.min, c.max)
		}
		for i, tk := range a.ticks { // exact powers of ten, one per decade
			if want := c.min * math.Pow(10, float64(i)); math.Abs(tk-want) > want*1e-9 {
				t.Errorf("logAxis(%v, %v) ticks %v", c.lo, c.hi, a.ticks)
				break
			}
		}
		if f := a.frac(c.lo); f <= 0 && c.lo > 0 {
			t.Errorf("logAxis(%v, %v): the smallest value sits on the floor (frac %v)", c.lo, c.hi, f)
		}
	}
}

func TestFmtValue(t *testing.T) {
	for v, want := range map[float64]string{
		9686: "9,686", 697123: "697k", 2.5e6: "2.50M", 0.7581: "0.758", 1: "1", 0: "0",
		0.0015: "0.0015", 105.04: "105", 12.14: "12.1", -1234: "-1,234", math.NaN(): "n/a",
	} {
		if got := fmtValue(v); got != want && !(math.IsNaN(v) && got == "n/a") {
			t.Errorf("fmtValue(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestSVGEscapesLabels: titles, series and group labels come from figure
// names and notes; markup in them must come out as text, not elements.
func TestSVGEscapesLabels(t *testing.T) {
	title := `p99 < 1.2 & "quoted" 'too'`
	evil := `<script>alert(1)</script>`
	svg := BarChart{Title: title, YLabel: "x > y", Series: []string{evil, "b&c"},
		Groups: []BarGroup{{Label: "GET <P1>", Values: []float64{1, 2}}}}.SVG()
	els := parseSVG(t, svg)
	if len(elements(els, "script")) != 0 || bytes.Contains(svg, []byte("<script>")) {
		t.Fatalf("a label became markup:\n%s", svg)
	}
	got := texts(els)
	for _, want := range []string{title, evil, "b&c", "GET <P1>", "x > y"} {
		if !slices.Contains(got, want) {
			t.Errorf("text %q not found after parsing; texts: %q", want, got)
		}
	}
	// Tooltips carry the label too, escaped the same way.
	var tips []string
	for _, e := range elements(els, "title") {
		tips = append(tips, e.text)
	}
	if !slices.Contains(tips, "GET <P1>, "+evil+": 1") {
		t.Errorf("bar tooltips %q", tips)
	}
}

// TestBarChartGeometry: bars start at zero and their heights are in
// proportion to their values; a missing value draws no bar but says so.
func TestBarChartGeometry(t *testing.T) {
	svg := BarChart{Title: "t", YLabel: "req/s", Series: []string{"ours", "peer"},
		Groups: []BarGroup{{Label: "a", Values: []float64{10, 5}}, {Label: "b", Values: []float64{2.5, math.NaN()}}}}.SVG()
	els := parseSVG(t, svg)
	var bars []svgElement
	for _, e := range elements(els, "rect") {
		if e.attrs["width"] != "12" && e.attrs["width"] != "720" { // not a legend swatch or the background
			bars = append(bars, e)
		}
	}
	if len(bars) != 3 {
		t.Fatalf("%d bars, want 3 (one value missing)", len(bars))
	}
	h := func(i int) float64 { return attrFloat(t, bars[i], "height") }
	if r := h(0) / h(1); math.Abs(r-2) > 0.01 {
		t.Errorf("bars of 10 and 5: heights %v and %v", h(0), h(1))
	}
	if r := h(0) / h(2); math.Abs(r-4) > 0.01 {
		t.Errorf("bars of 10 and 2.5: heights %v and %v", h(0), h(2))
	}
	bottom := attrFloat(t, bars[0], "y") + h(0)
	for i := range bars {
		if b := attrFloat(t, bars[i], "y") + h(i); math.Abs(b-bottom) > 0.01 {
			t.Errorf("bar %d ends at %v, bar 0 at %v: bars must share the zero line", i, b, bottom)
		}
	}
	got := texts(els)
	for _, want := range []string{"n/a", "ours", "peer", "a", "b", "req/s", "0", "10"} {
		if !slices.Contains(got, want) {
			t.Errorf("text %q missing; texts %q", want, got)
		}
	}
}

func TestLineChartElements(t *testing.T) {
	svg := LineChart{Title: "lag", XLabel: "s", YLabel: "ms",
		Lines: []PlotLine{
			{Label: "a→b", X: []float64{0, 1, 2, 3}, Y: []float64{1, math.NaN(), 3, 4}},
			{Label: "b→a", X: []float64{0, 1, 2, 3}, Y: []float64{2, 2, 2, 2}},
		},
		Marks: []PlotMark{{X: 1.5, Label: "kill"}}}.SVG()
	els := parseSVG(t, svg)
	lines := elements(els, "polyline")
	if len(lines) != 2 {
		t.Fatalf("%d polylines, want 2", len(lines))
	}
	if n := len(strings.Fields(lines[0].attrs["points"])); n != 3 {
		t.Errorf("first line has %d points, want 3 (the NaN is skipped)", n)
	}
	if n := len(elements(els, "circle")); n != 7 {
		t.Errorf("%d point markers, want 7", n)
	}
	dashed := 0
	for _, l := range elements(els, "line") {
		if l.attrs["stroke-dasharray"] != "" {
			dashed++
		}
	}
	if dashed != 1 || !slices.Contains(texts(els), "kill") {
		t.Errorf("event mark: %d dashed lines, texts %q", dashed, texts(els))
	}
	// Evenly spaced named x positions (percentiles).
	els = parseSVG(t, LineChart{Title: "p", XTicks: []string{"p50", "p99", "p99.9"},
		Lines: []PlotLine{{Label: "x", X: []float64{0, 1, 2}, Y: []float64{1, 5, 30}}}}.SVG())
	got := texts(els)
	for _, want := range []string{"p50", "p99", "p99.9"} {
		if !slices.Contains(got, want) {
			t.Errorf("x tick %q missing: %q", want, got)
		}
	}
	cs := elements(els, "circle")
	x0, x1, x2 := attrFloat(t, cs[0], "cx"), attrFloat(t, cs[1], "cx"), attrFloat(t, cs[2], "cx")
	if math.Abs((x1-x0)-(x2-x1)) > 0.02 {
		t.Errorf("named x positions not evenly spaced: %v %v %v", x0, x1, x2)
	}
}

// TestLegendWraps: names that do not fit one row wrap to another, and the
// plot area moves down rather than under the legend.
func TestLegendWraps(t *testing.T) {
	var lines []PlotLine
	for _, n := range []string{"us-east→eu-west", "us-east→ap-south", "eu-west→us-east", "eu-west→ap-south", "ap-south→us-east", "ap-south→eu-west"} {
		lines = append(lines, PlotLine{Label: n, X: []float64{0, 1}, Y: []float64{1, 2}})
	}
	els := parseSVG(t, LineChart{Title: "lag", Lines: lines}.SVG())
	rows := map[string]bool{}
	var swatchBottom float64
	for _, r := range elements(els, "rect") {
		if r.attrs["width"] == "12" {
			rows[r.attrs["y"]] = true
			swatchBottom = max(swatchBottom, attrFloat(t, r, "y")+12)
		}
	}
	if len(rows) < 2 {
		t.Fatalf("legend of 6 long names on %d row(s)", len(rows))
	}
	for _, name := range []string{"us-east→eu-west", "ap-south→eu-west"} {
		if !slices.Contains(texts(els), name) {
			t.Errorf("legend lacks %q", name)
		}
	}
	var top float64 = plotH
	for _, l := range elements(els, "line") { // the grid's top line is the plot's top
		top = min(top, attrFloat(t, l, "y1"))
	}
	if top <= swatchBottom {
		t.Errorf("plot top %v under the legend ending at %v", top, swatchBottom)
	}
}
