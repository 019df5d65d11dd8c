// Command diverge measures diverge.Diff against a naive comparison on two
// real PostgreSQL nodes (a lab's primaries):
//
//	go run ./bench/diverge -dsn1 postgres://…:5442/postgres -dsn2 postgres://…:5443/postgres
//
// It builds the same table of -rows rows on both nodes with generate_series
// (under a replication origin, so a lab's origin = none subscriptions do not
// ship the rows to the peer), compares the identical tables, then makes
// -diffs rows differ on primary2 and compares again. Each comparison is run
// two ways, -runs times each, alternating: diverge.Diff (range hashes inside
// PostgreSQL, bisecting only what differs) and a naive fetch-all-ordered-by-
// key merge in Go. For each run it prints the wall time, the process's peak
// RSS (VmHWM, reset before each run through /proc/self/clear_refs) and the
// peak Go heap (sampled); then, per
// state and method, the fastest and median time and the highest peak RSS.
// The table is dropped at the end unless -keep.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/pgchaos/pgchaos/diverge"
	"github.com/pgchaos/pgchaos/reports"
)

const (
	table  = "divbench"
	origin = "pgchaos_bench"
)

func main() {
	dsn1 := flag.String("dsn1", "", "primary1 DSN (required)")
	dsn2 := flag.String("dsn2", "", "primary2 DSN (required)")
	rows := flag.Int("rows", 1_000_000, "rows in the table on each node")
	diffs := flag.Int("diffs", 10, "rows to make differ on primary2 (split into updates, deletes, inserts)")
	keep := flag.Bool("keep", false, "keep the table afterwards")
	runs := flag.Int("runs", 3, "times to run each method on each state (alternating methods, so load on a shared machine hits both alike)")
	flag.Parse()
	if *dsn1 == "" || *dsn2 == "" {
		fmt.Fprintln(os.Stderr, "diverge: -dsn1 and -dsn2 are required (a lab's primary1 and primary2)")
		os.Exit(2)
	}
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "diverge: -runs must be at least 1")
		os.Exit(2)
	}
	if err := run(context.Background(), *dsn1, *dsn2, *rows, *diffs, *keep, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "diverge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dsn1, dsn2 string, rows, diffs int, keep bool, runs int) error {
	p1, err := pgxpool.New(ctx, dsn1)
	if err != nil {
		return fmt.Errorf("connect primary1: %w", err)
	}
	defer p1.Close()
	p2, err := pgxpool.New(ctx, dsn2)
	if err != nil {
		return fmt.Errorf("connect primary2: %w", err)
	}
	defer p2.Close()

	fmt.Fprintf(os.Stderr, "building %d rows on each node…\n", rows)
	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range []*pgxpool.Pool{p1, p2} {
		g.Go(func() error {
			return unreplicated(gctx, p,
				`DROP TABLE IF EXISTS `+table,
				`CREATE TABLE `+table+` (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), created_at timestamptz)`,
				fmt.Sprintf(`INSERT INTO %s SELECT g, 'customer ' || g, (g %% 100000) / 100.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, %d) g`, table, rows),
				`VACUUM ANALYZE `+table)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built in %s\n", time.Since(t0).Round(time.Millisecond))
	if !keep {
		defer func() {
			for _, p := range []*pgxpool.Pool{p1, p2} {
				if err := unreplicated(context.WithoutCancel(ctx), p, `DROP TABLE IF EXISTS `+table); err != nil {
					fmt.Fprintln(os.Stderr, "diverge: drop the bench table:", err)
				}
			}
		}()
	}

	var sum []summary
	defer func() { printSummary(sum) }()
	fmt.Printf("%-9s %-8s %10s %12s %14s %s\n", "tables", "method", "time", "peak RSS", "peak Go heap", "found")
	if err := compare(ctx, p1, p2, "identical", nil, runs, &sum); err != nil {
		return err
	}

	// Tamper on primary2: a third updated, a third deleted, the rest
	// inserted beyond the end; all spread over the key space.
	var want []string
	var stmts []string
	for i := range diffs {
		id := int64(rows) * int64(i+1) / int64(diffs+1)
		switch i % 3 {
		case 0:
			stmts = append(stmts, fmt.Sprintf(`UPDATE %s SET amount = amount + 1 WHERE id = %d`, table, id))
			want = append(want, reports.Different+":"+strconv.FormatInt(id, 10))
		case 1:
			stmts = append(stmts, fmt.Sprintf(`DELETE FROM %s WHERE id = %d`, table, id))
			want = append(want, reports.MissingOnPrimary2+":"+strconv.FormatInt(id, 10))
		default:
			id = int64(rows) + int64(i) + 1
			stmts = append(stmts, fmt.Sprintf(`INSERT INTO %s VALUES (%d, 'extra', 0, now())`, table, id))
			want = append(want, reports.MissingOnPrimary1+":"+strconv.FormatInt(id, 10))
		}
	}
	if err := unreplicated(ctx, p2, stmts...); err != nil {
		return err
	}
	slices.Sort(want)
	return compare(ctx, p1, p2, fmt.Sprintf("%d differ", diffs), want, runs, &sum)
}

// unreplicated runs statements on one connection set up as a replication
// origin: a lab's subscriptions (origin = none) do not forward such changes.
func unreplicated(ctx context.Context, p *pgxpool.Pool, stmts ...string) error {
	c, err := p.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Release()
	setup := []string{
		fmt.Sprintf(`SELECT pg_replication_origin_create('%s') WHERE pg_replication_origin_oid('%s') IS NULL`, origin, origin),
		fmt.Sprintf(`SELECT pg_replication_origin_session_setup('%s')`, origin),
	}
	for _, s := range append(setup, stmts...) {
		if _, err := c.Exec(ctx, s); err != nil {
			c.Conn().Close(ctx) // drop the session with its origin rather than pool it
			return fmt.Errorf("%s: %w", firstWords(s), err)
		}
	}
	if _, err := c.Exec(ctx, `SELECT pg_replication_origin_session_reset()`); err != nil {
		c.Conn().Close(ctx)
		return fmt.Errorf("reset replication origin: %w", err)
	}
	return nil
}

func firstWords(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// summary is one method's runs on one state of the tables.
type summary struct {
	label, method string
	times         []time.Duration
	rssKiB        int64 // the highest of the runs' peaks
}

// compare runs both methods runs times on the current tables, alternating
// them, and prints a line a run; want (sorted kind:key) is checked when not
// nil. Each method's runs are added to sum.
func compare(ctx context.Context, p1, p2 *pgxpool.Pool, label string, want []string, runs int, sum *[]summary) error {
	methods := []struct {
		name string
		f    func(context.Context, *pgxpool.Pool, *pgxpool.Pool) ([]string, error)
	}{
		{"bisect", func(ctx context.Context, p1, p2 *pgxpool.Pool) ([]string, error) {
			return bisect(ctx, p1, p2, len(want))
		}},
		{"naive", naive},
	}
	first := len(*sum)
	for _, m := range methods {
		*sum = append(*sum, summary{label: label, method: m.name})
	}
	for range runs {
		for i, m := range methods {
			var got []string
			var err error
			res := measure(func() { got, err = m.f(ctx, p1, p2) })
			if err != nil {
				return err
			}
			s := &(*sum)[first+i]
			s.times = append(s.times, res.d)
			s.rssKiB = max(s.rssKiB, res.rssKiB)
			slices.Sort(got)
			found := fmt.Sprintf("%d rows", len(got))
			if want != nil || len(got) > 0 {
				if slices.Equal(got, want) {
					found += " (exactly the changed keys)"
				} else {
					found += " WRONG: " + mismatch(got, want)
					err = errors.New("a method found the wrong rows")
				}
			}
			fmt.Printf("%-9s %-8s %10s %9.1f MiB %11.1f MiB %s\n", label, m.name, res.d.Round(time.Millisecond),
				float64(res.rssKiB)/1024, float64(res.heap)/(1<<20), found)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// printSummary prints each method's fastest and median time and highest
// peak RSS over its runs.
func printSummary(sum []summary) {
	if len(sum) == 0 || len(sum[0].times) == 0 {
		return
	}
	fmt.Printf("\n%-9s %-8s %4s %10s %10s %12s\n", "tables", "method", "runs", "min", "median", "peak RSS")
	for _, s := range sum {
		if len(s.times) == 0 {
			continue
		}
		lo, med := minMedian(s.times)
		fmt.Printf("%-9s %-8s %4d %10s %10s %8.1f MiB\n", s.label, s.method, len(s.times),
			lo.Round(time.Millisecond), med.Round(time.Millisecond), float64(s.rssKiB)/1024)
	}
}

// minMedian returns the smallest and the median of ds (the mean of the
// middle two when their number is even).
func minMedian(ds []time.Duration) (lo, med time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[0], s[n/2]
	}
	return s[0], (s[n/2-1] + s[n/2]) / 2
}

type measured struct {
	d      time.Duration
	rssKiB int64
	heap   uint64
}

// measure times f and records the process's peak RSS and the peak Go heap
// while it ran.
func measure(f func()) measured {
	runtime.GC()
	// "5" resets VmHWM to the current RSS (Linux 4.0+), so each run's
	// peak is its own.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var peak uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapAlloc)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	f()
	d := time.Since(start)
	close(stop)
	wg.Wait()
	return measured{d: d, rssKiB: vmHWM(), heap: peak}
}

func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// bisect is diverge.Diff listing up to want rows (at least 1000), so every
// changed key can be checked.
func bisect(ctx context.Context, p1, p2 *pgxpool.Pool, want int) ([]string, error) {
	d, err := diverge.Diff(ctx, p1, p2, diverge.Options{Tables: []string{table}, RowLimit: max(1000, want)})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range d.Tables[0].Rows {
		out = append(out, r.Kind+":"+r.Key)
	}
	return out, nil
}

// naive streams both tables ordered by key and merges them in Go.
func naive(ctx context.Context, p1, p2 *pgxpool.Pool) ([]string, error) {
	q := `SELECT id, r::text FROM ` + table + ` r ORDER BY id`
	r1, err := p1.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("naive: primary1: %w", err)
	}
	defer r1.Close()
	r2, err := p2.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("naive: primary2: %w", err)
	}
	defer r2.Close()
	type row struct {
		id  int64
		txt string
		ok  bool
	}
	next := func(rs pgx.Rows) (row, error) {
		if !rs.Next() {
			return row{}, rs.Err()
		}
		var r row
		r.ok = true
		return r, rs.Scan(&r.id, &r.txt)
	}
	var out []string
	a, err := next(r1)
	if err != nil {
		return nil, err
	}
	b, err := next(r2)
	if err != nil {
		return nil, err
	}
	for a.ok || b.ok {
		switch {
		case a.ok && (!b.ok || a.id < b.id):
			out = append(out, reports.MissingOnPrimary2+":"+strconv.FormatInt(a.id, 10))
			if a, err = next(r1); err != nil {
				return nil, err
			}
		case b.ok && (!a.ok || b.id < a.id):
			out = append(out, reports.MissingOnPrimary1+":"+strconv.FormatInt(b.id, 10))
			if b, err = next(r2); err != nil {
				return nil, err
			}
		default:
			if a.txt != b.txt {
				out = append(out, reports.Different+":"+strconv.FormatInt(a.id, 10))
			}
			if a, err = next(r1); err != nil {
				return nil, err
			}
			if b, err = next(r2); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// mismatch says how two sorted key lists differ: their sizes and the first
// few keys found in only one of them.
func mismatch(got, want []string) string {
	var extra, missed []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || (i < len(got) && got[i] < want[j]):
			extra = append(extra, got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			missed = append(missed, want[j])
			j++
		default:
			i++
			j++
		}
	}
	return fmt.Sprintf("got %d, want %d; %d not changed but found (first: %v), %d changed but not found (first: %v)",
		len(got), len(want), len(extra), extra[:min(5, len(extra))], len(missed), missed[:min(5, len(missed))])
}
