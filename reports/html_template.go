package reports

// htmlPage is the page template. It holds no script and no link: styles
// are inline and the charts are inline SVG, so the file opens offline and
// shows everything with JavaScript off. Hover titles are SVG <title>s.
const htmlPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1f2933; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1060px; margin: 0 auto; padding: 20px 24px 40px; }
header.verdict { display: flex; gap: 24px; align-items: flex-start; background: #fff; border: 1px solid #dde1e6; border-left: 10px solid #6b7280; border-radius: 6px; padding: 16px 20px; }
header.verdict.v-pass { border-left-color: #16a34a; }
header.verdict.v-fail { border-left-color: #dc2626; }
.badge { font-size: 40px; font-weight: 800; letter-spacing: 2px; color: #fff; background: #6b7280; border-radius: 6px; padding: 6px 18px; min-width: 120px; text-align: center; }
.v-pass .badge { background: #16a34a; }
.v-fail .badge { background: #dc2626; }
h1 { margin: 0 0 6px; font-size: 22px; }
h2 { font-size: 17px; margin: 0 0 10px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 14px 18px; margin-top: 16px; overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 10px; }
caption { text-align: left; font-weight: 600; padding: 6px 0 4px; }
th, td { border: 1px solid #e3e6ea; padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
table.kv th { background: #f7f8fa; font-weight: 500; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.code, code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
.pass { color: #15803d; font-weight: 600; }
.fail { color: #b91c1c; font-weight: 600; }
td.fail, td.pass { font-weight: 600; }
td.fail { color: #b91c1c; } td.pass { color: #15803d; }
p.fail { color: #b91c1c; font-weight: 600; }
ul.warnings { margin: 12px 0 0; padding: 10px 14px 10px 30px; background: #fff8e6; border: 1px solid #f3d58a; border-radius: 6px; }
.interrupted { display: inline-block; margin-top: 6px; padding: 2px 8px; background: #fee2e2; color: #991b1b; border-radius: 4px; font-weight: 600; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #4b5563; }
svg.chart text.flabel { fill: #9a4a0b; font-weight: 600; paint-order: stroke; stroke: #fde2c4; stroke-width: 3px; }
svg.chart text.mlabel { fill: #374151; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.chart text.empty { font-size: 14px; fill: #9ca3af; }
footer { margin-top: 20px; color: #6b7280; font-size: 12px; }
</style>
</head>
<body>
<main>
<header class="verdict v-{{.VerdictCSS}}">
<div class="badge">{{.Verdict}}</div>
<div>
<h1>{{.Scenario}}</h1>
{{template "table" .Run}}
{{if .Interrupted}}<div class="interrupted">interrupted: the figures cover only part of the run</div>{{end}}
</div>
</header>
{{with .Warnings}}<ul class="warnings">{{range .}}<li>warning: {{.}}</li>{{end}}</ul>{{end}}
{{with .Assertions}}<section id="assertions"><h2>Assertions</h2>{{template "table" .}}</section>{{end}}
{{range .Charts}}<section class="chart-section"><h2>{{.Title}}</h2>{{template "chart" .}}</section>
{{end}}
{{range .Sections}}<section id="{{.ID}}"><h2>{{.Title}}</h2>
{{range .Blocks}}{{if .Table}}{{template "table" .Table}}{{else}}<p{{with .CSS}} class="{{.}}"{{end}}>{{.Text}}{{with .Code}} <code>{{.}}</code>{{end}}</p>{{end}}
{{end}}</section>
{{end}}
<footer>{{.Footer}}</footer>
</main>
</body>
</html>
{{define "table"}}<table{{if .KV}} class="kv"{{end}}>{{with .Caption}}<caption>{{.}}</caption>{{end}}
{{with .Header}}<thead><tr>{{range .}}<th>{{.}}</th>{{end}}</tr></thead>{{end}}
<tbody>
{{- $kv := .KV}}{{range .Rows}}<tr>{{range $i, $c := .}}{{if and $kv (eq $i 0)}}<th>{{$c.Text}}</th>{{else}}<td{{with $c.CSS}} class="{{.}}"{{end}}>{{$c.Text}}{{range $j, $l := $c.Lines}}{{if $j}}<br>{{end}}{{$l}}{{end}}</td>{{end}}{{end}}</tr>
{{end}}</tbody></table>{{end}}
{{define "chart"}}<svg class="chart" id="{{.ID}}" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Title}}">
<rect x="0" y="0" width="{{.Width}}" height="{{.Height}}" fill="#ffffff"/>
{{range .Windows}}<rect class="fault" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}" stroke="{{.Stroke}}" stroke-dasharray="4 3"><title>{{.Label}}</title></rect>
{{end}}
{{- $c := .}}{{range .YTicks}}<line x1="{{$c.PlotX}}" x2="{{$c.PlotR}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#e5e7eb"/><text x="{{$c.PlotX}}" y="{{.Pos}}" dx="-6" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}
{{- range .XTicks}}<line x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$c.Bottom}}" y2="{{$c.Bottom}}" stroke="#9ca3af"/><text x="{{.Pos}}" y="{{$c.XLabelY}}" text-anchor="middle">{{.Label}}</text>
{{end}}
<rect x="{{.PlotX}}" y="{{.PlotY}}" width="{{.PlotW}}" height="{{.PlotH}}" fill="none" stroke="#9ca3af"/>
<text x="{{.YTitleX}}" y="{{.YTitleY}}" transform="rotate(-90 {{.YTitleX}} {{.YTitleY}})" text-anchor="middle">{{.YTitle}}{{if .LogScale}} (log scale){{end}}</text>
{{range .Windows}}<text class="flabel" x="{{.LabelX}}" y="{{.LabelY}}">{{.Text}}</text>
{{end}}
{{- range .Marks}}<line x1="{{.X}}" x2="{{.X}}" y1="{{.Y1}}" y2="{{.Y2}}" stroke="#374151" stroke-width="1.5" stroke-dasharray="6 4"/><text class="mlabel" x="{{.X}}" y="{{.LabelY}}" dx="4">{{.Label}}</text>
{{end}}
{{- range .Lines}}<polyline fill="none" stroke="{{.Colour}}" stroke-width="2" stroke-linejoin="round" points="{{.Points}}"><title>{{.Name}}</title></polyline>
{{$col := .Colour}}{{range .Dots}}<circle cx="{{.X}}" cy="{{.Y}}" r="3" fill="{{$col}}"><title>{{.Title}}</title></circle>{{end}}
{{end}}
{{- with .Lane}}<rect x="{{$c.PlotX}}" y="{{.Y}}" width="{{$c.PlotW}}" height="{{.H}}" fill="none" stroke="#9ca3af"/><text x="{{$c.PlotX}}" y="{{.Y}}" dx="-6" dy="12" text-anchor="end">{{.Label}}</text><text x="{{$c.PlotX}}" y="{{.Y}}" dx="-6" dy="26" text-anchor="end">{{.Top}}</text>
{{end}}
{{- range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}"><title>{{.Label}}</title></rect>{{end}}
{{with .Empty}}<text class="empty" x="{{$c.PlotX}}" y="{{$c.PlotY}}" dx="20" dy="40">{{.}}</text>{{end}}
{{range .Legend}}<rect x="{{.X}}" y="{{.Y}}" width="16" height="10" fill="{{.Colour}}" stroke="#9ca3af" stroke-width="0.5" transform="translate(0 -9)"/><text x="{{.X}}" y="{{.Y}}" dx="21">{{.Name}}</text>
{{end}}</svg>{{end}}
`
