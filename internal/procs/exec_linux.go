package procs

import (
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// KeepSysmonAwake re-executes the program with schedtrace added to GODEBUG
// when sysmonGodebug says so (see there for why); the new image starts from
// main again and finds the setting present. On any error it returns and the
// program runs on untuned.
func KeepSysmonAwake() {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return
	}
	godebug, ok := sysmonGodebug(os.Getenv("GODEBUG"), time.Duration(ts.Nano()))
	if !ok {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := []string{"GODEBUG=" + godebug}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	_ = syscall.Exec(exe, os.Args, env)
}
