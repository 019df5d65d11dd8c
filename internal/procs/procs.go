// Package procs tunes the Go runtime for a client that shares a small
// machine with the servers it measures.
package procs

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Setup tunes the runtime; call it first thing in main. It may re-execute
// the program (see KeepSysmonAwake) and then limits GOMAXPROCS (Limit).
func Setup() {
	KeepSysmonAwake()
	Limit()
}

// Limit sets GOMAXPROCS to For(NumCPU) unless the GOMAXPROCS environment
// variable says otherwise.
func Limit() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(For(runtime.NumCPU()))
	}
}

// For is a quarter of the machine's cores, at least one. pgchaos shares the
// machine with the lab it measures, and every core it spins on is taken
// from the servers: on 2 cores, one P cut pgchaos's CPU per insert from
// ~52 to ~38 µs and raised the servers' throughput ~18% (bench/insert).
func For(ncpu int) int {
	return max(1, ncpu/4)
}

// schedtraceMax is the largest GODEBUG schedtrace the runtime accepts (an
// int32 of milliseconds, about 24.8 days).
const schedtraceMax = 1<<31 - 1

// uptimeMargin is how long a process started under the schedtrace setting
// may run before the runtime's first trace line would fall due.
const uptimeMargin = 7 * 24 * time.Hour

// sysmonGodebug returns the GODEBUG to re-execute with, or false to keep
// the process as it is.
//
// Why: a Go program whose every P goes idle between network round trips
// (pgchaos's workers, waiting on the servers) puts the runtime's sysmon
// thread into a deep sleep, and the next syscall must wake it with a futex.
// That happens thousands of times a second, and on 2 shared cores it cost
// ~20 µs of CPU per insert, a third of pgchaos's client CPU (bench/insert).
// The runtime skips the deep sleep while schedtrace is set; at its largest
// value the trace it would print is 24.8 days away. Counted from boot,
// though: the runtime's clock is the monotonic one, so on a machine up for
// longer the first line would print at once, and there the setting is left
// off. A schedtrace the user set is theirs, and kept.
func sysmonGodebug(godebug string, uptime time.Duration) (string, bool) {
	for _, kv := range strings.Split(godebug, ",") {
		if strings.HasPrefix(strings.TrimSpace(kv), "schedtrace=") {
			return "", false
		}
	}
	if uptime+uptimeMargin >= schedtraceMax*time.Millisecond {
		return "", false
	}
	setting := "schedtrace=" + strconv.Itoa(schedtraceMax)
	if godebug == "" {
		return setting, true
	}
	return godebug + "," + setting, true
}
