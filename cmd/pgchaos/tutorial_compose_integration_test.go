package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
)

// tutorialCompose brings the tutorial's compose setup up as a user would,
// without pgchaos (docker-compose up, then setup-replication.sh), on free
// host ports, and takes it down with its volumes when the test ends. It
// returns a runner of commands in compose/ with the setup's environment
// and the ports. The compose file fixes the containers' names: a setup
// already up under them is someone's, so the test skips rather than
// touch it, and tests that use it run one at a time (LockCompose).
func tutorialCompose(t *testing.T, projectPrefix string) (run func(name string, args ...string) string, free lab.Ports) {
	t.Helper()
	labtest.RequireDocker(t)
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("docker-compose not found and CI is set")
		}
		t.Skip("docker-compose not installed")
	}
	labtest.LockCompose(t) // compose/compose_integration_test.go uses the same names
	for _, name := range []string{"postgres-primary1", "postgres-primary2", "haproxy-primary-primary"} {
		if err := exec.Command("docker", "inspect", "--type", "container", name).Run(); err == nil {
			t.Skipf("a container named %s exists (a compose lab is up): not touching it", name)
		}
	}
	dir, err := filepath.Abs("../../compose")
	if err != nil {
		t.Fatal(err)
	}
	free = lab.FreePorts(lab.Ports{})
	env := append(os.Environ(),
		"POSTGRES_IMAGE="+envOr("POSTGRES_IMAGE", "pgchaos-local/postgres:18"),
		"HAPROXY_IMAGE="+envOr("HAPROXY_IMAGE", "pgchaos-local/haproxy:3.2"),
		"PRIMARY1_PORT="+strconv.Itoa(free.Primary1), "PRIMARY2_PORT="+strconv.Itoa(free.Primary2),
		"HAPROXY_PORT="+strconv.Itoa(free.HAProxy), "STATS_PORT="+strconv.Itoa(free.Stats))
	project := fmt.Sprintf("%s%d", projectPrefix, time.Now().UnixNano()%1e6)
	run = func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(compose, "-p", project, "-f", "docker-compose-primary-primary.yml", "down", "-v")
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("compose down -v: %v\n%s", err, out)
		}
	})
	run(compose, "-p", project, "-f", "docker-compose-primary-primary.yml", "up", "-d")
	run("./setup-replication.sh")
	return run, free
}

// writeIn returns a function that writes a file of the test's into dir
// (mode 0600: target files may hold a password) and returns its path.
func writeIn(t *testing.T, dir string) func(name, text string) string {
	return func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
