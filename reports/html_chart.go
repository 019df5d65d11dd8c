package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The SVG charts of the HTML view. The code here only computes geometry:
// every chart is drawn by the page's html/template, so a text that comes
// from the report (a target, a fault kind) is escaped like any other.

// Chart geometry, in SVG user units (the page shows charts at this size).
const (
	chartWidth  = 1000
	plotLeft    = 78  // room for the y tick labels
	plotRight   = 16  // a margin so the last x tick label fits
	plotTop     = 14  // room above the plot for nothing but air
	plotHeight  = 190 // the main plot
	errorLane   = 46  // the errors strip under the throughput plot
	laneGap     = 8   // between the plot and the errors strip
	xAxisHeight = 26  // x tick labels
	legendRow   = 22  // one line of legend
)

// Colours. The fault shade is opaque (drawn under everything) so the
// browser test can find its exact colour in a screenshot.
const (
	faultShade  = "#fde2c4"
	faultEdge   = "#e8974a"
	errorColour = "#dc2626"
)

// seriesColour is the colour of line i, in legend order; none is red or
// orange, which mean errors and faults. There are twenty, one for each
// direction of a five-node lag chart; the first six are the ones charts
// of two nodes and three targets always had.
func seriesColour(i int) string {
	colours := [...]string{"#2563eb", "#059669", "#7c3aed", "#0891b2", "#be185d", "#4b5563",
		"#1e3a8a", "#65a30d", "#c026d3", "#0f766e", "#a16207", "#4f46e5", "#166534", "#6b21a8",
		"#0284c7", "#831843", "#111827", "#84cc16", "#22d3ee", "#a78bfa"}
	return colours[i%len(colours)]
}

// point is one sample: x in seconds since the start of the workloads.
type point struct{ X, Y float64 }

// series is one line of a chart.
type series struct {
	Name   string
	Points []point
}

// span is a shaded window of the x axis (a fault) or, when From == To, a
// vertical marker (a failover).
type span struct {
	From, To float64
	Label    string
}

// chartSpec is what a chart shows, before any geometry.
type chartSpec struct {
	ID     string
	Title  string
	YTitle string
	XMax   float64 // seconds; shared by every chart so windows line up
	Series []series
	// Errors, when set, are drawn as red bars in a strip under the plot
	// (they are often a hundred times fewer than the ok operations and
	// would vanish on the same axis).
	Errors  []series
	Windows []span
	Marks   []span
	Kind    axisKind
}

// axisKind says what the y values are: it picks the tick spacing and the
// tick text.
type axisKind int

const (
	axisMillis axisKind = iota // durations in milliseconds
	axisBytes                  // byte counts
	axisCount                  // operations per second
)

// Drawn chart: coordinates are ready-made strings so the template only
// places them.
type chartView struct {
	ID, Title, YTitle string
	Width, Height     int
	PlotX, PlotY      float64 // top-left of the plot
	PlotW, PlotH      float64
	PlotR, PlotB      float64 // right edge and bottom of the plot
	Bottom            float64 // bottom of the plot or of the errors strip
	XLabelY           float64 // baseline of the x tick labels
	YTitleX, YTitleY  float64 // where the rotated y axis title is centred
	LogScale          bool
	Windows           []rectView
	Marks             []markView
	XTicks            []tickView
	YTicks            []tickView
	Lines             []lineView
	Bars              []rectView
	Lane              *laneView
	Legend            []legendView
	Empty             string // shown instead of lines when there is nothing to draw
}

type rectView struct {
	X, Y, W, H   float64
	Label        string // the full text, for the hover title
	Text         string // the text drawn, shortened to fit
	LabelX       float64
	LabelY       float64
	Fill, Stroke string
}

type markView struct {
	X, Y1, Y2, LabelY float64
	Label             string
}

type tickView struct {
	Pos   float64 // x for an x tick, y for a y tick
	Label string
}

type lineView struct {
	Name, Colour string
	Points       string // the polyline's points attribute
	Dots         []dotView
}

type dotView struct {
	X, Y  float64
	Title string
}

type laneView struct {
	Y, H  float64
	Top   string // the strip's scale: the value at its top
	Label string
}

type legendView struct {
	X, Y   float64
	Colour string
	Name   string
}

