package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
)

// target check against the tutorial's compose lab, brought up without
// pgchaos: it finds native replication both ways on PostgreSQL 18, says
// which faults it can do (containers named) and cannot (no HAProxy admin
// address), never shows the password, and leaves the schema as it was.
func TestTargetCheckOnTheTutorialComposeLab(t *testing.T) {
	run, free := tutorialCompose(t, "pgchaostarget")

	dump := func() map[string]string {
		out := map[string]string{}
		for _, c := range []string{"postgres-primary1", "postgres-primary2"} {
			// A fixed restrict key: pg_dump 18 otherwise draws a random one
			// per dump, and two dumps of one schema would differ.
			out[c] = run("docker", "exec", c, "pg_dump", "-U", "postgres", "--schema-only", "--restrict-key=pgchaostest", "postgres")
		}
		return out
	}
	before := dump()

	file := filepath.Join(t.TempDir(), "cluster.yaml")
	spec := fmt.Sprintf(`nodes:
  - name: primary1
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: postgres-primary1
  - name: primary2
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: postgres-primary2
haproxy: { address: "127.0.0.1:%d" }
`, free.Primary1, free.Primary2, free.HAProxy)
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSWORD", "postgres") // the password's usual source, not the file

	var stdout, stderr bytes.Buffer
	code := runMain([]string{"target", "check", "--format", "json", file}, &stdout, &stderr)
	if code != exitcode.OK {
		t.Fatalf("target check exited %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	var r target.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("json: %v\n%s", err, &stdout)
	}
	for _, n := range r.Facts.Nodes {
		if !n.Reached || n.VersionNum/10000 != 18 || len(n.Engines) != 1 || n.Engines[0] != target.EngineNative {
			t.Errorf("%s: reached %v, version %d, engines %v; want reached, 18, [native]", n.Name, n.Reached, n.VersionNum, n.Engines)
		}
		if n.Container.State != target.ContainerRunning {
			t.Errorf("%s: container %+v, want running", n.Name, n.Container)
		}
	}
	edges := map[string]string{}
	for _, e := range r.Topology {
		if e.Engine != target.EngineNative || !e.Enabled {
			t.Errorf("edge %+v: want native and enabled", e)
		}
		edges[e.Subscriber] = e.Publisher
	}
	if len(r.Topology) != 2 || edges["primary1"] != "primary2" || edges["primary2"] != "primary1" {
		t.Errorf("topology %+v: want each node subscribed to the other", r.Topology)
	}
	for kind, want := range map[string]string{
		scenario.FaultKill: "yes", scenario.FaultPause: "yes", scenario.FaultKillApplyWorker: "yes",
		scenario.FaultDisableSubscription: "yes", scenario.FaultFailover: "no", scenario.FaultLockRows: "no",
	} {
		c, ok := r.Capability(kind)
		if !ok || c.Status() != want {
			t.Errorf("%s: %+v (status %s), want %s", kind, c, c.Status(), want)
		}
	}
	if c, _ := r.Capability(scenario.FaultFailover); len(c.Cannot) == 0 || !strings.Contains(c.Cannot[0].Reason, "admin") {
		t.Errorf("failover should say it needs the admin address: %+v", c)
	}

	// The table names the same things, for a person.
	stdout.Reset()
	stderr.Reset()
	if code := runMain([]string{"target", "check", file}, &stdout, &stderr); code != exitcode.OK {
		t.Fatalf("target check (table) exited %d: %s", code, &stderr)
	}
	for _, want := range []string{"primary1 <- primary2", "primary2 <- primary1", "failover", "no HAProxy admin address", "lag (heartbeat"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table output lacks %q:\n%s", want, &stdout)
		}
	}
	// The subscriptions' conninfo holds password=postgres: it must not
	// come out in either format.
	all := stdout.String() + stderr.String()
	stdout.Reset()
	runMain([]string{"target", "check", "--format", "json", file}, &stdout, &stderr)
	all += stdout.String()
	for _, leak := range []string{"password=postgres", ":postgres@"} {
		if strings.Contains(all, leak) {
			t.Errorf("output shows a password (%q):\n%s", leak, all)
		}
	}

	after := dump()
	for c := range before {
		if before[c] != after[c] {
			t.Errorf("%s: the schema changed under target check:\nbefore:\n%s\nafter:\n%s", c, before[c], after[c])
		}
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
