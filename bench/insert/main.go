// Command insert runs pgchaos's insert workload against one PostgreSQL for a
// fixed time and prints its throughput (ok ops per second) on stdout, for
// run.sh to set beside pgbench running the same INSERT. The recorder writes
// the full history, as in a real run: it is part of what is measured.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/pgchaos/pgchaos/workload"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("PGCHAOS_BENCH_DSN"), "DSN of the primary to write to (default $PGCHAOS_BENCH_DSN)")
	peer := flag.String("peer-dsn", os.Getenv("PGCHAOS_BENCH_PEER_DSN"), "DSN of the other primary of a lab: the table is made there too, so replication carries the rows as in a run (default $PGCHAOS_BENCH_PEER_DSN)")
	clients := flag.Int("clients", 8, "workers")
	duration := flag.Duration("duration", 30*time.Second, "how long to run")
	dir := flag.String("dir", os.TempDir(), "where history.jsonl goes")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	perSecond := flag.String("per-second", "", "write the ok ops of each second of the run to this file, one number a line (as pgbench -P 1 prints its tps)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "insert: cpu profile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *dsn == "" {
		fmt.Fprintln(os.Stderr, "insert: no DSN: pass -dsn or set PGCHAOS_BENCH_DSN")
		os.Exit(2)
	}
	if err := run(*dsn, *peer, *clients, *duration, *dir, *perSecond); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "insert:", err)
		os.Exit(1)
	}
}

func run(dsn, peer string, clients int, d time.Duration, dir, perSecond string) error {
	rec, err := workload.NewRecorder(filepath.Join(dir, fmt.Sprintf("bench-insert-%d.jsonl", os.Getpid())))
	if err != nil {
		return err
	}
	defer os.Remove(rec.Path())
	dsns := map[string]string{"primary1": dsn}
	if peer != "" {
		dsns["primary2"] = peer
	}
	// The run ends as pgchaos's runs do: Stop drains the ops in flight.
	stop := make(chan struct{})
	var start time.Time
	cfg := workload.Config{
		DSN:  dsns,
		Stop: stop,
		Seed: 1,
		Workloads: []workload.Spec{{
			Name: "bench", Kind: workload.KindInsert, Targets: []string{"primary1"}, Concurrency: clients,
		}},
		OnStart: func(t time.Time) {
			start = t
			time.AfterFunc(d, func() { close(stop) })
		},
	}
	if err := workload.Run(context.Background(), cfg, rec); err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := rec.Close(); err != nil {
		return err
	}
	ws, secs := rec.Summary(elapsed)
	if perSecond != "" {
		// Whole seconds only: the last, cut short by the drain, would
		// read low.
		var b []byte
		for _, s := range secs {
			if s.T < int(elapsed/time.Second) {
				b = fmt.Appendf(b, "%d\n", s.OK)
			}
		}
		if err := os.WriteFile(perSecond, b, 0o644); err != nil {
			return err
		}
	}
	if len(ws) != 1 {
		return fmt.Errorf("expected one result, got %d", len(ws))
	}
	w := ws[0]
	fmt.Fprintf(os.Stderr, "pgchaos insert: %d ok, %d fail, %d unknown in %.1fs; latency p50 %v p99 %v\n",
		w.OK, w.Fail, w.Unknown, elapsed.Seconds(), w.Latency.P50.D(), w.Latency.P99.D())
	fmt.Printf("%.1f\n", float64(w.OK)/elapsed.Seconds())
	return nil
}