// maxDots is the longest series whose points are also drawn as dots (with a
// hover title); beyond it the dots would smear into the line.
const maxDots = 40

// draw lays out a chart: the frame (plot and errors strip), then from back
// to front fault windows, failover marks, ticks, lines and error bars, and
// the legend under it all.
func (c chartSpec) draw() chartView { return c.drawOn(c.yValues()) }

// drawOn is draw with a y axis made to hold ys, so that charts of several
// runs can share one (CompareHTML).
func (c chartSpec) drawOn(ys []float64) chartView {
	v := chartView{ID: c.ID, Title: c.Title, YTitle: c.YTitle, Width: chartWidth}
	v.PlotX, v.PlotY = plotLeft, plotTop
	v.PlotW, v.PlotH = chartWidth-plotLeft-plotRight, plotHeight
	bottom := v.PlotY + v.PlotH
	if c.Errors != nil {
		v.Lane = &laneView{Y: bottom + laneGap, H: errorLane, Label: "errors/s"}
		bottom = v.Lane.Y + v.Lane.H
	}
	xmax := c.XMax
	if !(xmax > 0) {
		xmax = 1 // an empty run: an axis from 0 to 1 s rather than a division by zero
	}
	ax := newAxis(ys, c.Kind)
	v.LogScale = ax.log
	s := plotScale{x: v.PlotX, y: v.PlotY, w: v.PlotW, h: v.PlotH, bottom: bottom, xmax: xmax, ax: ax}

	v.Windows = c.windows(s)
	v.Marks = c.marks(s)
	for _, t := range xTicks(xmax) {
		v.XTicks = append(v.XTicks, tickView{Pos: s.xpos(t), Label: secondsLabel(t)})
	}
	for _, t := range ax.ticks {
		v.YTicks = append(v.YTicks, tickView{Pos: s.ypos(t), Label: c.Kind.format(t)})
	}
	v.Lines = c.lines(s)
	if v.Lane != nil {
		v.Lane.Top, v.Bars = c.errorBars(s, v.Lane)
	}

	if len(ys) == 0 {
		v.Empty = "no samples"
	}
	v.PlotR, v.PlotB, v.Bottom = v.PlotX+v.PlotW, v.PlotY+v.PlotH, bottom
	v.XLabelY = bottom + 16
	v.YTitleX, v.YTitleY = 14, v.PlotY+v.PlotH/2
	var legendY float64
	v.Legend, legendY = c.legend(v.Lines, v.PlotX, bottom)
	v.Height = int(math.Ceil(legendY + legendRow/2))
	return v
}

// plotScale maps a chart's data to SVG coordinates inside its plot.
type plotScale struct {
	x, y, w, h float64 // the plot's top-left corner and size
	bottom     float64 // bottom of the plot or of the errors strip under it
	xmax       float64 // seconds at the right edge, more than 0
	ax         axis
}

func (s plotScale) xpos(x float64) float64 { return r1(s.x + s.w*clamp01(x/s.xmax)) }
func (s plotScale) ypos(y float64) float64 { return r1(s.y + s.h*(1-s.ax.frac(y))) }

// yValues are every y of every series: what the y axis must hold.
func (c chartSpec) yValues() []float64 {
	var ys []float64
	for _, s := range c.Series {
		for _, p := range s.Points {
			ys = append(ys, p.Y)
		}
	}
	return ys
}

// windows shades the fault windows, the chart's background. Labels take
// three rows in turn; one that would run into the next label on its row is
// shortened (the full text stays in its hover title and the faults table).
func (c chartSpec) windows(s plotScale) []rectView {
	var out []rectView
	for i, w := range c.Windows {
		x1, x2 := s.xpos(w.From), s.xpos(w.To)
		if x2-x1 < 2 { // a fault healed within a pixel still shows
			x2 = x1 + 2
		}
		room := s.x + s.w - x1 - 3
		if i+3 < len(c.Windows) {
			room = s.xpos(c.Windows[i+3].From) - x1 - 6
		}
		out = append(out, rectView{
			X: x1, Y: s.y, W: r1(x2 - x1), H: r1(s.bottom - s.y),
			Label: w.Label, Text: fitLabel(w.Label, room),
			LabelX: x1 + 3, LabelY: s.y + 12 + float64(i%3)*13,
			Fill: faultShade, Stroke: faultEdge,
		})
	}
	return out
}

