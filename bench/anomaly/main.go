// Command anomaly measures anomaly.Check on a simulated history:
//
//	go run ./bench/anomaly -txns 100000 -runs 3
//	/usr/bin/time -v go run ./bench/anomaly -txns 1000000 -runs 1
//
// It generates a strictly serializable list-append (or, with -register,
// rw-register) history with anomaly.Simulate — 32 keys in use, 8 workers,
// 1-4 ops a txn, 2% failed and 1% unknown txns, a few injected faults —
// or reads one from -history (JSON lines), then checks it -runs times.
// For each run it prints wall time, the process's CPU time (user+sys,
// from getrusage: on a shared machine wall time also counts waiting for a
// core) and the bytes allocated; then the peak RSS of the process
// (VmHWM) and the counts found. -write saves the generated history.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/pgchaos/pgchaos/anomaly"
)

func main() {
	txns := flag.Int("txns", 100_000, "transactions to simulate")
	register := flag.Bool("register", false, "rw-register instead of list-append")
	runs := flag.Int("runs", 3, "checks to time")
	stale := flag.Int("stale", 3, "stale reads to inject (replication lag; many make large components, the search's bad case)")
	seed := flag.Uint64("seed", 1, "simulation seed")
	history := flag.String("history", "", "check this history file (JSON lines) instead of simulating")
	write := flag.String("write", "", "write the simulated history to this file")
	text := flag.Bool("text", false, "print the last check's result as text")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the checks to this file")
	flag.Parse()

	var h []anomaly.Txn
	if *history != "" {
		f, err := os.Open(*history)
		if err != nil {
			fail(err)
		}
		t0 := time.Now()
		h, err = anomaly.ReadHistory(f)
		f.Close()
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "read %d txns in %v\n", len(h), time.Since(t0).Round(time.Millisecond))
	} else {
		h = anomaly.Simulate(anomaly.SimOptions{Txns: *txns, Register: *register, FailRate: 0.02, UnknownRate: 0.01,
			Seed: *seed, LostAppends: 3, AbortedReads: 3, StaleReads: *stale})
	}
	if *write != "" {
		f, err := os.Create(*write)
		if err != nil {
			fail(err)
		}
		if err := anomaly.WriteHistory(f, h); err != nil {
			fail(err)
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
	}
	runtime.GC()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	var res *anomaly.Result
	for i := 0; i < *runs; i++ {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		cpu0 := cpuTime()
		t0 := time.Now()
		var err error
		res, err = anomaly.Check(h, anomaly.Options{})
		wall := time.Since(t0)
		cpu := cpuTime() - cpu0
		runtime.ReadMemStats(&m1)
		if err != nil {
			fail(err)
		}
		fmt.Printf("run %d: %d txns  wall %v  cpu %v  alloc %.1f MB\n", i+1, len(h),
			wall.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(m1.TotalAlloc-m0.TotalAlloc)/1e6)
	}
	fmt.Printf("peak RSS %s (whole process: history and checks)\n", vmHWM())
	if res != nil {
		fmt.Printf("verdict %s, counts %v, edges %v\n", res.Verdict, res.Counts, res.Edges)
		if *text {
			res.WriteText(os.Stdout)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "anomaly bench:", err)
	os.Exit(1)
}
