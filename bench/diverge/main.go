// Command diverge measures diverge.Diff against a naive comparison and
// against the physical floor on two real PostgreSQL nodes (a lab's
// primaries):
//
//	go run ./bench/diverge -dsn1 postgres://…:5442/postgres -dsn2 postgres://…:5443/postgres -diffs 10,1000,10000,100000 \
//	  -server-cpu /sys/fs/cgroup/cpuacct/docker/ID1/cpuacct.usage,/sys/fs/cgroup/cpuacct/docker/ID2/cpuacct.usage
//
// (ID1 and ID2 from docker inspect -f '{{.Id}}' of the two containers; on a
// cgroup v2 host the counter is usage_usec in cpu.stat, which this does not
// read.)
//
// It builds the same table of -rows rows on both nodes with generate_series
// (under a replication origin, so a lab's origin = none subscriptions do not
// ship the rows to the peer), or reuses it when a table left by -keep
// already holds those rows on both nodes. It compares the identical tables,
// then, for each count in -diffs, makes that many rows differ on primary2
// (spread over the key space), compares again and puts primary2 back.
// Each state is measured three ways, -runs times each, alternating:
// diverge.Diff (range hashes inside PostgreSQL, listing only what differs;
// it returns every divergent key through Options.EachKey and, as a report
// shows them, the first diverge.DefaultRowLimit rows in full on both nodes
// with their last writer), naive (both tables fetched ordered by key and
// merged in Go; it returns every divergent key) and floor (one
// hash aggregate over the whole table on each node at once: the least any
// method that reads every row must pay; it finds nothing). For each run it
// prints the wall time, the process's peak RSS (VmHWM, reset before each
// run through /proc/self/clear_refs), the peak Go heap (sampled) and, with
// -server-cpu, the CPU time client and servers spent on it; then,
// per state, each method's fastest and median time (and CPU time), its
// highest peak RSS, and Diff's medians against naive's and floor's. Diff's and naive's rows
// are checked against the changed keys. The table is dropped at the end
// unless -keep.
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
	"syscall"
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
	diffsFlag := flag.String("diffs", "10,1000,10000,100000", "comma-separated counts of rows to make differ on primary2, one state each (split into updates, deletes, inserts)")
	keep := flag.Bool("keep", false, "keep the table afterwards (a later run with the same -rows reuses it)")
	serverCPU := flag.String("server-cpu", "", "comma-separated cgroup CPU counters (nanoseconds, e.g. /sys/fs/cgroup/cpuacct/docker/ID/cpuacct.usage) of the two servers: each run then also reports the CPU time it cost client and servers together, which a busy shared machine disturbs far less than wall time")
	runs := flag.Int("runs", 3, "times to run each method on each state (alternating methods, so load on a shared machine hits all alike)")
	flag.Parse()
	if *dsn1 == "" || *dsn2 == "" {
		fmt.Fprintln(os.Stderr, "diverge: -dsn1 and -dsn2 are required (a lab's primary1 and primary2)")
		os.Exit(2)
	}
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "diverge: -runs must be at least 1")
		os.Exit(2)
	}
	diffs, err := parseCounts(*diffsFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "diverge: -diffs:", err)
		os.Exit(2)
	}
	var servers cpuCounters
	if *serverCPU != "" {
		servers = strings.Split(*serverCPU, ",")
		if _, err := servers.read(); err != nil {
			fmt.Fprintln(os.Stderr, "diverge: -server-cpu:", err)
			os.Exit(2)
		}
	}
	if err := run(context.Background(), *dsn1, *dsn2, *rows, diffs, *keep, *runs, servers); err != nil {
		fmt.Fprintln(os.Stderr, "diverge:", err)
		os.Exit(1)
	}
}