// marks draws the failover markers. Their labels sit under the fault
// labels, above the usual baseline of a lag or throughput line.
func (c chartSpec) marks(s plotScale) []markView {
	var out []markView
	for i, m := range c.Marks {
		out = append(out, markView{X: s.xpos(m.From), Y1: s.y, Y2: s.bottom, LabelY: s.y + 58 + float64(i%2)*13, Label: m.Label})
	}
	return out
}

// lines draws each series as a polyline, with a dot per point (and its
// hover title) on a series short enough for dots to stay apart.
func (c chartSpec) lines(s plotScale) []lineView {
	var out []lineView
	for i, sr := range c.Series {
		l := lineView{Name: sr.Name, Colour: seriesColour(i)}
		pts := make([]string, 0, len(sr.Points))
		for _, p := range sr.Points {
			x, y := s.xpos(p.X), s.ypos(p.Y)
			pts = append(pts, coord(x)+","+coord(y))
			// A single point makes no line: it is drawn as a dot.
			if len(sr.Points) <= maxDots {
				l.Dots = append(l.Dots, dotView{X: x, Y: y, Title: fmt.Sprintf("%s at %s: %s", sr.Name, secondsLabel(p.X), c.Kind.format(p.Y))})
			}
		}
		l.Points = strings.Join(pts, " ")
		out = append(out, l)
	}
	return out
}

// errorBars draws the errors in the strip lane, scaled to the largest
// value, and returns the strip's scale text with the bars.
func (c chartSpec) errorBars(s plotScale, lane *laneView) (string, []rectView) {
	var emax float64
	for _, sr := range c.Errors {
		for _, p := range sr.Points {
			emax = math.Max(emax, p.Y)
		}
	}
	top := "max " + sig(emax)
	if !(emax > 0) {
		return top, nil
	}
	// Each second's bars share the second's width, one per target.
	slot := s.w / s.xmax
	bw := math.Max(1.5, slot/float64(max(1, len(c.Errors))))
	var bars []rectView
	for i, sr := range c.Errors {
		for _, p := range sr.Points {
			if p.Y <= 0 {
				continue
			}
			h := math.Max(1.5, lane.H*clamp01(p.Y/emax))
			x := s.xpos(p.X) + float64(i)*bw
			bars = append(bars, rectView{
				X: r1(x), Y: r1(lane.Y + lane.H - h), W: r1(bw), H: r1(h),
				Label: fmt.Sprintf("%s at %s: %s errors", sr.Name, secondsLabel(p.X), sig(p.Y)),
				Fill:  errorColour,
			})
		}
	}
	return top, bars
}

// legend is a row under the x axis, starting at x: series, then errors,
// then faults; entries that would run past the chart's right edge (the
// twenty directions of five nodes) start a new row. It returns the last
// row's baseline with it.
func (c chartSpec) legend(lines []lineView, x, bottom float64) ([]legendView, float64) {
	y := bottom + xAxisHeight + 14
	var out []legendView
	left := x
	add := func(colour, name string) {
		w := 26 + 7*float64(len([]rune(name)))
		if x > left && x+w-10 > chartWidth-plotRight {
			x, y = left, y+legendRow
		}
		out = append(out, legendView{X: x, Y: y, Colour: colour, Name: name})
		x = r1(x + w)
	}
	for _, l := range lines {
		add(l.Colour, l.Name)
	}
	if c.Errors != nil {
		add(errorColour, "errors (fail + unknown)")
	}
	if len(c.Windows) > 0 {
		add(faultShade, "fault window")
	}
	return out, y
}

func clamp01(f float64) float64 {
	switch {
	case math.IsNaN(f) || f < 0:
		return 0
	case f > 1:
		return 1
	}
	return f
}

// labelCharWidth is about how wide a character of an 11 px bold label is.
const labelCharWidth = 6.8

