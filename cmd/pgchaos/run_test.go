package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/reports"
)

func TestClientCPUsKeepsGoDefaultUnlessTold(t *testing.T) {
	cases := []struct {
		name    string
		flagSet bool
		n       int
		env     string
		apply   int
		source  string
		wantErr string
	}{
		{"nothing set: Go's default", false, 0, "", 0, reports.ClientDefault, ""},
		{"env set: the runtime applied it", false, 0, "3", 0, reports.ClientEnv, ""},
		{"env the runtime ignores: default", false, 0, "lots", 0, reports.ClientDefault, ""},
		{"env zero is ignored by the runtime too", false, 0, "0", 0, reports.ClientDefault, ""},
		{"flag", true, 2, "", 2, reports.ClientFlag, ""},
		{"flag wins over env", true, 1, "4", 1, reports.ClientFlag, ""},
		{"flag at the machine's count", true, 8, "", 8, reports.ClientFlag, ""},
		{"flag zero", true, 0, "", 0, "", "--client-cpus 0: use 1 to 8"},
		{"flag negative", true, -1, "", 0, "", "--client-cpus -1: use 1 to 8"},
		{"flag above the machine", true, 9, "", 0, "", "--client-cpus 9: use 1 to 8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			apply, source, err := clientCPUs(c.flagSet, c.n, c.env, 8)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || exitcode.Of(err) != exitcode.BadInput {
					t.Fatalf("err %v (exit %d), want bad input containing %q", err, exitcode.Of(err), c.wantErr)
				}
				return
			}
			if err != nil || apply != c.apply || source != c.source {
				t.Errorf("clientCPUs = %d, %q, %v; want %d, %q", apply, source, err, c.apply, c.source)
			}
		})
	}
}

func TestRunRejectsBadClientCPUsBeforeDoingAnything(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte("name: g\nduration: 5s\nworkloads:\n  - kind: insert\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := runtime.GOMAXPROCS(0)
	for _, n := range []int{0, runtime.NumCPU() + 1} {
		var out, errOut bytes.Buffer
		code := runMain([]string{"run", good, "--client-cpus", fmt.Sprint(n)}, &out, &errOut)
		want := fmt.Sprintf("--client-cpus %d: use 1 to %d", n, runtime.NumCPU())
		if code != exitcode.BadInput || !strings.Contains(errOut.String(), want) {
			t.Errorf("--client-cpus %d: exit %d, stderr %q; want exit %d and %q", n, code, errOut.String(), exitcode.BadInput, want)
		}
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS changed from %d to %d by a rejected run", before, got)
	}
}