// parseCounts reads "10,1000" as [10 1000]: positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, dsn1, dsn2 string, rows int, diffs []int, keep bool, runs int, servers cpuCounters) error {
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

	if err := build(ctx, p1, p2, rows); err != nil {
		return err
	}
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
	fmt.Printf("diverge returns every divergent key (Options.EachKey) and the first %d rows in full on both nodes with their last writer;\n"+
		"naive returns every divergent key; floor finds nothing (one hash aggregate over the table on each node)\n\n", diverge.DefaultRowLimit)
	fmt.Printf("%-13s %-8s %10s %10s %12s %14s %s\n", "tables", "method", "time", "CPU", "peak RSS", "peak Go heap", "found")
	if err := compare(ctx, p1, p2, "identical", nil, runs, servers, &sum); err != nil {
		return err
	}
	for _, n := range diffs {
		t := tampering(rows, n)
		if err := unreplicated(ctx, p2, t.apply()...); err != nil {
			return err
		}
		err := compare(ctx, p1, p2, fmt.Sprintf("%d differ", n), t.want, runs, servers, &sum)
		if rerr := unreplicated(context.WithoutCancel(ctx), p2, t.revert()...); rerr != nil {
			return errors.Join(err, fmt.Errorf("put primary2 back: %w", rerr))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rowSQL is the bench row for id g, as the build and a revert insert it.
const rowSQL = `g, 'customer ' || g, (g %% 100000) / 100.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'`

// build makes the table on both nodes, unless both already hold exactly
// rows rows (left by -keep) with the same contents.
func build(ctx context.Context, p1, p2 *pgxpool.Pool, rows int) error {
	var n1, n2 int64
	var h1, h2 string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p1.QueryRow(gctx, floorSQL).Scan(&n1, &h1) })
	g.Go(func() error { return p2.QueryRow(gctx, floorSQL).Scan(&n2, &h2) })
	if g.Wait() == nil && n1 == int64(rows) && n2 == n1 && h1 == h2 {
		fmt.Fprintf(os.Stderr, "reusing the %d rows of %s on each node\n", rows, table)
		return nil
	}
	fmt.Fprintf(os.Stderr, "building %d rows on each node…\n", rows)
	t0 := time.Now()
	g, gctx = errgroup.WithContext(ctx)
	for _, p := range []*pgxpool.Pool{p1, p2} {
		g.Go(func() error {
			return unreplicated(gctx, p,
				`DROP TABLE IF EXISTS `+table,
				`CREATE TABLE `+table+` (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), created_at timestamptz)`,
				fmt.Sprintf(`INSERT INTO %s SELECT `+rowSQL+` FROM generate_series(1, %d) g`, table, rows),
				`VACUUM ANALYZE `+table)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built in %s\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

// tamper is n changes to primary2 and the rows they should be found as.
type tamper struct {
	upd, del, ins []int64
	want          []string // sorted kind:key
}

// tampering spreads n changes over the key space of a table of rows rows:
// a third updated, a third deleted, the rest inserted beyond the end.
func tampering(rows, n int) tamper {
	var t tamper
	for i := range n {
		id := int64(rows) * int64(i+1) / int64(n+1)
		switch i % 3 {
		case 0:
			t.upd = append(t.upd, id)
			t.want = append(t.want, reports.Different+":"+strconv.FormatInt(id, 10))
		case 1:
			t.del = append(t.del, id)
			t.want = append(t.want, reports.MissingOnPrimary2+":"+strconv.FormatInt(id, 10))
		default:
			id = int64(rows) + int64(i) + 1
			t.ins = append(t.ins, id)
			t.want = append(t.want, reports.MissingOnPrimary1+":"+strconv.FormatInt(id, 10))
		}
	}
	slices.Sort(t.want)
	return t
}

func idArray(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return "'{" + strings.Join(s, ",") + "}'::bigint[]"
}

// apply is the statements that make the changes.
func (t tamper) apply() []string {
	return []string{
		fmt.Sprintf(`UPDATE %s SET amount = amount + 1 WHERE id = ANY(%s)`, table, idArray(t.upd)),
		fmt.Sprintf(`DELETE FROM %s WHERE id = ANY(%s)`, table, idArray(t.del)),
		fmt.Sprintf(`INSERT INTO %s SELECT g, 'extra', 0, now() FROM unnest(%s) g`, table, idArray(t.ins)),
	}
}

// revert is the statements that undo them, leaving the table as built.
func (t tamper) revert() []string {
	return []string{
		fmt.Sprintf(`UPDATE %s SET amount = amount - 1 WHERE id = ANY(%s)`, table, idArray(t.upd)),
		fmt.Sprintf(`INSERT INTO %s SELECT `+rowSQL+` FROM unnest(%s) g`, table, idArray(t.del)),
		fmt.Sprintf(`DELETE FROM %s WHERE id = ANY(%s)`, table, idArray(t.ins)),
		`VACUUM ANALYZE ` + table,
	}
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
	cpu           []time.Duration // client and servers; empty without -server-cpu
	rssKiB        int64           // the highest of the runs' peaks
}

// compare runs the three methods runs times on the current tables,
// alternating them, and prints a line a run; the rows Diff and naive find
// are checked against want (sorted kind:key; nil when nothing differs).
// Each method's runs are added to sum.
func compare(ctx context.Context, p1, p2 *pgxpool.Pool, label string, want []string, runs int, servers cpuCounters, sum *[]summary) error {
	methods := []struct {
		name  string
		f     func(context.Context, *pgxpool.Pool, *pgxpool.Pool) ([]string, error)
		finds bool // lists the rows that differ (floor does not)
	}{
		{"diverge", func(ctx context.Context, p1, p2 *pgxpool.Pool) ([]string, error) {
			return diff(ctx, p1, p2)
		}, true},
		{"naive", naive, true},
		{"floor", floor, false},
	}
	first := len(*sum)
	for _, m := range methods {
		*sum = append(*sum, summary{label: label, method: m.name})
	}
	for range runs {
		for i, m := range methods {
			var got []string
			var err error
			res := measure(servers, func() { got, err = m.f(ctx, p1, p2) })
			if err != nil {
				return err
			}
			s := &(*sum)[first+i]
			s.times = append(s.times, res.d)
			cpu := "-"
			if res.cpu >= 0 {
				s.cpu = append(s.cpu, res.cpu)
				cpu = res.cpu.Round(time.Millisecond).String()
			}
			s.rssKiB = max(s.rssKiB, res.rssKiB)
			found := "-"
			if m.finds {
				slices.Sort(got)
				found = fmt.Sprintf("%d rows", len(got))
				if slices.Equal(got, want) {
					if len(want) > 0 {
						found += " (exactly the changed keys)"
					}
				} else {
					found += " WRONG: " + mismatch(got, want)
					err = errors.New("a method found the wrong rows")
				}
			}
			fmt.Printf("%-13s %-8s %10s %10s %9.1f MiB %11.1f MiB %s\n", label, m.name, res.d.Round(time.Millisecond), cpu,
				float64(res.rssKiB)/1024, float64(res.heap)/(1<<20), found)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// printSummary prints each method's fastest and median time (and CPU
// time, with -server-cpu) and highest peak RSS over its runs, and per state
// Diff's medians over naive's and over floor's.
func printSummary(sum []summary) {
	if len(sum) == 0 || len(sum[0].times) == 0 {
		return
	}
	fmt.Printf("\n%-13s %-8s %4s %10s %10s %10s %12s\n", "tables", "method", "runs", "min", "median", "median CPU", "peak RSS")
	type meds struct{ wall, cpu time.Duration }
	medians := map[string]map[string]meds{}
	var labels []string
	for _, s := range sum {
		if len(s.times) == 0 {
			continue
		}
		lo, med := minMedian(s.times)
		var cpu time.Duration
		cpuText := "-"
		if len(s.cpu) > 0 {
			_, cpu = minMedian(s.cpu)
			cpuText = cpu.Round(time.Millisecond).String()
		}
		if medians[s.label] == nil {
			medians[s.label] = map[string]meds{}
			labels = append(labels, s.label)
		}
		medians[s.label][s.method] = meds{med, cpu}
		fmt.Printf("%-13s %-8s %4d %10s %10s %10s %8.1f MiB\n", s.label, s.method, len(s.times),
			lo.Round(time.Millisecond), med.Round(time.Millisecond), cpuText, float64(s.rssKiB)/1024)
	}
	for _, what := range []string{"wall time", "CPU time"} {
		if what == "CPU time" && len(sum[0].cpu) == 0 {
			break
		}
		fmt.Printf("\nmedian %s:\n%-13s %10s %10s %10s %14s %14s\n", what, "tables", "diverge", "naive", "floor", "diverge/naive", "diverge/floor")
		for _, l := range labels {
			pick := func(m string) time.Duration {
				if what == "CPU time" {
					return medians[l][m].cpu
				}
				return medians[l][m].wall
			}
			d, n, f := pick("diverge"), pick("naive"), pick("floor")
			fmt.Printf("%-13s %10s %10s %10s %14s %14s\n", l, d.Round(time.Millisecond), n.Round(time.Millisecond),
				f.Round(time.Millisecond), ratio(d, n), ratio(d, f))
		}
	}
}

// ratio is a/b to two places, "-" when b is not measured.
func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
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
	cpu    time.Duration // client and servers, -1 without -server-cpu
}

// measure times f and records its CPU time (client and servers, when
// servers are given), the process's peak RSS and the peak Go heap while it
// ran.
func measure(servers cpuCounters, f func()) measured {
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
	cpu0, srv0 := clientCPU(), int64(-1)
	if len(servers) > 0 {
		srv0, _ = servers.read()
	}
	start := time.Now()
	f()
	d := time.Since(start)
	cpu := time.Duration(-1)
	if srv0 >= 0 {
		if srv1, err := servers.read(); err == nil {
			cpu = clientCPU() - cpu0 + time.Duration(srv1-srv0)
		}
	}
	close(stop)
	wg.Wait()
	return measured{d: d, rssKiB: vmHWM(), heap: peak, cpu: cpu}
}

// cpuCounters are the servers' cgroup CPU counters (-server-cpu).
type cpuCounters []string

// read sums the counters, in nanoseconds.
func (cc cpuCounters) read() (int64, error) {
	var sum int64
	for _, f := range cc {
		b, err := os.ReadFile(strings.TrimSpace(f))
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: not a CPU counter in nanoseconds: %w", f, err)
		}
		sum += n
	}
	return sum, nil
}

// clientCPU is the CPU time this process has used, user and system.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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

// diff is diverge.Diff as a report gets it (DefaultRowLimit rows in full:
// JSON on each node and the last writer) with every divergent key passed to
// Options.EachKey: like naive, it returns every key exactly. The rows in
// full must be the first keys, in order, and Truncated must say whether
// more differ.
func diff(ctx context.Context, p1, p2 *pgxpool.Pool) ([]string, error) {
	var keys []string
	d, err := diverge.Diff(ctx, p1, p2, diverge.Options{Tables: []string{table},
		EachKey: func(_, kind, key string) { keys = append(keys, kind+":"+key) }})
	if err != nil {
		return nil, err
	}
	td := d.Tables[0]
	if n := int64(len(keys)); n != td.MissingOnPrimary1+td.MissingOnPrimary2+td.Different {
		return nil, fmt.Errorf("diverge: %d keys passed to EachKey, %d counted", n, td.MissingOnPrimary1+td.MissingOnPrimary2+td.Different)
	}
	if want := min(len(keys), diverge.DefaultRowLimit); len(td.Rows) != want || td.Truncated != (len(keys) > want) {
		return nil, fmt.Errorf("diverge: %d rows in full (truncated %v) of %d keys, want %d", len(td.Rows), td.Truncated, len(keys), want)
	}
	for i, r := range td.Rows {
		if r.Kind+":"+r.Key != keys[i] {
			return nil, fmt.Errorf("diverge: row %d in full is %s:%s, the keys' %d is %s", i, r.Kind, r.Key, i, keys[i])
		}
		if (r.Primary1 == "") != (r.Kind == reports.MissingOnPrimary1) || (r.Primary2 == "") != (r.Kind == reports.MissingOnPrimary2) {
			return nil, fmt.Errorf("diverge: row %s (%s) in full lacks a version or has one it should not", r.Key, r.Kind)
		}
	}
	return keys, nil
}

// floorSQL is one hash aggregate over the whole table: every row read,
// rendered as text and hashed once, and nothing sent back but the total.
const floorSQL = `SELECT count(*), coalesce(sum(hashtextextended(r::text, 0)), 0)::text FROM ` + table + ` r`

// floor runs floorSQL on both nodes at once: what reading every row costs
// the servers, without finding anything.
func floor(ctx context.Context, p1, p2 *pgxpool.Pool) ([]string, error) {
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range []*pgxpool.Pool{p1, p2} {
		g.Go(func() error {
			var n int64
			var h string
			if err := p.QueryRow(gctx, floorSQL).Scan(&n, &h); err != nil {
				return fmt.Errorf("floor: %w", err)
			}
			return nil
		})
	}
	return nil, g.Wait()
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
