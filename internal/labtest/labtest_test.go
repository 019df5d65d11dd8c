package labtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The child half of TestRequireDockerSkipsUnderShortAndFailsUnderCI: it
// runs only when the parent re-executes the test binary.
func TestRequireDockerChild(t *testing.T) {
	if os.Getenv("PGCHAOS_LABTEST_CHILD") != "1" {
		t.Skip("run by TestRequireDockerSkipsUnderShortAndFailsUnderCI")
	}
	RequireDocker(t)
	t.Log("PAST-REQUIRE-DOCKER")
}

// -short means no Docker: RequireDocker skips before it asks any engine,
// even under CI. Without -short a missing engine fails the test under CI
// and skips it elsewhere. The child points DOCKER_HOST at a socket that
// does not exist, so no engine ever answers it.
func TestRequireDockerSkipsUnderShortAndFailsUnderCI(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	for _, tc := range []struct {
		name    string
		short   bool
		ci      bool
		wantErr bool
		want    string
	}{
		{"short under CI skips", true, true, false, "under -short"},
		{"short skips", true, false, false, "under -short"},
		{"no engine under CI fails", false, true, true, "needs Docker, and CI is set"},
		{"no engine elsewhere skips", false, false, false, "no Docker engine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-test.run=^TestRequireDockerChild$", "-test.v", "-test.count=1"}
			if tc.short {
				args = append(args, "-test.short")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = []string{"PGCHAOS_LABTEST_CHILD=1", "DOCKER_HOST=" + host}
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, "DOCKER_HOST=") && !strings.HasPrefix(kv, "PGCHAOS_LABTEST_CHILD=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			if tc.ci {
				cmd.Env = append(cmd.Env, "CI=1")
			}
			out, err := cmd.CombinedOutput()
			if (err != nil) != tc.wantErr {
				t.Fatalf("child error %v, want error %v\n%s", err, tc.wantErr, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("child output lacks %q:\n%s", tc.want, out)
			}
			if strings.Contains(string(out), "PAST-REQUIRE-DOCKER") {
				t.Errorf("the child got past RequireDocker with no engine:\n%s", out)
			}
		})
	}
}

// Only a host port taken between picking and publishing is tried again;
// any other failure of lab up fails the test at once.
func TestPortTakenIsOnlyAPortRace(t *testing.T) {
	for msg, want := range map[string]bool{
		"start x-haproxy: Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:33085 failed: port is already allocated (are ports 1 and 2 free?)": true,
		"listen tcp 127.0.0.1:5442: bind: address already in use":                                              true,
		"port 5442 (for primary1) on 127.0.0.1 is in use by another program: stop it, or pass --port-primary1": true,
		"lab up: image pgchaos-local/postgres:18 not found: run make images":                                   false,
		"replication not proven in 60s":                                                                        false,
	} {
		if got := portTaken(errors.New(msg)); got != want {
			t.Errorf("portTaken(%q) = %v, want %v", msg, got, want)
		}
	}
}
