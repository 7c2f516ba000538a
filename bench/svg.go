package bench

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// svgDoc is a small SVG writer: shapes are appended in drawing order and
// every piece of text goes through XML escaping, so a label taken from a
// figure name or an error message can never break the document. It is
// the whole graphics stack of the report: no plotting dependency.
type svgDoc struct {
	w, h float64
	b    strings.Builder
}

func newSVG(w, h float64) *svgDoc {
	d := &svgDoc{w: w, h: h}
	fmt.Fprintf(&d.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="12">`+"\n",
		num(w), num(h), num(w), num(h))
	d.rect(0, 0, w, h, "#ffffff", "")
	return d
}

// num prints a coordinate compactly (two decimals at most).
func num(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

// esc escapes s for text content and attribute values alike.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a Builder: never fails
	return b.String()
}

// rect draws a filled rectangle; a non-empty title becomes its tooltip.
func (d *svgDoc) rect(x, y, w, h float64, fill, title string) {
	if w < 0 {
		x, w = x+w, -w
	}
	if h < 0 {
		y, h = y+h, -h
	}
	if title == "" {
		fmt.Fprintf(&d.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n", num(x), num(y), num(w), num(h), esc(fill))
		return
	}
	fmt.Fprintf(&d.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`+"\n",
		num(x), num(y), num(w), num(h), esc(fill), esc(title))
}

// line draws a straight segment; dashed lines mark events and grids.
func (d *svgDoc) line(x1, y1, x2, y2 float64, stroke string, width float64, dashed bool) {
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="4 3"`
	}
	fmt.Fprintf(&d.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`+"\n",
		num(x1), num(y1), num(x2), num(y2), esc(stroke), num(width), dash)
}

// polyline draws a connected series of points.
func (d *svgDoc) polyline(xs, ys []float64, stroke string, width float64) {
	var pts strings.Builder
	for i := range xs {
		if i > 0 {
			pts.WriteByte(' ')
		}
		pts.WriteString(num(xs[i]) + "," + num(ys[i]))
	}
	fmt.Fprintf(&d.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s"/>`+"\n", pts.String(), esc(stroke), num(width))
}

// circle draws a point marker with a tooltip.
func (d *svgDoc) circle(x, y, r float64, fill, title string) {
	fmt.Fprintf(&d.b, `<circle cx="%s" cy="%s" r="%s" fill="%s"><title>%s</title></circle>`+"\n", num(x), num(y), num(r), esc(fill), esc(title))
}

// text writes s at (x, y); anchor is start, middle or end; rotated text
// reads bottom to top (a y-axis label).
func (d *svgDoc) text(x, y float64, s, anchor string, size float64, rotated bool) {
	rot := ""
	if rotated {
		rot = fmt.Sprintf(` transform="rotate(-90 %s %s)"`, num(x), num(y))
	}
	fmt.Fprintf(&d.b, `<text x="%s" y="%s" text-anchor="%s" font-size="%s"%s>%s</text>`+"\n",
		num(x), num(y), esc(anchor), num(size), rot, esc(s))
}

// bytes closes the document and returns it.
func (d *svgDoc) bytes() []byte {
	return []byte(d.b.String() + "</svg>\n")
}
