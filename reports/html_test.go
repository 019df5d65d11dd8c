package reports

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	sepRE   = regexp.MustCompile(`\s*\|[\s|]*`)
	tokenRE = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>`)
)

// cellText turns the page into its text with every tag replaced by "|", so
// "<th>lost updates</th><td>9</td>" reads "|lost updates|9|": a value can
// be looked up as a whole cell, not as a substring of some other number.
func cellText(page string) string {
	return sepRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(page, "|")), "|")
}

// checkBalanced is a small well-formedness check (no HTML parser is a
// dependency): every element opened is closed, in order. The page escapes
// all text, so a '<' in it always starts a tag.
func checkBalanced(t *testing.T, page string) {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "!doctype": true}
	var stack []string
	for _, m := range tokenRE.FindAllStringSubmatch(page, -1) {
		name := strings.ToLower(m[2])
		switch {
		case void[name] || m[3] == "/":
		case m[1] == "":
			stack = append(stack, name)
		default:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("tag </%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed tags: %v", stack)
	}
}

// charts returns each <svg>…</svg> of the page.
func charts(page string) []string {
	var out []string
	for {
		i := strings.Index(page, "<svg")
		if i < 0 {
			return out
		}
		j := strings.Index(page[i:], "</svg>")
		if j < 0 {
			return append(out, page[i:])
		}
		out = append(out, page[i:i+j+len("</svg>")])
		page = page[i+j:]
	}
}

func TestHTMLFullReportStructure(t *testing.T) {
	r := fixture()
	page := renderHTML(t, r)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatalf("not a whole HTML document:\n%.200s", page)
	}
	checkBalanced(t, page)

	// Self-contained: nothing is fetched, nothing is scripted.
	for _, bad := range []string{"http://", "https://", "src=", "href=", "<script", "<link", "@import", "url(", "<img", "<iframe"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must not load anything", bad)
		}
	}

	// Verdict at the top, before the assertions, before the charts.
	text := cellText(page)
	iVerdict, iAssert, iChart, iWork := strings.Index(text, "|FAIL|split-brain|"), strings.Index(text, "|Assertions|"), strings.Index(page, "<svg"), strings.Index(page, `id="workloads"`)
	if iVerdict < 0 || iAssert < 0 || !(iVerdict < iAssert) || !(strings.Index(page, `id="assertions"`) < iChart && iChart < iWork) {
		t.Errorf("order: verdict %d, assertions %d, first chart %d, workloads %d", iVerdict, iAssert, iChart, iWork)
	}

	// The fixture has lag and bytes timelines and throughput: three charts,
	// each shading both faults with their labels, and the failover marked.
	svgs := charts(page)
	if len(svgs) != 3 {
		t.Fatalf("got %d charts, want 3 (lag, bytes, throughput)", len(svgs))
	}
	for i, svg := range svgs {
		plain := html.UnescapeString(svg)
		for _, label := range []string{"#0 partition primary1<->primary2", "#1 delay primary2 (not healed)", "failover primary1 -> primary2", "failback primary1"} {
			if !strings.Contains(plain, ">"+label+"<") {
				t.Errorf("chart %d lacks the label %q", i, label)
			}
		}
		if n := strings.Count(svg, `class="fault"`); n != 2 {
			t.Errorf("chart %d shades %d fault windows, want 2", i, n)
		}
		if !strings.Contains(svg, "<polyline") {
			t.Errorf("chart %d has no line", i)
		}
	}
	if !strings.Contains(svgs[2], `fill="`+errorColour+`"`) || !strings.Contains(html.UnescapeString(svgs[2]), "primary1 at 1 s: 2 errors") {
		t.Errorf("throughput chart lacks the red error bar for t=1 s (2 errors)")
	}

	// Values formatted as the terminal shows them, each as a whole cell.
	for _, cell := range []string{
		"1.8 s", "3.1 s", "15.2 s", "3.88 MiB", "512 B", // lag p99s, max, bytes behind
		"12.5", "0.412", "499.8", // workload latencies (ms) and ops/s
		"+10s", "+25.25s", "not healed: tc: no such device",
		"73 MiB", // stall WAL behind
	} {
		if !strings.Contains(text, "|"+cell+"|") {
			t.Errorf("page lacks the cell %q", cell)
		}
	}
	for _, want := range []string{
		"|duplicate keys (23505)|5|", "|lost updates|9|", "|lost writes|1|",
		"|bank|primary2|10000|9950|BROKEN|", "|bank|primary1|10000|10000|intact|",
		"|hot|3|primary1|1200|1191|",
		"to unblock on primary2 (drops that whole remote transaction, the nodes then differ):|ALTER SUBSCRIPTION sub_from_primary1 SKIP (lsn = '0/17A5B18');|",
		"|insert_exists|-|1|-|3|", // counted p1, p2, logged p1, p2
		"|update_origin_differs|14|12|14|-|",
		"|converged in 2.1 s|divergent rows: 27|",
		"|public.insert_rows|12|missing_on_primary2|{\"id\":12,\"name\":\"a row whose text is long enough to be cut in the terminal view\"}|-|primary1|",
		"|… 5 more in public.insert_rows|", // 26 differ, 21 listed
		"|stranded writes|6 over 850 ms|",
		"|warning: PostgreSQL clock skew not measured|",
		"|client|GOMAXPROCS 3 (--client-cpus), go1.26.8|",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(text, "public.hot|… ") {
		t.Errorf("a table whose rows are all listed must not announce more")
	}
}

// TestHTMLShowsEveryTerminalCell pins "the same data": every cell of the
// terminal view, except cells it cut short, is a cell of the page.
func TestHTMLShowsEveryTerminalCell(t *testing.T) {
	narrowWidths(t)
	r := fixture()
	var tb bytes.Buffer
	if err := Table(&tb, r); err != nil {
		t.Fatal(err)
	}
	text := cellText(renderHTML(t, r))
	checked := 0
	for _, line := range strings.Split(tb.String(), "\n") {
		if !strings.Contains(line, "│") {
			continue
		}
		for _, c := range strings.Split(line, "│") {
			c = strings.TrimSpace(c)
			if c == "" || strings.HasSuffix(c, "…") {
				continue
			}
			checked++
			if !strings.Contains(text, "|"+c+"|") {
				t.Errorf("terminal cell %q is not a cell of the HTML page", c)
			}
		}
	}
	if checked < 200 {
		t.Fatalf("only %d cells checked: the terminal view's layout changed, fix this test", checked)
	}
}

func TestHTMLEscapesReportText(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	const attr = `x" onmouseover="alert(2)`
	r := fixture()
	r.Scenario.Name = evil
	r.Warnings = []string{evil}
	r.Assertions[0].Actual = evil
	r.Faults[0].Target = attr + evil                 // in the SVG labels and titles
	r.Throughput[0].Target = attr                    // a series name in the SVG
	r.Divergence.Tables[0].Rows[0].Primary1 = evil   // a row value
	r.Conflicts.Stalls[0].Subscription = evil + "'x" // inside the SKIP hint
	page := renderHTML(t, r)
	checkBalanced(t, page)
	if strings.Contains(page, "<script") || strings.Contains(page, `" onmouseover="`) {
		t.Fatalf("report text reached the page unescaped")
	}
	if n := strings.Count(page, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 8 {
		t.Errorf("escaped text appears %d times, want it in the title, heading, warning, assertion, row, hint and 3 charts", n)
	}
}

func TestHTMLMinimalReportSkipsAbsentSections(t *testing.T) {
	page := renderHTML(t, &Report{Scenario: Scenario{Name: "smoke"}})
	checkBalanced(t, page)
	text := cellText(page)
	if !strings.Contains(text, "|NOT EVALUATED|smoke|") {
		t.Errorf("no verdict badge for an unevaluated report:\n%s", text)
	}
	for _, absent := range []string{"<svg", `id="assertions"`, `id="workloads"`, `id="faults"`, `id="lag"`, `id="divergence"`, `id="conflicts"`, `id="failovers"`} {
		if strings.Contains(page, absent) {
			t.Errorf("minimal report shows %q", absent)
		}
	}
	if err := HTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("nil report: want an error")
	}
}

func TestHTMLInterruptedAndVerdicts(t *testing.T) {
	for _, tc := range []struct {
		verdict, badge, css string
	}{{VerdictPass, "PASS", "v-pass"}, {VerdictFail, "FAIL", "v-fail"}, {VerdictNone, "NONE", "v-none"}} {
		r := fixture()
		r.Verdict, r.Interrupted = tc.verdict, true
		page := renderHTML(t, r)
		if !strings.Contains(page, `class="verdict `+tc.css+`"`) || !strings.Contains(page, `<div class="badge">`+tc.badge+`</div>`) {
			t.Errorf("verdict %s: badge %s/%s not found", tc.verdict, tc.badge, tc.css)
		}
		if text := cellText(page); !strings.Contains(text, "|interrupted|yes|") || !strings.Contains(text, "|interrupted: the figures cover only part of the run|") {
			t.Errorf("verdict %s: interrupted flag not shown", tc.verdict)
		}
	}
}

func TestChartSpecsSkipsChartsWithoutData(t *testing.T) {
	r := fixture()
	r.Throughput = nil
	r.Lag.Directions[0].Bytes = nil
	got := chartSpecs(r)
	if len(got) != 1 || got[0].ID != "chart-lag" {
		t.Fatalf("charts %v, want only the lag chart", got)
	}
	// The never-healed fault is shaded to the end of the run.
	if w := got[0].Windows[1]; w.From != 40 || w.To != 60 || got[0].XMax != 60 {
		t.Errorf("unhealed window %+v on an axis to %v, want 40..60", w, got[0].XMax)
	}
	if w := got[0].Windows[0]; w.From != 10 || w.To != 25.25 {
		t.Errorf("healed window %+v, want 10..25.25", w)
	}
}

func TestAxis(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		kind   axisKind
		log    bool
		ticks  []string
	}{
		{"empty", nil, axisMillis, false, []string{"0 s"}},
		{"all zero", []float64{0, 0, 0}, axisCount, false, []string{"0"}},
		{"one point", []float64{3}, axisCount, false, []string{"0", "1", "2", "3"}},
		{"linear ms", []float64{2, 3}, axisMillis, false, []string{"0 s", "1 ms", "2 ms", "3 ms"}},
		{"spike is log", []float64{0, 2, 15200}, axisMillis, true, []string{"1 ms", "10 ms", "100 ms", "1 s", "10 s", "1m40s"}},
		{"bytes binary steps", []float64{1024, 4096}, axisBytes, false, []string{"0 B", "1 KiB", "2 KiB", "3 KiB", "4 KiB"}},
		{"bytes MiB", []float64{0, 3.9 * 1024 * 1024}, axisBytes, false, []string{"0 B", "1 MiB", "2 MiB", "3 MiB", "4 MiB"}},
		{"bytes log base 16", []float64{300, 5 << 20}, axisBytes, true, []string{"256 B", "4 KiB", "64 KiB", "1 MiB", "16 MiB"}},
		{"ops", []float64{498, 500}, axisCount, false, []string{"0", "200", "400", "600"}},
		{"counts never log", []float64{1, 1000}, axisCount, false, []string{"0", "500", "1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAxis(tc.values, tc.kind)
			var got []string
			for _, v := range a.ticks {
				got = append(got, tc.kind.format(v))
			}
			if a.log != tc.log || strings.Join(got, ",") != strings.Join(tc.ticks, ",") {
				t.Errorf("log %v ticks %v, want log %v ticks %v", a.log, got, tc.log, tc.ticks)
			}
			for _, v := range tc.values {
				if f := a.frac(v); !(f >= 0 && f <= 1) {
					t.Errorf("frac(%v) = %v, outside the plot", v, f)
				}
			}
			if len(tc.values) > 0 && a.frac(slicesMax(tc.values)) != 1 && slicesMax(tc.values) > 0 && !endsOnTick(a, slicesMax(tc.values)) {
				// The top tick is at or above the largest value.
				t.Errorf("largest value %v above the top tick %v", slicesMax(tc.values), a.ticks[len(a.ticks)-1])
			}
		})
	}
}

func slicesMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func endsOnTick(a axis, v float64) bool { return a.ticks[len(a.ticks)-1] >= v }

func TestXTicks(t *testing.T) {
	for _, tc := range []struct {
		xmax float64
		want string
	}{
		{1, "0,0.2,0.4,0.6,0.8,1"},
		{2, "0,0.5,1,1.5,2"},
		{60, "0,10,20,30,40,50,60"},
		{75, "0,10,20,30,40,50,60,70"},
		{1800, "0,300,600,900,1200,1500,1800"},
	} {
		var got []string
		for _, v := range xTicks(tc.xmax) {
			got = append(got, fmt.Sprint(math.Round(v*1000)/1000))
		}
		if g := strings.Join(got, ","); g != tc.want {
			t.Errorf("xTicks(%v) = %s, want %s", tc.xmax, g, tc.want)
		}
	}
}

func TestChartDrawGeometry(t *testing.T) {
	c := chartSpec{
		XMax: 60, Kind: axisCount,
		Series:  []series{{Name: "a", Points: []point{{0, 0}, {30, 50}, {60, 100}}}},
		Errors:  []series{{Name: "a", Points: []point{{30, 4}, {31, 0}}}},
		Windows: []span{{From: 10, To: 25.25, Label: "w0"}, {From: 40, To: 60, Label: "w1"}},
		Marks:   []span{{From: 30, To: 30, Label: "m"}},
	}
	v := c.draw()
	// Plot: x 78..984 (906 wide), y 14..204.
	if v.PlotX != 78 || v.PlotR != 984 || v.PlotY != 14 || v.PlotB != 204 {
		t.Fatalf("plot box %v..%v x %v..%v", v.PlotX, v.PlotR, v.PlotY, v.PlotB)
	}
	if got, want := v.Lines[0].Points, "78.0,204.0 531.0,109.0 984.0,14.0"; got != want {
		t.Errorf("points %q, want %q", got, want)
	}
	w0, w1 := v.Windows[0], v.Windows[1]
	if w0.X != 229 || w0.W != 230.3 || w1.X != 682 || w1.X+w1.W != 984 || w0.H != v.Bottom-v.PlotY {
		t.Errorf("windows %+v %+v: want x 229 w 230.3, and 682 to the plot's right edge, full height", w0, w1)
	}
	if len(v.Bars) != 1 || v.Bars[0].X != 531 || v.Bars[0].H != errorLane || v.Bars[0].Y != v.Lane.Y {
		t.Errorf("error bars %+v, want one full-height bar at x 531 (4 of max 4)", v.Bars)
	}
	if v.Marks[0].X != 531 || v.Lane.Top != "max 4" {
		t.Errorf("mark at %v, lane top %q", v.Marks[0].X, v.Lane.Top)
	}
}

func TestChartDrawDegenerateSeries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  chartSpec
		empty bool
		dots  int
	}{
		{"no series", chartSpec{XMax: 10}, true, 0},
		{"empty series", chartSpec{XMax: 10, Series: []series{{Name: "a"}}}, true, 0},
		{"single point", chartSpec{XMax: 10, Series: []series{{Name: "a", Points: []point{{5, 7}}}}}, false, 1},
		{"all zero", chartSpec{XMax: 10, Kind: axisMillis, Series: []series{{Name: "a", Points: []point{{0, 0}, {1, 0}}}}}, false, 2},
		{"zero-length run", chartSpec{XMax: 0, Series: []series{{Name: "a", Points: []point{{0, 1}}}}, Errors: []series{{Name: "a", Points: []point{{0, 0}}}}, Windows: []span{{0, 0, "w"}}}, false, 1},
		{"negative and NaN x max", chartSpec{XMax: math.NaN(), Series: []series{{Name: "a", Points: []point{{-1, -5}}}}}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.spec.draw()
			dump := fmt.Sprintf("%+v", v)
			if strings.Contains(dump, "NaN") || strings.Contains(dump, "Inf") {
				t.Fatalf("non-finite coordinate: %s", dump)
			}
			if (v.Empty != "") != tc.empty {
				t.Errorf("empty note %q, want empty=%v", v.Empty, tc.empty)
			}
			dots := 0
			for _, l := range v.Lines {
				dots += len(l.Dots)
				for _, d := range l.Dots {
					if d.X < v.PlotX || d.X > v.PlotR || d.Y < v.PlotY || d.Y > v.PlotB {
						t.Errorf("dot %+v outside the plot", d)
					}
				}
			}
			if dots != tc.dots {
				t.Errorf("%d dots, want %d", dots, tc.dots)
			}
			for _, w := range v.Windows {
				if w.W < 2 {
					t.Errorf("window %+v narrower than 2 units: invisible", w)
				}
			}
		})
	}
}

// chartFixture is the table fixture with a minute of timelines, shaped like
// a partition: lag and bytes climb while the link is cut, errors cluster at
// the failover.
func chartFixture() *Report {
	r := fixture()
	d0, d1 := &r.Lag.Directions[0], &r.Lag.Directions[1]
	d0.Timeline, d0.Bytes, d1.Timeline, d1.Bytes = nil, nil, nil, nil
	r.Throughput = nil
	for s := range 60 {
		lag0, lag1 := 2*time.Millisecond, 1500*time.Microsecond
		var behind int64 = 2048
		if s >= 10 && s <= 25 {
			lag0 = time.Duration(s-9) * 950 * time.Millisecond
			lag1 = time.Duration(s-9) * 870 * time.Millisecond
			behind = int64(s-9) * 240 << 10
		}
		d0.Timeline = append(d0.Timeline, LagPoint{T: s, Max: dur(lag0)})
		d1.Timeline = append(d1.Timeline, LagPoint{T: s, Max: dur(lag1)})
		d0.Bytes = append(d0.Bytes, BytesPoint{T: float64(s) + 0.5, Bytes: behind})
		d1.Bytes = append(d1.Bytes, BytesPoint{T: float64(s) + 0.5, Bytes: behind / 3})
		var ok1, ok2, e2 int64 = 500, 200, 0
		if s >= 35 && s < 39 {
			ok2, e2 = 0, 12
		}
		r.Throughput = append(r.Throughput, Second{T: s, Target: "primary1", OK: ok1 - int64(s%3), Errors: int64(s % 7 / 6)}, Second{T: s, Target: "haproxy", OK: ok2, Errors: e2})
	}
	return r
}

// TestHTMLRendersInChromium opens the page in a real headless browser and
// looks at the pixels: each chart's fault shading is there, and the lines
// and error bars are drawn in it.
func TestHTMLRendersInChromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed and CI is set: run scripts/deps.sh (apt-get install -y chromium)")
		}
		t.Skip("skipping the browser check: chromium is not installed (apt-get install -y chromium); set CI=1 to make this a failure")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	shot := filepath.Join(dir, "report.png")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := HTML(f, chartFixture()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--window-size=1280,2400", "--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if dst := os.Getenv("PGCHAOS_KEEP_SCREENSHOT"); dst != "" { // to look at it: PGCHAOS_KEEP_SCREENSHOT=/tmp/x.png
		if b, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(dst, b, 0o644)
		}
	}
	pf, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Fatalf("screenshot is %v, want 1280x2400", b)
	}

	// The fault shade marks the chart regions: find the bands of rows that
	// hold it, one per chart.
	shade := rgbOf(faultShade)
	bands := rowBands(img, func(c [3]int) bool { return near(c, shade, 6) }, 40)
	if len(bands) != 3 {
		t.Fatalf("fault shading in %d vertical bands %v, want 3 (one per chart)", len(bands), bands)
	}
	blue, green, red := rgbOf(seriesColour(0)), rgbOf(seriesColour(1)), rgbOf(errorColour)
	for i, b := range bands {
		// The shade fills the plot's height, not just the outline of a label.
		if h := b[1] - b[0]; h < plotHeight*3/4 {
			t.Errorf("chart %d: fault shading %d rows high, want about the plot's %d", i, h, plotHeight)
		}
		nonWhite := countIn(img, b, func(c [3]int) bool { return !near(c, [3]int{255, 255, 255}, 10) })
		area := (b[1] - b[0]) * img.Bounds().Dx()
		if nonWhite < area/5 {
			t.Errorf("chart %d (rows %v): %d of %d pixels drawn: blank?", i, b, nonWhite, area)
		}
		for _, col := range []struct {
			name string
			rgb  [3]int
		}{{"first series (blue)", blue}, {"second series (green)", green}} {
			if n := countIn(img, b, func(c [3]int) bool { return near(c, col.rgb, 40) }); n < 100 {
				t.Errorf("chart %d (rows %v): %d pixels of the %s line, want a drawn line", i, b, n, col.name)
			}
		}
	}
	if n := countIn(img, bands[2], func(c [3]int) bool { return near(c, red, 30) }); n < 50 {
		t.Errorf("throughput chart: %d red pixels, want the error bars", n)
	}
	// The verdict badge (FAIL, red) is above the first chart.
	if n := countIn(img, [2]int{0, bands[0][0]}, func(c [3]int) bool { return near(c, red, 10) }); n < 2000 {
		t.Errorf("%d red badge pixels above the charts, want the FAIL badge", n)
	}
}

func rgbOf(hex string) [3]int {
	var c [3]int
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &c[0], &c[1], &c[2]); err != nil {
		panic(err)
	}
	return c
}

func rgbAt(img image.Image, x, y int) [3]int {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

func near(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// rowBands groups the rows having at least min matching pixels into runs
// of adjacent rows (a gap of a few rows, a tick label, does not split one).
func rowBands(img image.Image, match func([3]int) bool, min int) [][2]int {
	var bands [][2]int
	b := img.Bounds()
	last := -100
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if match(rgbAt(img, x, y)) {
				n++
			}
		}
		if n < min {
			continue
		}
		if y-last <= 4 && len(bands) > 0 {
			bands[len(bands)-1][1] = y + 1
		} else {
			bands = append(bands, [2]int{y, y + 1})
		}
		last = y
	}
	return bands
}

func countIn(img image.Image, rows [2]int, match func([3]int) bool) int {
	n := 0
	b := img.Bounds()
	for y := rows[0]; y < rows[1]; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if match(rgbAt(img, x, y)) {
				n++
			}
		}
	}
	return n
}

func TestFitLabel(t *testing.T) {
	const label = "#3 partition primary1<->primary2"
	for _, tc := range []struct {
		room float64
		want string
	}{
		{1000, label},
		{float64(len(label)) * labelCharWidth, label},
		{float64(len(label))*labelCharWidth - 1, "#3 partition"},
		{12 * labelCharWidth, "#3 partition"},
		{5, "#3"},
		{-10, "#3"},
	} {
		if got := fitLabel(label, tc.room); got != tc.want {
			t.Errorf("fitLabel(room %v) = %q, want %q", tc.room, got, tc.want)
		}
	}
}

// TestChartLabelsOfManyFaultsDoNotOverlap: a soak's fault every minute
// must not pile thirty labels on top of each other.
func TestChartLabelsOfManyFaultsDoNotOverlap(t *testing.T) {
	c := chartSpec{XMax: 1800, Series: []series{{Name: "a", Points: []point{{0, 1}}}}}
	for i := range 30 {
		from := float64(i*60 + 5)
		c.Windows = append(c.Windows, span{From: from, To: from + 20, Label: fmt.Sprintf("#%d partition primary1<->primary2", i)})
	}
	v := c.draw()
	for i, w := range v.Windows {
		if w.Label != c.Windows[i].Label {
			t.Errorf("window %d hover title %q, want the full label", i, w.Label)
		}
		end := w.LabelX + float64(len([]rune(w.Text)))*labelCharWidth
		if i+3 < len(v.Windows) && end > v.Windows[i+3].LabelX {
			t.Errorf("label %q ends at %v, past the next label on its row at %v", w.Text, end, v.Windows[i+3].LabelX)
		}
	}
}
