package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
)

// lab heal --target reads the target file before it touches anything: a
// bad file is exit 2 at its line, and --name with --target is refused.
func TestLabHealTargetRefusesBadInputBeforeAnything(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1") // nothing may be dialled
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("cluster.yaml", "nodes:\n  - {name: east, dsn: 'host=127.0.0.1 port=1'}\n  - {name: west, dsn: 'host=127.0.0.1 port=2'}\n")
	bad := write("bad.yaml", "nodes:\n  - {name: east, dsn: 'host=x', container: c, docker_host: 'ssh://ops:s3cret@west'}\n")
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"with --name", []string{"lab", "heal", "--target", good, "--name", "demo"}, "--name and --target exclude each other"},
		{"a password in docker_host", []string{"lab", "heal", "--target", bad}, "bad.yaml:2:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runMain(c.args, &out, &errOut); code != exitcode.BadInput {
				t.Errorf("exit %d, want %d\nstderr: %s", code, exitcode.BadInput, errOut.String())
			}
			if !strings.Contains(errOut.String(), c.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), c.stderr)
			}
			if strings.Contains(errOut.String()+out.String(), "s3cret") {
				t.Errorf("the password was shown: %s", errOut.String())
			}
		})
	}
}
