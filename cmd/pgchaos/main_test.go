package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/workload"
)

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("name: g\nduration: 5s\nworkloads:\n  - kind: insert\n"), 0o644)
	os.WriteFile(bad, []byte("name: b\nduration: 5s\nworkloads:\n  - kind: insert\n    concurency: 2\n"), 0o644)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no arguments prints usage", nil, exitcode.OK, "Commands:", ""},
		{"unknown command", []string{"frobnicate"}, exitcode.BadInput, "", `unknown command "frobnicate"`},
		{"a command group lists its commands on --help", []string{"target", "--help"}, exitcode.OK, "target heal", ""},
		{"a command group alone asks for one of its commands", []string{"lab"}, exitcode.BadInput, "", "pgchaos lab: name one of its commands:\n  lab diff"},
		{"an unknown command of a group lists the group", []string{"lab", "frob"}, exitcode.BadInput, "", `pgchaos lab: unknown command "lab frob":`},
		{"validate good file", []string{"validate", good}, exitcode.OK, "good.yaml: ok", ""},
		{"validate bad file says where", []string{"validate", bad}, exitcode.BadInput, "", "bad.yaml:5:5: unknown key \"concurency\""},
		{"validate without file", []string{"validate"}, exitcode.BadInput, "", "name at least one scenario file"},
		{"run with a bad file touches nothing", []string{"run", bad}, exitcode.BadInput, "", "bad.yaml:5:5"},
		{"run with an unknown flag", []string{"run", good, "--frob"}, exitcode.BadInput, "", "unknown flag: --frob"},
		{"run with a bad format", []string{"run", good, "--format", "xml"}, exitcode.BadInput, "", "use table, json or none"},
		{"help of a subcommand shows examples", []string{"lab", "up", "--help"}, exitcode.OK, "", "Examples:"},
		{"report show with a bad format says what is allowed", []string{"report", "show", good, "--format", "pdf"}, exitcode.BadInput, "", `--format "pdf": use table, json, junit or html`},
		{"lab diff with a bad format fails before touching Docker", []string{"lab", "diff", "--format", "xml"}, exitcode.BadInput, "", `--format "xml": use table or json`},
		{"report show of a missing file", []string{"report", "show", filepath.Join(dir, "nope.json")}, exitcode.BadInput, "", "nope.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runMain(c.args, &out, &errOut)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), c.stdout) {
				t.Errorf("stdout %q does not contain %q", out.String(), c.stdout)
			}
			if !strings.Contains(errOut.String(), c.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), c.stderr)
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	p := runner.Progress{Elapsed: 12e9, Total: 30e9, ActiveFaults: []string{"pause primary2", "failover haproxy/primary1"},
		Workload: workload.Progress{Targets: []workload.TargetProgress{{Target: "primary1", OpsPerSec: 412.4, Errors: 0}, {Target: "haproxy", OpsPerSec: 98, Errors: 7}}}}
	got := progressLine(p)
	want := " 12s/30s | primary1 412 ops/s | haproxy 98 ops/s 7 err | faults: failover haproxy/primary1, pause primary2"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// report show takes a compare.json too: its table, JSON and page; JUnit
// is refused with what to do.
func TestReportShowRendersAComparison(t *testing.T) {
	dir := t.TempDir()
	c := &reports.Comparison{Version: "v-test", Scenario: reports.Scenario{Name: "hot"},
		Variants: []reports.VariantResult{reports.VariantOf("native", nil), reports.VariantOf("pglogical:keep_local", nil)}}
	c.Summarise()
	var b bytes.Buffer
	if err := reports.CompareJSON(&b, c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "compare.json")
	os.WriteFile(path, b.Bytes(), 0o644)
	for _, tc := range []struct {
		format string
		code   int
		out    string
	}{
		{"table", exitcode.OK, "pglogical:keep_local"},
		{"json", exitcode.OK, `"schema": "pgchaos.compare/v1"`},
		{"html", exitcode.OK, "<html"},
		{"junit", exitcode.BadInput, "--format junit is for a run's report.json"},
	} {
		var stdout, stderr bytes.Buffer
		code := runMain([]string{"report", "show", path, "--format", tc.format}, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("report show --format %s: exit %d, want %d with %q\nstdout:\n%.300s\nstderr:\n%s", tc.format, code, tc.code, tc.out, &stdout, &stderr)
		}
	}
}
