package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
)

// A bad engine or resolver is bad input (exit 2) that names the allowed
// values, before any Docker object is made.
func TestEngineAndResolverInputErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "engine.yaml")
	os.WriteFile(bad, []byte("duration: 5s\nlab:\n  resolver: keep_local\nworkloads:\n  - kind: insert\n"), 0o644)
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"lab up with an unknown engine", []string{"lab", "up", "--name", "never-built", "--engine", "x"}, `engine "x" is not known: use native or pglogical`},
		{"lab up with an unknown resolver", []string{"lab", "up", "--name", "never-built", "--engine", "pglogical", "--resolver", "newest"}, `resolver "newest" is not known: use one of last_update_wins, first_update_wins, apply_remote, keep_local, error`},
		{"lab up with a resolver on native", []string{"lab", "up", "--name", "never-built", "--resolver", "keep_local"}, `resolver "keep_local" is a pglogical setting: it needs engine pglogical`},
		{"validate a resolver without pglogical", []string{"validate", bad}, "engine.yaml:3:3: lab.resolver: keep_local is a pglogical setting and needs engine: pglogical"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runMain(c.args, &out, &errOut); code != exitcode.BadInput {
				t.Errorf("exit %d, want %d\nstderr: %s", code, exitcode.BadInput, errOut.String())
			}
			if !strings.Contains(errOut.String(), c.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), c.stderr)
			}
		})
	}
}
