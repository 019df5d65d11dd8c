package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
)

// A variant that does not parse ends compare with exit 2 before anything
// is built or written: no lab (the report dir, made before the first lab,
// does not exist) and the message names the variant or its place in the file.
func TestCompareRejectsBadVariantsBeforeAnyLab(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain.yaml", "duration: 5s\nworkloads: [{kind: insert}]\n")
	three := write("three.yaml", "lab: {nodes: 3}\nduration: 5s\nworkloads:\n  - {kind: insert, targets: [primary1, primary3]}\n")
	badFile := write("bad.yaml", "duration: 5s\nworkloads: [{kind: insert}]\nvariants:\n  - native\n  - pglogical:keep_locl\n")
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"nodes not a number", []string{plain, "--variants", "native,nodes=three"}, `--variants: variant "nodes=three": nodes=three: "three" is not a whole number`},
		{"unknown resolver", []string{plain, "--variants", "native,pglogical:lww"}, `"lww" is not a pglogical conflict resolver`},
		{"one variant", []string{plain, "--variants", "native"}, "at least two variants"},
		{"none at all", []string{plain}, "names no variants: pass --variants"},
		{"in the file, at its place", []string{badFile}, `bad.yaml:5:5: variants[1]: variant "pglogical:keep_locl"`},
		{"a node the variant's lab lacks", []string{three, "--variants", "native,pglogical+nodes=2"}, "variant pglogical+nodes=2:\n" + three + ":4:40: workloads[0].targets[1]: \"primary3\" is not a target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(tmp, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			var out, errOut bytes.Buffer
			code := runMain(append([]string{"compare", "--report-dir", dir}, tc.args...), &out, &errOut)
			if code != exitcode.BadInput {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitcode.BadInput, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.says) {
				t.Errorf("stderr does not say %q:\n%s", tc.says, errOut.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("report dir %s exists (%v): compare went on after bad input", dir, err)
			}
		})
	}
}

// A bad variant in --variants wins over good ones in the file: the flag
// replaces the list, it does not add to it.
func TestCompareFlagReplacesTheFilesVariants(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v.yaml")
	if err := os.WriteFile(p, []byte("duration: 5s\nworkloads: [{kind: insert}]\nvariants: [native, pglogical]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := runMain([]string{"compare", p, "--variants", "native,native"}, &out, &errOut); code != exitcode.BadInput || !strings.Contains(errOut.String(), "listed twice") {
		t.Errorf("exit %d, stderr %s", code, errOut.String())
	}
}

func TestCompareHelpDocumentsTheGrammar(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain([]string{"compare", "--help"}, &out, &errOut); code != exitcode.OK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"pglogical:RESOLVER", "nodes=N", "joined by +", "--variants native,pglogical:last_update_wins,pglogical:keep_local,nodes=3", "130"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
