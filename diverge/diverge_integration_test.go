package diverge

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// execAll runs statements on a pool, failing the test on any error.
func execAll(t *testing.T, p *pgxpool.Pool, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := p.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// waitFor polls a query on a pool until it returns want.
func waitFor(t *testing.T, p *pgxpool.Pool, q, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if err := p.QueryRow(context.Background(), q).Scan(&got); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: got %q, want %q after 30s", q, got, want)
}

// kinds returns "kind:key" for each listed row, sorted.
func kinds(td reports.TableDivergence) []string {
	var out []string
	for _, r := range td.Rows {
		out = append(out, r.Kind+":"+r.Key)
	}
	slices.Sort(out)
	return out
}

func tableOf(t *testing.T, d *reports.Divergence, name string) reports.TableDivergence {
	t.Helper()
	for _, td := range d.Tables {
		if td.Table == name {
			return td
		}
	}
	t.Fatalf("table %s not in the report: %+v", name, d.Tables)
	return reports.TableDivergence{}
}

func expect(kind string, keys ...string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, kind+":"+k)
	}
	return out
}

// labPools opens a pool on each primary of l, closed when t ends.
func labPools(t *testing.T, l *lab.Lab) (p1, p2 *pgxpool.Pool) {
	t.Helper()
	open := func(node string) *pgxpool.Pool {
		p, err := pgxpool.New(context.Background(), l.MustDSN(node))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	return open(lab.Primary1), open(lab.Primary2)
}

func TestDiffNamesExactlyTheTamperedRowsOnARealLab(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	p1, p2 := labPools(t, l)

	schema := []string{
		`CREATE TABLE div_simple (id int PRIMARY KEY, name text, v int)`,
		`CREATE TABLE div_comp (a int, b text, v text, PRIMARY KEY (a, b))`,
		`CREATE TABLE div_text (k text PRIMARY KEY, v int)`,
		`CREATE TABLE div_swap (id int PRIMARY KEY, v text)`,
	}
	execAll(t, p1, schema...)
	execAll(t, p2, schema...)
	for _, p := range []*pgxpool.Pool{p1, p2} {
		node := lab.Primary1
		if p == p2 {
			node = lab.Primary2
		}
		execAll(t, p, fmt.Sprintf(`ALTER SUBSCRIPTION %s REFRESH PUBLICATION WITH (copy_data = false)`, lab.SubscriptionOn(node)))
	}
	// Written on primary1 only; replication brings them to primary2.
	execAll(t, p1,
		`INSERT INTO div_simple SELECT g, 'row ' || g, g * 10 FROM generate_series(1, 1000) g`,
		`INSERT INTO div_comp SELECT g / 10, 'b' || (g % 10), 'v' || g FROM generate_series(0, 599) g`,
		`INSERT INTO div_text SELECT md5(g::text), g FROM generate_series(1, 400) g`,
		`INSERT INTO div_swap VALUES (1, 'start'), (2, 'same')`)
	for q, want := range map[string]string{
		`SELECT count(*)::text FROM div_simple`: "1000",
		`SELECT count(*)::text FROM div_comp`:   "600",
		`SELECT count(*)::text FROM div_text`:   "400",
		`SELECT count(*)::text FROM div_swap`:   "2",
	} {
		waitFor(t, p2, q, want)
	}
	tables := []string{"div_simple", "div_comp", "div_text", "div_swap"}
	// Small shapes force several levels of bisection on these tables.
	// Pinned methods compare every chunk by hashes only, or by streamed
	// rows only, whatever the density, so both must name the same rows.
	shapes := []treeShape{{fanout: fanout, leaf: leafRows}, {fanout: 4, leaf: 8}, {fanout: 2, leaf: 1},
		{fanout: 4, leaf: 8, pinned: true, pin: byHash}, {fanout: 4, leaf: 8, pinned: true, pin: byRows},
		{fanout: fanout, leaf: leafRows, pinned: true, pin: byRows}}

	t.Run("identical tables show no divergence", func(t *testing.T) {
		for _, sh := range shapes {
			d, err := diff(ctx, []string{lab.Primary1, lab.Primary2}, []*pgxpool.Pool{p1, p2}, Options{Tables: tables}, sh)
			if err != nil {
				t.Fatal(err)
			}
			if d.DivergentRows != 0 || len(d.Tables) != 4 {
				t.Fatalf("shape %+v: %+v", sh, d)
			}
			for _, td := range d.Tables {
				if td.MissingOnPrimary1+td.MissingOnPrimary2+td.Different != 0 || len(td.Rows) != 0 || td.Truncated {
					t.Errorf("shape %+v: %s differs: %+v", sh, td.Table, td)
				}
			}
			if s := tableOf(t, d, "div_simple"); s.RowsPrimary1 != 1000 || s.RowsPrimary2 != 1000 {
				t.Errorf("row counts %d/%d, want 1000/1000", s.RowsPrimary1, s.RowsPrimary2)
			}
		}
	})

	t.Run("one-scan part hashes agree with each part's own range", func(t *testing.T) {
		// The first pass puts rows in parts by width_bucket (single-column
		// keys) or a tree of row comparisons (composite keys); the walk
		// and the leaves select them by range predicates. Both must place
		// every row alike, or a difference could hide between them.
		cat, err := catalog(ctx, p1, lab.Primary1)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range tables {
			s1, err := begin(ctx, p1, lab.Primary1)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := begin(ctx, p2, lab.Primary2)
			if err != nil {
				s1.end(ctx)
				t.Fatal(err)
			}
			td := reports.TableDivergence{}
			c := &comparison{t: cat[name], sides: []*side{s1, s2}, shape: treeShape{fanout: 4, leaf: 1}, td: &td}
			cuts, err := c.topCuts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cuts) == 0 {
				t.Errorf("%s: no sampled cuts, want some with one-row leaves", name)
			}
			parts, err := c.hash(ctx, s1, keyRange{}, cuts)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for i, r := range split(keyRange{}, cuts) {
				one, err := c.hash(ctx, s1, r, nil)
				if err != nil {
					t.Fatal(err)
				}
				if one[0] != parts[i] {
					t.Errorf("%s part %d [%v, %v): one scan says %+v, its range alone %+v", name, i, r.lo, r.hi, parts[i], one[0])
				}
				total += one[0].n
			}
			if whole, err := c.hash(ctx, s1, keyRange{}, nil); err != nil || whole[0].n != total {
				t.Errorf("%s: parts hold %d rows, the table %+v (%v)", name, total, whole, err)
			}
			s1.end(ctx)
			s2.end(ctx)
		}
	})

	t.Run("streamed rows of a one-column key are decoded from the wire as pgx scans them", func(t *testing.T) {
		cat, err := catalog(ctx, p1, lab.Primary1)
		if err != nil {
			t.Fatal(err)
		}
		s1, err := begin(ctx, p1, lab.Primary1)
		if err != nil {
			t.Fatal(err)
		}
		defer s1.end(ctx)
		for _, name := range []string{"div_simple", "div_text"} {
			tb := cat[name]
			q, args := tb.streamSQL(keyRange{}, nil)
			rows, err := s1.tx.Query(ctx, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				lr, p, ok := streamRow(rows.FieldDescriptions(), rows.RawValues())
				var want leafRow
				var wantP int
				if err := rows.Scan(&wantP, &want.key, &want.hash); err != nil {
					t.Fatal(err)
				}
				if !ok || lr.key != want.key || lr.hash != want.hash || lr.cols != nil || p != wantP {
					t.Fatalf("%s: streamRow %+v part %d (decoded %v), Scan %+v part %d", name, lr, p, ok, want, wantP)
				}
				n++
			}
			rows.Close()
			if rows.Err() != nil || n == 0 {
				t.Fatalf("%s: %d rows streamed, %v", name, n, rows.Err())
			}
		}
	})

	// Split brain by hand: both subscriptions off, then tamper.
	execAll(t, p1, fmt.Sprintf(`ALTER SUBSCRIPTION %s DISABLE`, lab.SubscriptionOn(lab.Primary1)))
	execAll(t, p2, fmt.Sprintf(`ALTER SUBSCRIPTION %s DISABLE`, lab.SubscriptionOn(lab.Primary2)))
	execAll(t, p1,
		`DELETE FROM div_simple WHERE id IN (1, 2, 257, 500, 501, 999, 1000)`,
		`DELETE FROM div_comp WHERE (a, b) IN ((3, 'b4'), (59, 'b9'))`,
		`UPDATE div_comp SET v = 'changed on 1' WHERE (a, b) IN ((0, 'b0'), (30, 'b5'))`,
		`INSERT INTO div_comp VALUES (3, 'b45', 'extra on 1')`,
		`INSERT INTO div_text VALUES ('', -1), ('zzz', -2)`,
		`UPDATE div_swap SET v = 'from primary1' WHERE id = 1`)
	execAll(t, p2,
		`UPDATE div_simple SET v = -v WHERE id IN (3, 100, 256, 502, 998)`,
		`INSERT INTO div_simple VALUES (0, 'extra', 0), (1001, 'extra', 0), (-50, 'extra', 0)`,
		`DELETE FROM div_text WHERE v IN (7, 300)`,
		`UPDATE div_text SET v = 0 WHERE v = 11`)
	// The later write to div_swap id 1 is primary2's.
	time.Sleep(10 * time.Millisecond)
	execAll(t, p2, `UPDATE div_swap SET v = 'from primary2' WHERE id = 1`)

	var md5of = func(n int) string {
		var s string
		if err := p1.QueryRow(ctx, `SELECT md5($1::int::text)`, n).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := map[string]struct {
		m1, m2, diff int64
		rows         []string
		writer       string // LastWriter of every different row
	}{
		"div_simple": {10, 0, 5, slices.Concat(
			expect(reports.MissingOnPrimary1, "1", "2", "257", "500", "501", "999", "1000", "0", "1001", "-50"),
			expect(reports.Different, "3", "100", "256", "502", "998")), lab.Primary2},
		"div_comp": {2, 1, 2, slices.Concat(
			expect(reports.MissingOnPrimary1, "(3,b4)", "(59,b9)"),
			expect(reports.MissingOnPrimary2, "(3,b45)"),
			expect(reports.Different, "(0,b0)", "(30,b5)")), lab.Primary1},
		"div_text": {0, 4, 1, slices.Concat(
			expect(reports.MissingOnPrimary2, "", "zzz", md5of(7), md5of(300)),
			expect(reports.Different, md5of(11))), lab.Primary2},
		"div_swap": {0, 0, 1, expect(reports.Different, "1"), lab.Primary2},
	}

	t.Run("tampered tables name exactly the tampered keys", func(t *testing.T) {
		for _, sh := range shapes {
			each := map[string][]string{}
			d, err := diff(ctx, []string{lab.Primary1, lab.Primary2}, []*pgxpool.Pool{p1, p2}, Options{Tables: tables,
				EachKey: func(table, kind, key string) { each[table] = append(each[table], kind+":"+key) }}, sh)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for name, w := range want {
				td := tableOf(t, d, name)
				total += w.m1 + w.m2 + w.diff
				if td.MissingOnPrimary1 != w.m1 || td.MissingOnPrimary2 != w.m2 || td.Different != w.diff || td.Truncated {
					t.Errorf("shape %+v %s: counts m1=%d m2=%d diff=%d trunc=%v, want %d %d %d false",
						sh, name, td.MissingOnPrimary1, td.MissingOnPrimary2, td.Different, td.Truncated, w.m1, w.m2, w.diff)
				}
				rows := w.rows
				slices.Sort(rows)
				if got := kinds(td); !reflect.DeepEqual(got, rows) {
					t.Errorf("shape %+v %s: rows\n got %v\nwant %v", sh, name, got, rows)
				}
				// Every key reaches EachKey, in the order the rows are listed.
				var listed []string
				for _, r := range td.Rows {
					listed = append(listed, r.Kind+":"+r.Key)
				}
				if !reflect.DeepEqual(each[name], listed) {
					t.Errorf("shape %+v %s: EachKey got\n %v\nthe rows list\n %v", sh, name, each[name], listed)
				}
				for _, r := range td.Rows {
					switch r.Kind {
					case reports.Different:
						if r.Primary1 == "" || r.Primary2 == "" || r.Primary1 == r.Primary2 {
							t.Errorf("%s %s: both versions expected, got %q / %q", name, r.Key, r.Primary1, r.Primary2)
						}
						if r.LastWriter != w.writer {
							t.Errorf("%s %s: last writer %q, want %q", name, r.Key, r.LastWriter, w.writer)
						}
					case reports.MissingOnPrimary1:
						if r.Primary1 != "" || r.Primary2 == "" {
							t.Errorf("%s %s missing on primary1: versions %q / %q", name, r.Key, r.Primary1, r.Primary2)
						}
					case reports.MissingOnPrimary2:
						if r.Primary2 != "" || r.Primary1 == "" {
							t.Errorf("%s %s missing on primary2: versions %q / %q", name, r.Key, r.Primary1, r.Primary2)
						}
					}
				}
			}
			if d.DivergentRows != total {
				t.Errorf("shape %+v: DivergentRows = %d, want %d", sh, d.DivergentRows, total)
			}
		}
		d, err := Diff(ctx, p1, p2, Options{Tables: []string{"div_simple"}})
		if err != nil {
			t.Fatal(err)
		}
		r := d.Tables[0].Rows
		i := slices.IndexFunc(r, func(r reports.DivergentRow) bool { return r.Key == "100" })
		if i < 0 || r[i].Primary1 != `{"v": 1000, "id": 100, "name": "row 100"}` || r[i].Primary2 != `{"v": -1000, "id": 100, "name": "row 100"}` {
			t.Errorf("row 100 versions wrong: %+v", r)
		}
	})

	t.Run("row limit truncates the list, not the counts or the keys", func(t *testing.T) {
		var each []string
		d, err := diff(ctx, []string{lab.Primary1, lab.Primary2}, []*pgxpool.Pool{p1, p2}, Options{Tables: []string{"div_simple"}, RowLimit: 4,
			EachKey: func(_, kind, key string) { each = append(each, kind+":"+key) }}, treeShape{fanout: 4, leaf: 8})
		if err != nil {
			t.Fatal(err)
		}
		td := d.Tables[0]
		if len(td.Rows) != 4 || !td.Truncated || td.MissingOnPrimary1 != 10 || td.Different != 5 || d.DivergentRows != 15 {
			t.Errorf("limit 4: %+v", td)
		}
		sorted := slices.Sorted(slices.Values(each))
		if w := slices.Sorted(slices.Values(want["div_simple"].rows)); !reflect.DeepEqual(sorted, w) {
			t.Errorf("limit 4: EachKey got %v, want every key %v", each, w)
		}
		for i, r := range td.Rows {
			if i < len(each) && r.Kind+":"+r.Key != each[i] {
				t.Errorf("limit 4: row %d is %s:%s, want the first keys %v", i, r.Kind, r.Key, each[:4])
			}
		}
		d, err = Diff(ctx, p1, p2, Options{Tables: []string{"div_simple"}, RowLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		if td := d.Tables[0]; len(td.Rows) != 0 || !td.Truncated || d.DivergentRows != 15 {
			t.Errorf("no listing: %+v", td)
		}
	})

	t.Run("a table on one node only reads as empty on the other", func(t *testing.T) {
		// Created while the subscriptions are off and never enabled again,
		// so primary2 never learns of it.
		execAll(t, p1, `CREATE TABLE div_only1 (id bigint PRIMARY KEY)`, `INSERT INTO div_only1 SELECT generate_series(1, 300)`)
		d, err := Diff(ctx, p1, p2, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, td := range d.Tables {
			names = append(names, td.Table)
			if td.Table == "pgchaos_heartbeat" {
				t.Errorf("default comparison includes the heartbeat table, which differs by design")
			}
		}
		if !slices.IsSorted(names) || !slices.Contains(names, "div_only1") || !slices.Contains(names, "div_simple") {
			t.Errorf("default tables %v: want sorted, with div_only1 and div_simple", names)
		}
		td := tableOf(t, d, "div_only1")
		if td.RowsPrimary1 != 300 || td.RowsPrimary2 != 0 || td.MissingOnPrimary2 != 300 || len(td.Rows) != DefaultRowLimit || !td.Truncated {
			t.Errorf("div_only1: %+v", td)
		}
	})

	t.Run("differences all over a table: many leaf batches, rows fetched in chunks", func(t *testing.T) {
		// 1,800 of 3,000 rows differ: with one-row leaves they fill many
		// batches of leafBatch leaves, flushed while the walk goes on,
		// and listing them all takes two statements of detailBatch keys.
		// The subscriptions are off, so each node keeps its own version.
		for _, p := range []*pgxpool.Pool{p1, p2} {
			execAll(t, p, `CREATE TABLE div_many (id bigint PRIMARY KEY, v bigint)`,
				`INSERT INTO div_many SELECT g, g * 10 FROM generate_series(1, 3000) g`)
		}
		execAll(t, p2, `UPDATE div_many SET v = -v WHERE id % 2 = 0`, `DELETE FROM div_many WHERE id % 2 = 1 AND id % 5 = 0`)
		for _, sh := range shapes {
			var each []string
			d, err := diff(ctx, []string{lab.Primary1, lab.Primary2}, []*pgxpool.Pool{p1, p2}, Options{Tables: []string{"div_many"}, RowLimit: 2000,
				EachKey: func(_, kind, key string) { each = append(each, kind+":"+key) }}, sh)
			if err != nil {
				t.Fatal(err)
			}
			td := d.Tables[0]
			if len(each) != len(td.Rows) {
				t.Errorf("shape %+v: %d keys to EachKey, %d rows listed", sh, len(each), len(td.Rows))
			}
			for i, r := range td.Rows {
				if i < len(each) && each[i] != r.Kind+":"+r.Key {
					t.Fatalf("shape %+v: key %d: EachKey %s, row %s:%s", sh, i, each[i], r.Kind, r.Key)
				}
			}
			if td.MissingOnPrimary1 != 0 || td.MissingOnPrimary2 != 300 || td.Different != 1500 || len(td.Rows) != 1800 || td.Truncated {
				t.Errorf("shape %+v: m1=%d m2=%d diff=%d listed=%d truncated=%v, want 0 300 1500 1800 false",
					sh, td.MissingOnPrimary1, td.MissingOnPrimary2, td.Different, len(td.Rows), td.Truncated)
				continue
			}
			prev := int64(0)
			for _, r := range td.Rows {
				var id int64
				if _, err := fmt.Sscan(r.Key, &id); err != nil || id <= prev {
					t.Fatalf("shape %+v: key %q after %d: want ascending ids", sh, r.Key, prev)
				}
				prev = id
				want1 := fmt.Sprintf(`{"v": %d, "id": %d}`, id*10, id)
				kind, want2 := reports.Different, fmt.Sprintf(`{"v": %d, "id": %d}`, -id*10, id)
				if id%2 == 1 {
					kind, want2 = reports.MissingOnPrimary2, ""
				}
				if r.Kind != kind || r.Primary1 != want1 || r.Primary2 != want2 {
					t.Fatalf("shape %+v: row %+v, want %s with %s / %q", sh, r, kind, want1, want2)
				}
			}
		}
	})

	t.Run("DiffLab compares the lab's primaries", func(t *testing.T) {
		d, err := DiffLab(ctx, l, Options{Tables: []string{"div_swap"}})
		if err != nil {
			t.Fatal(err)
		}
		if d.DivergentRows != 1 || d.Tables[0].Rows[0].Key != "1" {
			t.Errorf("DiffLab: %+v", d)
		}
	})
}

func TestDiffLastWriterAfterValuesSwapThroughReplication(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	p1, p2 := labPools(t, l)
	for _, p := range []*pgxpool.Pool{p1, p2} {
		execAll(t, p, `CREATE TABLE div_swap (id int PRIMARY KEY, v text)`)
	}
	sub1, sub2 := lab.SubscriptionOn(lab.Primary1), lab.SubscriptionOn(lab.Primary2)
	execAll(t, p1, `ALTER SUBSCRIPTION `+sub1+` REFRESH PUBLICATION WITH (copy_data = false)`)
	execAll(t, p2, `ALTER SUBSCRIPTION `+sub2+` REFRESH PUBLICATION WITH (copy_data = false)`)
	execAll(t, p1, `INSERT INTO div_swap VALUES (1, 'start')`)
	waitFor(t, p2, `SELECT coalesce(max(v), '') FROM div_swap`, "start")

	// Concurrent updates during a partition swap the values once the
	// partition heals: each node ends with the other's version.
	execAll(t, p1, `ALTER SUBSCRIPTION `+sub1+` DISABLE`)
	execAll(t, p2, `ALTER SUBSCRIPTION `+sub2+` DISABLE`)
	execAll(t, p1, `UPDATE div_swap SET v = 'from primary1'`)
	time.Sleep(10 * time.Millisecond)
	execAll(t, p2, `UPDATE div_swap SET v = 'from primary2'`)
	execAll(t, p1, `ALTER SUBSCRIPTION `+sub1+` ENABLE`)
	execAll(t, p2, `ALTER SUBSCRIPTION `+sub2+` ENABLE`)
	waitFor(t, p1, `SELECT v FROM div_swap`, "from primary2")
	waitFor(t, p2, `SELECT v FROM div_swap`, "from primary1")

	d, err := Diff(ctx, p1, p2, Options{Tables: []string{"div_swap"}})
	if err != nil {
		t.Fatal(err)
	}
	td := d.Tables[0]
	if td.Different != 1 || len(td.Rows) != 1 {
		t.Fatalf("want one different row, got %+v", td)
	}
	// primary1 holds the later commit (primary2's, applied there).
	if r := td.Rows[0]; r.LastWriter != lab.Primary2 || !strings.Contains(r.Primary1, "from primary2") {
		t.Errorf("swapped row: %+v, want last writer primary2", r)
	}
}
