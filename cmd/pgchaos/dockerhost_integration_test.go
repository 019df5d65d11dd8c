package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// dockerForwarder is another Docker engine for tests: a listener (tcp on
// 127.0.0.1, or a unix socket in a temporary directory) that carries each
// connection to the local engine's unix socket. It keeps the request lines it carried ("POST /v1.51/containers/ID/stop").
type dockerForwarder struct {
	Addr string // 127.0.0.1:PORT, or the socket's path
	mu   sync.Mutex
	reqs []string
}

// Requests are the request lines carried so far.
func (f *dockerForwarder) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// Carried reports whether a request for method and a path ending in
// suffix (e.g. "/containers/ID/stop") went through, after the first skip
// requests.
func (f *dockerForwarder) Carried(skip int, method, suffix string) bool {
	for _, r := range f.Requests()[skip:] {
		m, rest, _ := strings.Cut(r, " ")
		path, _, _ := strings.Cut(rest, " ")
		path, _, _ = strings.Cut(path, "?")
		if m == method && strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// requestLines collects the HTTP request lines of one connection's stream.
type requestLines struct {
	f       *dockerForwarder
	partial []byte
}

func (r *requestLines) Write(p []byte) (int, error) {
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(r.partial[:i]))
		r.partial = r.partial[i+1:]
		if m, _, _ := strings.Cut(line, " "); (m == "GET" || m == "POST" || m == "DELETE" || m == "HEAD") && strings.HasSuffix(line, "HTTP/1.1") {
			r.f.mu.Lock()
			r.f.reqs = append(r.f.reqs, line)
			r.f.mu.Unlock()
		}
	}
	if len(r.partial) > 1<<16 { // a body without newlines: not request lines
		r.partial = r.partial[:0]
	}
	return len(p), nil
}

func forwardDocker(t *testing.T, network string) *dockerForwarder {
	t.Helper()
	sock := "/var/run/docker.sock"
	if h, ok := strings.CutPrefix(os.Getenv(client.EnvOverrideHost), "unix://"); ok {
		sock = h
	}
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "docker.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &dockerForwarder{Addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", sock)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			open = append(open, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(out, io.TeeReader(in, &requestLines{f: f})); out.Close() }()
			go func() { defer wg.Done(); io.Copy(in, out); in.Close() }()
		}
	}()
	return f
}

