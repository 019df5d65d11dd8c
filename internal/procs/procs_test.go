package procs

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestForLeavesTheLabMostCores(t *testing.T) {
	for ncpu, want := range map[int]int{1: 1, 2: 1, 4: 1, 8: 2, 16: 4, 64: 16} {
		if got := For(ncpu); got != want {
			t.Errorf("For(%d) = %d, want %d", ncpu, got, want)
		}
	}
}

func TestSysmonGodebugAddsSchedtraceOnlyWhenItCannotPrint(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		name    string
		godebug string
		uptime  time.Duration
		want    string
		ok      bool
	}{
		{"empty", "", time.Hour, "schedtrace=2147483647", true},
		{"kept settings", "madvdontneed=1,x509sha1=1", time.Hour, "madvdontneed=1,x509sha1=1,schedtrace=2147483647", true},
		{"user's schedtrace", "schedtrace=1000", time.Hour, "", false},
		{"user's schedtrace=0", "gctrace=1, schedtrace=0", time.Hour, "", false},
		{"scheddetail is not schedtrace", "scheddetail=1", time.Hour, "scheddetail=1,schedtrace=2147483647", true},
		{"up 17 days", "", 17 * day, "schedtrace=2147483647", true},
		{"up 18 days: a run could reach the first trace", "", 18 * day, "", false},
		{"up a year", "", 365 * day, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := sysmonGodebug(c.godebug, c.uptime)
			if got != c.want || ok != c.ok {
				t.Errorf("sysmonGodebug(%q, %v) = %q, %v; want %q, %v", c.godebug, c.uptime, got, ok, c.want, c.ok)
			}
		})
	}
}

// The test binary re-executes itself through KeepSysmonAwake and reports
// the GODEBUG its new image started with.
func TestKeepSysmonAwakeReexecutesOnceWithTheSetting(t *testing.T) {
	if os.Getenv("PGCHAOS_PROCS_CHILD") == "1" {
		KeepSysmonAwake()
		os.Stdout.WriteString("GODEBUG=" + os.Getenv("GODEBUG") + "\n")
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		t.Skip("KeepSysmonAwake re-executes on Linux only")
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	want, ok := sysmonGodebug("madvdontneed=1", time.Duration(ts.Nano()))
	if !ok {
		want = "madvdontneed=1" // a machine up too long: left as it was
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeepSysmonAwakeReexecutesOnceWithTheSetting$")
	cmd.Env = []string{"PGCHAOS_PROCS_CHILD=1", "GODEBUG=madvdontneed=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "GODEBUG="+want {
		t.Errorf("child saw %q, want %q (and no scheduler trace line)", got, "GODEBUG="+want)
	}
}