// fitLabel shortens a fault label ("#3 partition primary1<->primary2") to
// its first words until it fits in room units; "#3" alone is the least.
func fitLabel(label string, room float64) string {
	words := strings.Fields(label)
	for n := len(words); n > 1; n-- {
		s := strings.Join(words[:n], " ")
		if float64(len([]rune(s)))*labelCharWidth <= room {
			return s
		}
	}
	if len(words) == 0 {
		return label
	}
	return words[0]
}

// r1 rounds a coordinate to a tenth of a unit.
func r1(f float64) float64 { return math.Round(f*10) / 10 }

// coord prints an SVG coordinate to a tenth of a unit: enough for a
// screen, and it keeps the file small.
func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// secondsLabel names an x position: "45 s", "2m30s".
func secondsLabel(s float64) string {
	return HumanDuration(time.Duration(math.Round(s*1000)) * time.Millisecond)
}

// format writes a tick value in the unit of the axis, with the table
// view's formatters so a chart and a table read alike.
func (k axisKind) format(v float64) string {
	switch k {
	case axisMillis:
		return HumanDuration(time.Duration(math.Round(v * float64(time.Millisecond))))
	case axisBytes:
		return HumanBytes(int64(math.Round(v)))
	default:
		return sig(v)
	}
}

// axis maps values to a fraction of the plot height.
type axis struct {
	log    bool
	lo, hi float64
	ticks  []float64
}

func (a axis) frac(v float64) float64 {
	if a.log {
		if v <= a.lo {
			return 0 // zero and below the floor sit on the floor
		}
		return clamp01(math.Log(v/a.lo) / math.Log(a.hi/a.lo))
	}
	if a.hi <= a.lo {
		return 0
	}
	return clamp01((v - a.lo) / (a.hi - a.lo))
}

// logSpan is how many times larger than the smallest positive value the
// largest must be before the axis turns logarithmic: a 2 ms baseline under
// a 15 s spike would otherwise be a flat line on zero.
const logSpan = 100

// newAxis picks a y axis for values: linear from zero with round ticks, or
// logarithmic (lag and bytes only) when they span more than logSpan.
func newAxis(values []float64, kind axisKind) axis {
	var maxV, minPos float64
	for _, v := range values {
		maxV = math.Max(maxV, v)
		if v > 0 && (minPos == 0 || v < minPos) {
			minPos = v
		}
	}
	if kind != axisCount && minPos > 0 && maxV/minPos >= logSpan {
		base := 10.0
		if kind == axisBytes {
			base = 16 // ticks at 256 B, 4 KiB, 64 KiB, 1 MiB: round in binary units
		}
		lo := math.Pow(base, math.Floor(math.Log(minPos)/math.Log(base)+1e-9))
		hi := math.Pow(base, math.Ceil(math.Log(maxV)/math.Log(base)-1e-9))
		if hi <= lo {
			hi = lo * base
		}
		a := axis{log: true, lo: lo, hi: hi}
		for t := lo; t <= hi*(1+1e-9); t *= base {
			a.ticks = append(a.ticks, t)
		}
		return a
	}
	if !(maxV > 0) {
		// All zero (or nothing): one tick at zero, the line on the floor.
		return axis{lo: 0, hi: 1, ticks: []float64{0}}
	}
	unit := 1.0
	if kind == axisBytes {
		for unit*1024 <= maxV {
			unit *= 1024
		}
	}
	step := niceStep(maxV/unit/4) * unit
	hi := math.Ceil(maxV/step-1e-9) * step
	a := axis{lo: 0, hi: hi}
	for i := 0; float64(i)*step <= hi*(1+1e-9); i++ {
		a.ticks = append(a.ticks, float64(i)*step)
	}
	return a
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if !(x > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	default:
		return 10 * p
	}
}

// xTicks are round second marks from 0 up to xmax, about eight of them.
func xTicks(xmax float64) []float64 {
	step := niceStep(xmax / 8)
	if xmax >= 60 {
		// Minutes read better in steps of 10, 15, 30 s or whole minutes.
		for _, s := range []float64{10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
			step = s
			if xmax/s <= 10 {
				break
			}
		}
		for step*10 < xmax {
			step *= 2
		}
	}
	var ts []float64
	for i := 0; float64(i)*step <= xmax*(1+1e-9); i++ {
		ts = append(ts, float64(i)*step)
	}
	return ts
}
