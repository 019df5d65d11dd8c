package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/target"
)

// sshEngine is an sshd of the test's own on 127.0.0.1 (throwaway host key,
// one authorized key, this user only), and an ssh on PATH that trusts that
// host key, uses that key and logs each command line it is run with.
type sshEngine struct {
	Host    string // ssh://USER@127.0.0.1:PORT
	Port    int
	User    string
	Calls   string // file: one line per ssh run, its arguments
	PathDir string // put first on PATH
	log     *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSSHD skips without sshd unless CI is set (scripts/deps.sh installs
// openssh-server).
func startSSHD(t *testing.T) *sshEngine {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/sshd"); serr == nil {
			sshd, err = "/usr/sbin/sshd", nil
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sshd is missing and CI is set: scripts/deps.sh installs openssh-server")
		}
		t.Skip("no sshd here (Debian: openssh-server); set CI=1 to make this a failure")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("ssh is missing: %v", err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keygen := func(name string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pgchaos-test", "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		return p
	}
	hostKey, clientKey := keygen("host_key"), keygen("client_key")
	pub := func(p string) string {
		b, err := os.ReadFile(p + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	writeTestFile(t, filepath.Join(dir, "authorized_keys"), pub(clientKey)+"\n", 0o600)
	writeTestFile(t, filepath.Join(dir, "known_hosts"), fmt.Sprintf("[127.0.0.1]:%d %s\n", port, pub(hostKey)), 0o600)
	writeTestFile(t, filepath.Join(dir, "sshd_config"), fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
AllowUsers %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
`, port, hostKey, filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), me.Username), 0o600)
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	e := &sshEngine{Port: port, User: me.Username, Calls: filepath.Join(dir, "calls"), PathDir: filepath.Join(dir, "bin"), log: &lockedBuffer{},
		Host: fmt.Sprintf("ssh://%s@127.0.0.1:%d", me.Username, port)}
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stdout, cmd.Stderr = e.log, e.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(end) {
			t.Fatalf("sshd did not listen on %d: %v\n%s", port, err, e.log.String())
		}
	}
	// The user's ssh, told about this host and key only (the real
	// ~/.ssh is not read or written).
	realSSH, _ := exec.LookPath("ssh")
	os.MkdirAll(e.PathDir, 0o755)
	writeTestFile(t, filepath.Join(e.PathDir, "ssh"), fmt.Sprintf(`#!/bin/sh
echo "$*" >> %s
exec %s -F /dev/null -i %s -o IdentitiesOnly=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o LogLevel=ERROR "$@"
`, e.Calls, realSSH, clientKey, filepath.Join(dir, "known_hosts")), 0o755)
	return e
}

func writeTestFile(t *testing.T, p, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// A target node whose container is on an ssh:// engine (an sshd of the
// test's own, running `docker system dial-stdio` for the local engine):
// target check finds the container running there, a run pauses and stops
// it through ssh (seen by inspect), heals both, replication resumes; ssh
// ran with BatchMode, the port and the user, and sshd accepted the key.
func TestTargetContainerFaultsThroughAnSSHDockerHost(t *testing.T) {
	labtest.RequireDocker(t)
	eng := startSSHD(t)
	l := labtest.Start(t)
	bin := buildBinary(t)
	env := append(os.Environ(), "XDG_STATE_HOME="+t.TempDir(), "PGPASSWORD="+l.SuperuserPassword(),
		"PATH="+eng.PathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	east, _ := l.Node(lab.Primary1)
	west, _ := l.Node(lab.Primary2)
	work := t.TempDir()
	targetFile := filepath.Join(work, "cluster.yaml")
	writeTestFile(t, targetFile, fmt.Sprintf(`nodes:
  - name: east
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: %s
    docker_host: "%s"
  - name: west
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: %s
`, east.Port, east.Container, eng.Host, west.Port, west.Container), 0o600)
	writeTestFile(t, filepath.Join(work, "add.sql"), "INSERT INTO test_table (name) VALUES ('over-ssh');\n", 0o600)
	scen := filepath.Join(work, "faults.yaml")
	writeTestFile(t, scen, `name: ssh-engine
duration: 25s
workloads:
  - {kind: sql, script: add.sql, targets: [east, west], rate: 10/s}
faults:
  - {at: 3s, kind: pause, node: east, for: 4s}
  - {at: 12s, kind: stop, node: east, for: 4s}
`, 0o600)
	t.Cleanup(func() { runBin(bin, env, "target", "clean", targetFile, "--allow") })

	out, err := runBin(bin, env, "target", "check", targetFile, "--format", "json")
	if err != nil {
		t.Fatalf("target check: %v\n%s\nsshd:\n%s", err, out, eng.log.String())
	}
	var rep target.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("target check JSON: %v\n%s", err, out)
	}
	if c := rep.Facts.Nodes[0].Container; c.State != target.ContainerRunning || c.DockerHost != eng.Host {
		t.Fatalf("target check: east's container %+v, want running on %s\nsshd:\n%s", c, eng.Host, eng.log.String())
	}

	docker := l.Docker()
	seen := map[string]bool{}
	var mu sync.Mutex
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if ci, err := docker.ContainerInspect(t.Context(), east.ID); err == nil && ci.State != nil {
				mu.Lock()
				seen[ci.State.Status] = true
				mu.Unlock()
			}
		}
	}()
	out, err = runBin(bin, env, "run", scen, "--target", targetFile, "--allow-setup", "--format", "none", "--report-dir", filepath.Join(work, "report"))
	close(done)
	<-watched
	if err != nil {
		t.Fatalf("run --target over ssh: %v\n%s\nsshd:\n%s", err, out, eng.log.String())
	}
	t.Logf("east seen: %v", seen)
	for _, s := range []string{"paused", "exited"} {
		if !seen[s] {
			t.Errorf("east was never %s during the run (seen %v)", s, seen)
		}
	}
	assertRunningAndReplicating(t, l, east)

	calls, err := os.ReadFile(eng.Calls)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("-o BatchMode=yes -o ConnectTimeout=10 -p %d -l %s 127.0.0.1 -- docker system dial-stdio", eng.Port, eng.User)
	lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
	for _, c := range lines {
		if c != want {
			t.Errorf("ssh ran with %q, want %q", c, want)
		}
	}
	accepted := strings.Count(eng.log.String(), "Accepted publickey for "+eng.User)
	t.Logf("ssh runs: %d; sshd accepted the key %d times", len(lines), accepted)
	if accepted == 0 {
		t.Errorf("sshd never accepted a login:\n%s", eng.log.String())
	}
}
