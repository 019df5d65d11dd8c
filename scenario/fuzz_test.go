package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics, that every failure carries
// positioned Errors, and that every success is a scenario the runner can
// use. The seeds are the test files, good and bad, and the examples.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*/*.yaml", "../scenarios/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("duration: 1s\nworkloads: [{kind: insert}]\nfaults: [{kind: failover, from: primary1, at: 0}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error without scenario.Errors: %v", err)
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "fuzz.yaml:") || e.Msg == "" || e.Pos.Line < 1 {
					t.Fatalf("badly placed error: %q (%+v)", e.Error(), e.Pos)
				}
			}
			if s != nil {
				t.Fatal("a scenario returned along with errors")
			}
			return
		}
		if s.Duration <= 0 || s.Duration > MaxDuration || len(s.Workloads) == 0 || len(s.Workloads) > maxWorkloads || len(s.Faults) > maxFaults {
			t.Fatalf("accepted a scenario the runner cannot run: %+v", s)
		}
		names := map[string]bool{}
		for _, w := range s.Workloads {
			if w.Name == "" || names[w.Name] || w.Kind == "" || w.Concurrency < 1 || w.Concurrency > maxConcurrency ||
				len(w.Targets) == 0 || w.Rows > maxRows || w.Rate > maxRate || len(w.Name) > maxNameLen {
				t.Fatalf("accepted a bad workload: %+v", w)
			}
			names[w.Name] = true
		}
		for _, fl := range s.Faults {
			if fl.Kind == "" || fl.At < 0 || fl.At >= s.Duration || fl.Until(s.Duration) > s.Duration {
				t.Fatalf("accepted a bad fault: %+v", fl)
			}
		}
		// No two accepted faults hold one resource at once (see claims).
		for i, a := range s.Faults {
			for j := i + 1; j < len(s.Faults); j++ {
				for _, ca := range claims(a, i, s.Duration, s.Lab.NodeCount()) {
					for _, cb := range claims(s.Faults[j], j, s.Duration, s.Lab.NodeCount()) {
						if ca.resource == cb.resource && clashes(ca.role) == cb.role && max(ca.start, cb.start) < min(ca.end, cb.end) {
							t.Fatalf("accepted overlapping faults[%d] %v and faults[%d] %v on %s", i, a, j, s.Faults[j], ca.resource)
						}
					}
				}
			}
		}
		if steps := s.Timeline(); len(steps) > 2*len(s.Faults) {
			t.Fatalf("%d steps for %d faults", len(steps), len(s.Faults))
		}
	})
}
