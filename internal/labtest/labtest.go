// Package labtest starts real labs for integration tests: unique names, free
// ports (so they never collide with a lab a user left running on the
// defaults), torn down by t.Cleanup.
package labtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/lab"
)

// RequireDocker skips the test under -short, which means unit tests only:
// no Docker engine is asked anything, so no container is made. Otherwise it
// skips the test when no Docker engine answers — except under CI (the CI
// environment variable set), where a missing engine fails it.
//
// Every test that needs Docker, by whatever path (a lab, the Docker API,
// the docker or docker-compose CLI), calls this first, directly or through
// Start, and lives in a file named *_integration_test.go.
func RequireDocker(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping integration test under -short (it needs Docker)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := lab.Docker(ctx)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("integration test needs Docker, and CI is set: %v", err)
		}
		t.Skipf("skipping integration test: no Docker engine (%v); set CI=1 to make this a failure", err)
	}
	cli.Close()
}

// Config returns a lab configuration for t: a unique name and free ports.
func Config(t testing.TB, opts ...lab.Option) lab.Config {
	t.Helper()
	var suffix [3]byte
	rand.Read(suffix[:])
	base := strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-"))
	if len(base) > 24 {
		base = base[:24]
	}
	// Free ports for as many primaries as the options ask for.
	nodes := lab.New(opts...).Nodes
	cfg := lab.New(append([]lab.Option{
		lab.WithName("t-" + strings.Trim(base, "-") + "-" + hex.EncodeToString(suffix[:])),
		lab.WithPorts(lab.FreePortsFor(lab.Ports{}, nodes)),
		lab.WithLog(func(f string, a ...any) { t.Logf("lab: "+f, a...) }),
	}, opts...)...)
	return cfg
}

// Start brings up a lab for t and removes it when the test ends.
func Start(t testing.TB, opts ...lab.Option) *lab.Lab {
	t.Helper()
	RequireDocker(t)
	for attempt := 1; ; attempt++ {
		cfg := Config(t, opts...)
		t.Cleanup(func() { Remove(t, cfg.Name) })
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		l, err := lab.Up(ctx, cfg)
		cancel()
		if err == nil {
			t.Cleanup(func() { l.Close() })
			return l
		}
		// Tests in other packages pick free ports too, in other
		// processes: one may publish a port this lab picked before this
		// lab does. Only that is tried again, on new ports.
		if attempt < 3 && portTaken(err) {
			t.Logf("lab up: %v: another test published a port this lab had picked; again on new ports", err)
			Remove(t, cfg.Name)
			continue
		}
		t.Fatalf("lab up: %v", err)
	}
}

// portTaken reports whether lab up failed because a host port it was
// given was taken meanwhile (Docker's port allocator, the kernel, or lab
// up's own check).
func portTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use") ||
		strings.Contains(msg, "is in use by another program")
}

// Remove tears a lab down, failing the test if that does not work.
func Remove(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := lab.Down(ctx, name); err != nil {
		t.Errorf("lab down %s: %v", name, err)
	}
}

// LockCompose serialises the tests that bring up compose/'s tutorial lab,
// whose container names are fixed: `go test -p 2` runs packages in
// parallel processes, and two such tests at once would see each other's
// containers and skip. The lock is an flock on a file in the temporary
// directory, released when the test ends (or its process dies).
func LockCompose(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "pgchaos-compose-tests.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("compose test lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("compose test lock: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing the file releases the lock
}
