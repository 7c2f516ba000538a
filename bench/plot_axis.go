package bench

import (
	"math"
	"strconv"
)

// axis is a value range with its tick marks: linear ranges snap to "nice"
// steps (1, 2 or 5 times a power of ten), logarithmic ones to decades.
type axis struct {
	min, max float64
	ticks    []float64
	log      bool
}

// linearAxis covers [lo, hi] with about five nice steps. A range that is
// empty or a single value is widened so a plot always has height.
func linearAxis(lo, hi float64) axis {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi == lo {
		if lo == 0 {
			hi = 1
		} else {
			lo, hi = lo-math.Abs(lo)/2, hi+math.Abs(hi)/2
		}
	}
	step := niceNum((hi-lo)/5, true)
	// The epsilon keeps float error (0.5/0.00002 = 24999.999...) from
	// adding a step below or above the data.
	a := axis{min: cleanFloat(math.Floor(lo/step+1e-9)*step, step), max: cleanFloat(math.Ceil(hi/step-1e-9)*step, step)}
	for v := a.min; v <= a.max+step/2; v += step {
		a.ticks = append(a.ticks, cleanFloat(v, step))
	}
	return a
}

// logAxis covers [lo, hi] (positive) with whole decades. The bottom is
// strictly below lo, so a bar of the smallest value still has height.
func logAxis(lo, hi float64) axis {
	if !(lo > 0) {
		lo = 1
	}
	if !(hi >= lo) {
		hi = lo
	}
	a := axis{min: math.Pow(10, math.Floor(math.Log10(lo))), max: math.Pow(10, math.Ceil(math.Log10(hi))), log: true}
	if a.min >= lo {
		a.min /= 10
	}
	if a.max == a.min {
		a.max = a.min * 10
	}
	for e := math.Round(math.Log10(a.min)); e <= math.Round(math.Log10(a.max)); e++ {
		a.ticks = append(a.ticks, math.Pow(10, e))
	}
	return a
}

// niceNum is Heckbert's nice number: 1, 2, 5 or 10 times a power of ten
// near x (rounded, or the next one up).
func niceNum(x float64, round bool) float64 {
	if x <= 0 {
		return 1
	}
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case round && f < 1.5, !round && f <= 1:
		nf = 1
	case round && f < 3, !round && f <= 2:
		nf = 2
	case round && f < 7, !round && f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// cleanFloat removes the float noise that summing steps leaves (0.30000004).
func cleanFloat(v, step float64) float64 {
	digits := max(0, -int(math.Floor(math.Log10(step)))+1)
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// frac maps v onto [0, 1] of the axis (clamped).
func (a axis) frac(v float64) float64 {
	var f float64
	if a.log {
		if v <= 0 {
			return 0
		}
		f = (math.Log10(v) - math.Log10(a.min)) / (math.Log10(a.max) - math.Log10(a.min))
	} else {
		f = (v - a.min) / (a.max - a.min)
	}
	return math.Max(0, math.Min(1, f))
}

// fmtValue prints a figure compactly for labels: 9686 → "9,686",
// 697123 → "697k", 0.7581 → "0.758".
func fmtValue(v float64) string {
	av := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "n/a"
	case av >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case av >= 1e5:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case av >= 1000:
		return groupThousands(math.Round(v))
	case av >= 100 || av == math.Trunc(av):
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// groupThousands prints an integral value with comma separators.
func groupThousands(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', 0, 64)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if v < 0 {
		return "-" + string(out)
	}
	return string(out)
}
