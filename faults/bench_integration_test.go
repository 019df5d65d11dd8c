package faults_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

const benchRounds = 5

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkFaults measures, on a real lab, the median time (of 5) to
// inject and to heal each kind, and the time from heal to replication
// caught up after a partition and after a kill. Run it once:
//
//	go test -run '^$' -bench Faults -benchtime 1x ./faults/
func BenchmarkFaults(b *testing.B) {
	l := labtest.Start(b)
	var lines []string
	for _, spec := range loopSpecs() {
		f := mustNew(b, l, spec)
		var inj, hea []time.Duration
		skipped := false
		for range benchRounds {
			t0 := time.Now()
			err := f.Inject(ctxT(b, 2*time.Minute))
			if errors.Is(err, faults.ErrNoNetem) {
				skipped = true
				heal(b, f)
				break
			}
			if err != nil {
				b.Fatalf("inject %s: %v", f, err)
			}
			t1 := time.Now()
			ctx, cancel := faults.HealContext(context.Background())
			err = f.Heal(ctx)
			cancel()
			if err != nil {
				b.Fatalf("heal %s: %v", f, err)
			}
			inj, hea = append(inj, t1.Sub(t0)), append(hea, time.Since(t1))
		}
		if skipped {
			lines = append(lines, fmt.Sprintf("%-45s  (no netem on this kernel)", f))
			continue
		}
		lines = append(lines, fmt.Sprintf("%-45s  inject %8s  heal %8s", f, median(inj).Round(time.Millisecond), median(hea).Round(time.Millisecond)))
		key := strings.NewReplacer(" ", "_", "<->", "-both-", "->", "-to-", "=", "", "%", "pct").Replace(f.String())
		b.ReportMetric(float64(median(inj).Microseconds())/1000, key+"-inject-ms")
		b.ReportMetric(float64(median(hea).Microseconds())/1000, key+"-heal-ms")
	}
	waitBackendsUp(b, l)
	replicating(b, l)

	for _, kind := range []string{scenario.FaultPartition, scenario.FaultKill} {
		var healD, catchD []time.Duration
		for range benchRounds {
			h, c := catchUp(b, l, kind)
			healD, catchD = append(healD, h), append(catchD, c)
			replicating(b, l)
		}
		lines = append(lines, fmt.Sprintf("%-45s  heal %8s  then caught up in %8s (median of %d)", kind+": heal -> both rows on both nodes",
			median(healD).Round(time.Millisecond), median(catchD).Round(time.Millisecond), benchRounds))
		b.ReportMetric(float64(median(catchD).Microseconds())/1000, kind+"-catchup-ms")
	}
	b.Logf("fault timings, median of %d:\n%s", benchRounds, strings.Join(lines, "\n"))
}

// catchUp injects a partition or kill, writes a row on each node (on the
// killed node right after its heal), heals, and returns how long the heal
// took and the time from the heal's end until both rows are on both nodes.
func catchUp(b *testing.B, l *lab.Lab, kind string) (healTook, caughtUp time.Duration) {
	spec := scenario.Fault{Kind: kind, Between: linkBoth}
	if kind == scenario.FaultKill {
		spec = scenario.Fault{Kind: kind, Node: lab.Primary1}
	}
	f := mustNew(b, l, spec)
	inject(b, f)
	r1, r2 := "b1-"+uniq(), "b2-"+uniq()
	write(b, l, lab.Primary2, r2)
	if kind == scenario.FaultPartition {
		write(b, l, lab.Primary1, r1)
	}
	t0 := time.Now()
	ctx, cancel := faults.HealContext(context.Background())
	err := f.Heal(ctx)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	if kind == scenario.FaultKill {
		write(b, l, lab.Primary1, r1)
	}
	for _, on := range []string{lab.Primary1, lab.Primary2} {
		for _, r := range []string{r1, r2} {
			if !waitRow(l, on, r, arrival) {
				b.Fatalf("%s: row %s never reached %s", kind, r, on)
			}
		}
	}
	return t1.Sub(t0), time.Since(t1)
}