// A pgchaos-built lab used as a target whose east node's container is
// reached through docker_host tcp:// (a forwarder to the local engine):
// a run stops and then pauses east's container — seen stopped and paused
// by inspect on the engine while the run holds the fault, west untouched
// — heals both, and replication resumes both ways; east's stop, start,
// pause, unpause and log reads went through the tcp engine, nothing of
// west's did. With both nodes on a unix:// engine (another socket) a
// partition is refused at its line while the engine lacks the
// network-tools image, and otherwise runs its helper there and holds
// replication up both ways. Then a run killed (SIGKILL) inside a
// stop leaves it in the ledger target-cluster, and `pgchaos lab heal
// --target` in another process heals it; a second heal finds nothing.
func TestTargetContainerFaultsThroughTCPAndUnixDockerHosts(t *testing.T) {
	l := labtest.Start(t)
	fwd := forwardDocker(t, "tcp")
	bin := buildBinary(t)
	state := t.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+state, "PGPASSWORD="+l.SuperuserPassword())
	east, _ := l.Node(lab.Primary1)
	west, _ := l.Node(lab.Primary2)

	work := t.TempDir()
	write := writeIn(t, work)
	targetFile := write("cluster.yaml", fmt.Sprintf(`nodes:
  - name: east
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: %s
    docker_host: "tcp://%s"
  - name: west
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: %s
`, east.Port, east.Container, fwd.Addr, west.Port, west.Container))
	write("add.sql", "INSERT INTO test_table (name) VALUES ('on-target');\n")
	scen := write("faults.yaml", `name: remote-engine
duration: 30s
workloads:
  - {kind: sql, script: add.sql, targets: [east, west], rate: 20/s}
faults:
  - {at: 3s, kind: stop, node: east, for: 6s}
  - {at: 18s, kind: pause, node: east, for: 4s}
`)
	t.Cleanup(func() { runBin(bin, env, "target", "clean", targetFile, "--allow") })

	// Watch both containers on the engine while the run holds the faults.
	docker := l.Docker()
	var seen sync.Map // "east exited", "east paused", "west <state>"
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watchCtx.Err() == nil {
			for name, n := range map[string]lab.Node{"east": east, "west": west} {
				if ci, err := docker.ContainerInspect(watchCtx, n.ID); err == nil && ci.State != nil {
					seen.Store(name+" "+ci.State.Status, true)
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	before := len(fwd.Requests())
	reportDir := filepath.Join(work, "report")
	out, err := runBin(bin, env, "run", scen, "--target", targetFile, "--allow-setup", "--format", "none", "--report-dir", reportDir)
	stopWatch()
	<-watched
	if err != nil {
		t.Fatalf("run --target: %v\n%s", err, out)
	}
	var states []string
	seen.Range(func(k, _ any) bool { states = append(states, k.(string)); return true })
	t.Logf("states seen: %q; requests through the tcp engine: %d", states, len(fwd.Requests())-before)
	for _, want := range []string{"east exited", "east paused"} {
		if _, ok := seen.Load(want); !ok {
			t.Errorf("never saw %s while the run held its faults (saw %q)", want, states)
		}
	}
	for _, s := range states {
		if strings.HasPrefix(s, "west ") && s != "west running" {
			t.Errorf("west's container was %s: the faults were for east", s)
		}
	}
	// East's faults went through its engine, and nothing of west's did.
	for _, op := range []string{"stop", "start", "pause", "unpause"} {
		if !fwd.Carried(before, "POST", "/containers/"+east.ID+"/"+op) {
			t.Errorf("no %s of east's container went through its tcp:// engine; requests: %q", op, fwd.Requests()[before:])
		}
	}
	if !fwd.Carried(before, "GET", "/containers/"+east.ID+"/logs") {
		t.Errorf("east's server log (conflicts) was not read through its tcp:// engine; requests: %q", fwd.Requests()[before:])
	}
	for _, r := range fwd.Requests() {
		if strings.Contains(r, west.ID) || strings.Contains(r, "/"+west.Container+"/") {
			t.Errorf("a request for west went to east's engine: %s", r)
		}
	}
	raw, err := os.ReadFile(filepath.Join(reportDir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep reports.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Faults) != 2 {
		t.Errorf("faults %+v: want the stop and the pause", rep.Faults)
	}
	for _, f := range rep.Faults {
		t.Logf("fault %s %s: injected at %v, effects %q", f.Kind, f.Target, f.Injected.D(), f.Effects)
		if f.Target != "east" || f.Healed == nil || f.HealError != "" {
			t.Errorf("fault %+v: want on east, injected and healed", f)
		}
	}
	assertRunningAndReplicating(t, l, east)

	// Both nodes on a unix:// engine (another socket): a partition runs
	// its helper there, in each node's namespace, and cuts replication
	// both ways until healed.
	sock := forwardDocker(t, "unix")
	both := write("both.yaml", fmt.Sprintf(`nodes:
  - {name: east, dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", container: %s, docker_host: "unix://%s"}
  - {name: west, dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", container: %s, docker_host: "unix://%s"}
`, east.Port, east.Container, sock.Addr, west.Port, west.Container, sock.Addr))
	part := write("partition.yaml", `name: remote-partition
duration: 14s
workloads:
  - {kind: sql, script: add.sql, targets: [east, west], rate: 10/s}
faults:
  - {at: 3s, kind: partition, between: [east, west], for: 5s}
`)
	// Without the network-tools image on that engine the partition is
	// refused at its line, before anything runs.
	noTools := append(slices.Clone(env), lab.NetToolsEnv+"=pgchaos-local/nettools:absent")
	out, err = runBin(bin, noTools, "run", part, "--target", both, "--format", "none", "--report-dir", filepath.Join(work, "refused"))
	var refused *exec.ExitError
	if !errors.As(err, &refused) || refused.ExitCode() != 2 || !strings.Contains(out, "partition.yaml:6:5: faults[0] (kind: partition): cannot be done on east: the network-tools image pgchaos-local/nettools:absent is not on unix://"+sock.Addr) {
		t.Errorf("partition without the nettools image on its engine: %v, want exit 2 at partition.yaml:6:5 naming the image and the engine\n%s", err, out)
	}
	partDir := filepath.Join(work, "partition")
	if out, err := runBin(bin, env, "run", part, "--target", both, "--format", "none", "--report-dir", partDir); err != nil {
		t.Fatalf("run --target with a partition on the tcp engine: %v\n%s", err, out)
	}
	if !sock.Carried(0, "POST", "/containers/create") {
		t.Errorf("the partition's helper was not created through the unix:// engine; requests: %q", sock.Requests())
	}
	raw, err = os.ReadFile(filepath.Join(partDir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep = reports.Report{}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Faults) != 1 || rep.Faults[0].Healed == nil || rep.Faults[0].HealError != "" {
		t.Fatalf("partition: faults %+v, want one injected and healed", rep.Faults)
	}
	t.Logf("partition %s: effects %q", rep.Faults[0].Target, rep.Faults[0].Effects)
	cut := 0
	for _, e := range rep.Faults[0].Effects {
		if strings.HasPrefix(e, "replication east->west:") || strings.HasPrefix(e, "replication west->east:") {
			cut++
		}
	}
	if cut != 2 {
		t.Errorf("partition effects %q: want replication held up both ways", rep.Faults[0].Effects)
	}
	assertRunningAndReplicating(t, l, east)

	// A run killed inside a stop: the ledger holds it; lab heal --target,
	// another process, heals it through the tcp engine.
	long := write("long.yaml", `name: killed
duration: 5m
workloads:
  - {kind: sql, script: add.sql, targets: [west], rate: 10/s}
faults:
  - {at: 2s, kind: stop, node: east, for: 4m}
`)
	cmd := exec.Command(bin, "run", long, "--target", targetFile, "--format", "none", "--report-dir", filepath.Join(work, "killed"))
	cmd.Env = env
	w := startWatched(t, cmd)
	w.until("inject stop east", 2*time.Minute)
	// Killed once the container has stopped: the fault is in force.
	waitState(t, docker, east, "exited")
	if code := w.signal(os.Kill, time.Minute); code != -1 {
		t.Fatalf("pgchaos run ended with exit %d before the SIGKILL; stderr:\n%s", code, w.log())
	}
	if _, err := os.Stat(filepath.Join(state, "pgchaos", "target-cluster.ledger.json")); err != nil {
		t.Fatalf("no ledger target-cluster after the killed run: %v", err)
	}
	if ci, err := docker.ContainerInspect(context.Background(), east.ID); err != nil || ci.State.Running {
		t.Fatalf("east after the killed run: %+v %v, want stopped", ci.State, err)
	}
	via := len(fwd.Requests())
	healOut, err := runBin(bin, env, "lab", "heal", "--target", targetFile)
	t.Logf("lab heal --target:\n%s", healOut)
	if err != nil {
		t.Fatalf("lab heal --target: %v\n%s", err, healOut)
	}
	if !strings.Contains(healOut, "healed: stop east") {
		t.Errorf("lab heal --target did not say it healed the stop:\n%s", healOut)
	}
	if !fwd.Carried(via, "POST", "/containers/"+east.ID+"/start") {
		t.Errorf("lab heal --target did not start east through its tcp:// engine; requests: %q", fwd.Requests()[via:])
	}
	assertRunningAndReplicating(t, l, east)
	again, err := runBin(bin, env, "lab", "heal", "--target", targetFile)
	if err != nil || !strings.Contains(again, "nothing to heal") {
		t.Errorf("a second lab heal --target: %v\n%s\nwant nothing to heal", err, again)
	}
}

func waitState(t *testing.T, docker *client.Client, n lab.Node, want string) {
	t.Helper()
	var got string
	for end := time.Now().Add(90 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		ci, err := docker.ContainerInspect(context.Background(), n.ID)
		if err == nil && ci.State != nil {
			if got = ci.State.Status; got == want {
				return
			}
		}
	}
	t.Fatalf("%s stayed %q, want %q", n.Container, got, want)
}

// assertRunningAndReplicating: the node's container runs, and a row written
// on each node reaches the other.
func assertRunningAndReplicating(t *testing.T, l *lab.Lab, n lab.Node) {
	t.Helper()
	waitState(t, l.Docker(), n, "running")
	for _, from := range []string{lab.Primary1, lab.Primary2} {
		name := fmt.Sprintf("after-heal-%d", time.Now().UnixNano())
		var err error
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if err = exec1(l, from, "INSERT INTO test_table (name) VALUES ($1)", name); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("write on %s after the heal: %v", from, err)
		}
		arrived := false
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end) && !arrived; time.Sleep(100 * time.Millisecond) {
			var k int
			arrived = query1(l, lab.Peer(from), "SELECT count(*) FROM test_table WHERE name = $1", name, &k) == nil && k == 1
		}
		if !arrived {
			t.Fatalf("a row written on %s after the heal never reached %s", from, lab.Peer(from))
		}
	}
}
