package compose_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
)

// The lab as plain files works the tutorial's way: compose up, the setup
// script, the psql checks, compose down -v — with whatever images this
// machine has (the official ones, or `make images` look-alikes).
func TestComposeLabRunsTheTutorialSteps(t *testing.T) {
	labtest.RequireDocker(t)
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("docker-compose not found and CI is set")
		}
		t.Skip("docker-compose not installed")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("psql not found and CI is set (.ci/run installs postgresql-client)")
		}
		t.Skip("psql not installed")
	}
	ctx := context.Background()
	cli, err := lab.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	labtest.LockCompose(t) // cmd/pgchaos's target check test uses the same names
	// The compose file names its containers as the tutorial does: a user's
	// own compose lab would collide, so leave it alone.
	for _, name := range []string{"postgres-primary1", "postgres-primary2", "haproxy-primary-primary"} {
		if _, err := cli.ContainerInspect(ctx, name); err == nil {
			t.Skipf("a container named %s exists (a compose lab is up): not touching it", name)
		}
	}
	images, err := lab.ResolveImages(ctx, cli, "18", lab.Images{})
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]int{}
	env := append(os.Environ(), "PGPASSWORD=postgres", "POSTGRES_IMAGE="+images.Postgres, "HAPROXY_IMAGE="+images.HAProxy)
	free := lab.FreePorts(lab.Ports{})
	for v, port := range map[string]int{"PRIMARY1_PORT": free.Primary1, "PRIMARY2_PORT": free.Primary2, "HAPROXY_PORT": free.HAProxy, "STATS_PORT": free.Stats} {
		ports[v] = port
		env = append(env, v+"="+strconv.Itoa(ports[v]))
	}
	project := "pgchaostest" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(compose, "-p", project, "-f", "docker-compose-primary-primary.yml", "down", "-v")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("compose down -v: %v\n%s", err, out)
		}
	})
	run(compose, "-p", project, "-f", "docker-compose-primary-primary.yml", "up", "-d")
	run("./setup-replication.sh")

	sql := func(port int, q string) string {
		t.Helper()
		return run(psql, "-h", "localhost", "-p", strconv.Itoa(port), "-U", "postgres", "-d", "postgres", "-c", q)
	}
	sql(ports["PRIMARY1_PORT"], "INSERT INTO test_table (name) VALUES ('test1');")
	sql(ports["PRIMARY2_PORT"], "INSERT INTO test_table (name) VALUES ('test2');")
	// HAProxy may still be checking its backends: retry briefly.
	deadline := time.Now().Add(20 * time.Second)
	for {
		cmd := exec.Command(psql, "-h", "localhost", "-p", strconv.Itoa(ports["HAPROXY_PORT"]), "-U", "postgres", "-d", "postgres",
			"-c", "INSERT INTO test_table (name) VALUES ('via-loadbalancer');")
		cmd.Env = append(env, "PGPASSWORD=postgres")
		if out, err := cmd.CombinedOutput(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("insert through haproxy: %v\n%s", err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		a, b := sql(ports["PRIMARY1_PORT"], "SELECT * FROM test_table;"), sql(ports["PRIMARY2_PORT"], "SELECT * FROM test_table;")
		if strings.Contains(a, "(3 rows)") && strings.Contains(b, "(3 rows)") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("both SELECTs should show 3 rows:\nprimary1:\n%s\nprimary2:\n%s", a, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
