// Package procs sets how many cores pgchaos's Go code runs on.
package procs

import (
	"os"
	"runtime"
)

// Limit sets GOMAXPROCS to For(NumCPU) unless the GOMAXPROCS environment
// variable says otherwise. Call it first thing in main.
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
