package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
)

// sqlDir writes files into a fresh directory and returns it.
func sqlDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseSQLWorkload(t *testing.T) {
	dir := sqlDir(t, map[string]string{
		"a.sql": "\\set id random(1, 10)\nBEGIN;\nUPDATE test_table SET name = 'x' WHERE id = :id;\nCOMMIT;\n",
		"b.sql": "SELECT 1;\n",
	})
	tests := []struct {
		name    string
		yaml    string
		files   []string
		weights []int
	}{
		{"one script", "script: a.sql", []string{"a.sql"}, []int{1}},
		{"weighted scripts", "scripts: [{file: a.sql, weight: 3}, {file: b.sql}]", []string{"a.sql", "b.sql"}, []int{3, 1}},
		{"plain names", "scripts: [b.sql, a.sql]", []string{"b.sql", "a.sql"}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "s.yaml")
			src := "duration: 10s\nworkloads:\n  - kind: sql\n    targets: [primary1, haproxy]\n    concurrency: 3\n    rate: 50/s\n    " + tt.yaml + "\n"
			s, err := Parse(file, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			w := s.Workloads[0]
			if w.Name != "sql" || w.Concurrency != 3 || w.Rate != 50 || !reflect.DeepEqual(w.Targets, []string{Primary1, HAProxy}) {
				t.Errorf("workload %+v", w)
			}
			var files []string
			var weights []int
			for _, sc := range w.Scripts {
				files, weights = append(files, sc.File), append(weights, sc.Weight)
				if sc.Parsed == nil || sc.Path != filepath.Join(dir, sc.File) || sc.Parsed.File != sc.Path {
					t.Errorf("script %s: path %q, parsed %v", sc.File, sc.Path, sc.Parsed != nil)
				}
			}
			if !reflect.DeepEqual(files, tt.files) || !reflect.DeepEqual(weights, tt.weights) {
				t.Errorf("scripts %v weights %v, want %v %v", files, weights, tt.files, tt.weights)
			}
		})
	}
}

// TestParseSQLWorkloadErrors pins each problem of a sql workload, in the
// scenario (file:line:col) or in a script (its own file:line).
func TestParseSQLWorkloadErrors(t *testing.T) {
	dir := sqlDir(t, map[string]string{
		"ok.sql":    "SELECT 1;\n",
		"meta.sql":  "\\set id random(1, 10)\n\\sleeep 1 ms\nSELECT :id;\n",
		"undef.sql": "SELECT 1;\nSELECT :nope;\n",
		"many.sql":  "\\bad\nSELECT :x;\n",
	})
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown meta-command", "- {kind: sql, script: meta.sql}", []string{
			`meta.sql:2: unknown meta-command \sleeep: pgchaos knows \set and \sleep`}},
		{"undefined variable", "- {kind: sql, scripts: [ok.sql, {file: undef.sql, weight: 2}]}", []string{
			`undef.sql:2: undefined variable :nope: set it with \set nope … on a line before this one`}},
		{"two problems in one script, listed where the scenario names it", "- {kind: sql, script: many.sql, rate: fast}", []string{
			`many.sql:1: unknown meta-command \bad: pgchaos knows \set and \sleep`,
			`many.sql:2: undefined variable :x: set it with \set x … on a line before this one`,
			`s.yaml:3:41: workloads[0].rate: "fast" is not a rate (use e.g. 500/s, 30/m, or 500 for per second)`}},
		{"missing file", "- {kind: sql, script: nope.sql}", []string{
			`s.yaml:3:25: workloads[0].script: read sql script: open ` + filepath.Join(dir, "nope.sql") + `: no such file or directory (check the path)`}},
		{"no script", "- {kind: sql}", []string{
			`s.yaml:3:5: workloads[0]: a sql workload needs script: FILE, or scripts: [{file: FILE, weight: N}, …]`}},
		{"both forms", "- {kind: sql, script: ok.sql, scripts: [ok.sql]}", []string{
			`s.yaml:3:33: workloads[0]: give script: (one file) or scripts: (several with weights), not both`}},
		{"bad weights and entries", "- {kind: sql, scripts: [{file: ok.sql, weight: 0}, {weight: 2}, ok.sql, ok.sql, {file: ok.sql, wieght: 1}]}", []string{
			`s.yaml:3:50: workloads[0].scripts[0].weight: 0 is out of range (must be 1 to 1000)`,
			`s.yaml:3:54: workloads[0].scripts[1]: file is required: the script's path, relative to the scenario file`,
			`s.yaml:3:75: workloads[0].scripts[3]: ok.sql is already workloads[0].scripts[2]: list a script once and give it the weight you want`,
			`s.yaml:3:83: workloads[0].scripts[4]: ok.sql is already workloads[0].scripts[2]: list a script once and give it the weight you want`,
			`s.yaml:3:98: unknown key "wieght" in workloads[0].scripts[4] (allowed: file, weight)`,
		}},
		{"weight too large", "- {kind: sql, scripts: [{file: ok.sql, weight: 1001}]}", []string{
			`s.yaml:3:50: workloads[0].scripts[0].weight: 1001 is out of range (must be 1 to 1000)`}},
		{"empty list", "- {kind: sql, scripts: []}", []string{
			`s.yaml:3:26: workloads[0].scripts is empty: name at least one script`}},
		{"keys of other kinds", "- {kind: sql, script: ok.sql, rows: 3}", []string{
			`s.yaml:3:33: unknown key "rows" in workloads[0] (allowed: name, kind, targets, concurrency, rate, script, scripts)`}},
		{"script on another kind", "- {kind: insert, script: ok.sql}", []string{
			`s.yaml:3:20: workloads[0]: script is not used by a insert workload (only by kind: sql): remove it`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "s.yaml")
			_, err := Parse(file, []byte("duration: 10s\nworkloads:\n  "+tt.yaml+"\n"))
			if exitcode.Of(err) != exitcode.BadInput {
				t.Fatalf("exit code %d for %v, want 2", exitcode.Of(err), err)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("%v: not Errors", err)
			}
			var got []string
			for _, e := range es {
				got = append(got, strings.TrimPrefix(e.Error(), dir+string(filepath.Separator)))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestSQLExampleScripts pins the example's mix: orders.sql three times as
// often as order-lookup.sql, both beside the scenario.
func TestSQLExampleScripts(t *testing.T) {
	s, err := Load(filepath.Join("..", "scenarios", "sql-orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w := s.Workloads[0]
	if w.Kind != KindSQL || len(w.Scripts) != 2 || w.Scripts[0].File != "orders.sql" || w.Scripts[0].Weight != 3 ||
		w.Scripts[1].File != "order-lookup.sql" || w.Scripts[1].Weight != 1 || w.Scripts[1].Parsed == nil || !w.Scripts[1].Parsed.Wrapped {
		t.Errorf("workload %+v", w)
	}
}
