package diverge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
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

// databases makes one database a name on a lab's primary1 and opens a
// pool on each: separate nodes as far as DiffAll can tell (it only needs
// pools), with no replication between them to undo the tampering.
func databases(t *testing.T, l *lab.Lab, names ...string) map[string]*pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, l.MustDSN(lab.Primary1))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	out := map[string]*pgxpool.Pool{}
	for _, n := range names {
		execAll(t, admin, "CREATE DATABASE "+n)
		u, err := url.Parse(l.MustDSN(lab.Primary1))
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + n
		p, err := pgxpool.New(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		out[n] = p
	}
	return out
}

// oracle is what a plain reading of every row says about the tables:
// key → each node's row as JSON ("" where absent), for the keys that are
// not the same on every node.
func oracle(t *testing.T, nodes []string, pools map[string]*pgxpool.Pool, table, keyExpr string) map[string][]string {
	t.Helper()
	all := map[string][]string{}
	for k, n := range nodes {
		rows, err := pools[n].Query(context.Background(), fmt.Sprintf(`SELECT %s::text, to_jsonb(r)::text FROM %s AS r`, keyExpr, table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var key, js string
			if err := rows.Scan(&key, &js); err != nil {
				t.Fatal(err)
			}
			if all[key] == nil {
				all[key] = make([]string, len(nodes))
			}
			all[key][k] = js
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for key, v := range all {
		same := true
		for _, js := range v[1:] {
			same = same && js == v[0]
		}
		if same {
			delete(all, key)
		}
	}
	return all
}

// oracleKind is the kind a row of versions v (each node's JSON, "" where
// absent) has, by the rule docs/report.md states.
func oracleKind(nodes []string, v []string) string {
	distinct := map[string]bool{}
	var lack []string
	for k, js := range v {
		if js == "" {
			lack = append(lack, nodes[k])
		} else {
			distinct[js] = true
		}
	}
	if len(distinct) > 1 {
		return reports.Different
	}
	return reports.MissingOn(lack...)
}

func versionsOf(r reports.DivergentRow) string {
	var parts []string
	for _, v := range r.Versions {
		row := "absent"
		if v.Row != "" {
			var m map[string]any
			if err := json.Unmarshal([]byte(v.Row), &m); err == nil {
				row = fmt.Sprint(m["v"])
			}
		}
		parts = append(parts, strings.Join(v.Nodes, "+")+"="+row)
	}
	return strings.Join(parts, " ")
}

func TestDiffAllNamesWhichNodeHoldsWhichVersionAcrossThreeNodes(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	nodes := []string{"east", "west", "north"}
	pools := databases(t, l, nodes...)
	for _, n := range nodes {
		execAll(t, pools[n],
			`CREATE TABLE items (id int PRIMARY KEY, v text)`,
			`INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 3000) g`,
			`CREATE SCHEMA app`,
			`CREATE TABLE app.orders (a int, b text, v text, PRIMARY KEY (a, b))`,
			`INSERT INTO app.orders SELECT g / 10, 'b' || (g % 10), 'v' || g FROM generate_series(0, 499) g`,
			`CREATE TABLE nokey (x int, v text)`,
			`INSERT INTO nokey VALUES (1, 'a')`,
			`CREATE TABLE pgchaos_heartbeat (origin text PRIMARY KEY, v text)`,
			`INSERT INTO pgchaos_heartbeat VALUES ('`+n+`', '`+n+`')`)
		if n != "north" {
			execAll(t, pools[n], `CREATE TABLE partial (id int PRIMARY KEY, v text)`, `INSERT INTO partial VALUES (1, 'p')`)
		}
	}
	execAll(t, pools["west"],
		`UPDATE items SET v = 'west' WHERE id IN (10, 30)`,
		`DELETE FROM items WHERE id IN (20, 21)`,
		`UPDATE app.orders SET v = 'west' WHERE (a, b) = (1, 'b1')`)
	time.Sleep(5 * time.Millisecond) // north's writes commit later than west's
	execAll(t, pools["north"],
		`UPDATE items SET v = 'north' WHERE id = 30`,
		`DELETE FROM items WHERE id = 20`,
		`UPDATE items SET v = 'north ' || id WHERE id BETWEEN 1001 AND 1600`, // dense: streamed
		`INSERT INTO items VALUES (5000, 'north only')`,
		`DELETE FROM app.orders WHERE a = 7`)
	execAll(t, pools["east"], `DELETE FROM items WHERE id = 40`)
	execAll(t, pools["north"], `UPDATE items SET v = 'north' WHERE id = 40`)

	type tableWant struct{ name, keyExpr, ident string }
	tables := []tableWant{{"app.orders", "(r.a, r.b)", "app.orders"}, {"items", "r.id", "items"}, {"partial", "r.id", "partial"}}
	// partial is absent on north: every row of it is missing there.
	wantRows := map[string]map[string][]string{}
	for _, tw := range tables {
		if tw.name == "partial" {
			wantRows[tw.name] = map[string][]string{"1": {`{"v": "p", "id": 1}`, `{"v": "p", "id": 1}`, ""}}
			continue
		}
		wantRows[tw.name] = oracle(t, nodes, pools, tw.ident, tw.keyExpr)
	}
	if n := len(wantRows["items"]); n != 606 {
		t.Fatalf("the oracle finds %d divergent items, want 606: the tampering did not take", n)
	}

	shapes := []treeShape{{fanout: fanout, leaf: leafRows}, {fanout: 4, leaf: 8}, {fanout: 2, leaf: 1},
		{fanout: 4, leaf: 8, pinned: true, pin: byHash}, {fanout: 4, leaf: 8, pinned: true, pin: byRows}}
	ps := []*pgxpool.Pool{pools["east"], pools["west"], pools["north"]}
	for _, sh := range shapes {
		each := map[string]string{}
		d, err := diff(ctx, nodes, ps, Options{RowLimit: 10000, EachKey: func(table, kind, key string) {
			each[table+" "+key] = kind
		}}, sh)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.Nodes, nodes) {
			t.Errorf("shape %+v: nodes %v, want %v", sh, d.Nodes, nodes)
		}
		wantNC := []reports.NotCompared{{Table: "nokey", Reason: "no primary key: rows cannot be matched across nodes without one"}}
		if !reflect.DeepEqual(d.NotCompared, wantNC) {
			t.Errorf("shape %+v: not compared %+v, want %+v", sh, d.NotCompared, wantNC)
		}
		var names []string
		var total int64
		for _, td := range d.Tables {
			names = append(names, td.Table)
			want := wantRows[td.Table]
			total += int64(len(want))
			if td.DivergentRows != int64(len(want)) || len(td.Rows) != len(want) || td.Truncated {
				t.Errorf("shape %+v %s: %d divergent, %d listed (truncated %v), want %d", sh, td.Table, td.DivergentRows, len(td.Rows), td.Truncated, len(want))
			}
			missing := make([]int64, len(nodes))
			var different int64
			for _, v := range want {
				for k, js := range v {
					if js == "" {
						missing[k]++
					}
				}
				if oracleKind(nodes, v) == reports.Different {
					different++
				}
			}
			for k, tn := range td.Nodes {
				if tn.Node != nodes[k] || tn.Missing != missing[k] {
					t.Errorf("shape %+v %s: node %d is %+v, want %s missing %d", sh, td.Table, k, tn, nodes[k], missing[k])
				}
			}
			if td.Different != different || td.MissingOnPrimary1 != missing[0] || td.MissingOnPrimary2 != missing[1] ||
				td.RowsPrimary1 != td.Nodes[0].Rows || td.RowsPrimary2 != td.Nodes[1].Rows {
				t.Errorf("shape %+v %s: two-node fields %+v, want different %d, missing %v", sh, td.Table, td, different, missing)
			}
			for _, r := range td.Rows {
				v, ok := want[r.Key]
				if !ok {
					t.Errorf("shape %+v %s: key %s listed, but every node holds it alike", sh, td.Table, r.Key)
					continue
				}
				if k := oracleKind(nodes, v); r.Kind != k || each[td.Table+" "+r.Key] != k {
					t.Errorf("shape %+v %s key %s: kind %s (EachKey %s), want %s", sh, td.Table, r.Key, r.Kind, each[td.Table+" "+r.Key], k)
				}
				covered := map[string]bool{}
				for _, ver := range r.Versions {
					for _, n := range ver.Nodes {
						k := slices.Index(nodes, n)
						if k < 0 || covered[n] {
							t.Errorf("shape %+v %s key %s: versions %+v name %s wrongly", sh, td.Table, r.Key, r.Versions, n)
							continue
						}
						covered[n] = true
						if (ver.Row == "") != (v[k] == "") || ver.Row != "" && !sameJSON(ver.Row, v[k]) {
							t.Errorf("shape %+v %s key %s: %s holds %q by the report, %q by the oracle", sh, td.Table, r.Key, n, ver.Row, v[k])
						}
					}
				}
				if len(covered) != len(nodes) {
					t.Errorf("shape %+v %s key %s: versions %+v leave a node out", sh, td.Table, r.Key, r.Versions)
				}
				if !sameJSON(r.Primary1, v[0]) || !sameJSON(r.Primary2, v[1]) {
					t.Errorf("shape %+v %s key %s: primary1/primary2 %q %q, want the first two nodes' %q %q", sh, td.Table, r.Key, r.Primary1, r.Primary2, v[0], v[1])
				}
			}
		}
		if want := []string{"app.orders", "items", "partial"}; !reflect.DeepEqual(names, want) {
			t.Errorf("shape %+v: tables %v, want %v (heartbeat out, other schemas in)", sh, names, want)
		}
		if d.DivergentRows != total || int64(len(each)) != total {
			t.Errorf("shape %+v: %d divergent rows, %d passed to EachKey, want %d", sh, d.DivergentRows, len(each), total)
		}
		// The rows the brief is about, by name.
		byKey := map[string]reports.DivergentRow{}
		for _, r := range tableOf(t, d, "items").Rows {
			byKey[r.Key] = r
		}
		for key, want := range map[string]string{
			"10":   "different east+north=v10 west=west last:west",
			"20":   "missing_on_west,north east=v20 west+north=absent last:",
			"21":   "missing_on_west east+north=v21 west=absent last:",
			"30":   "different east=v30 west=west north=north last:north",
			"40":   "different east=absent west=v40 north=north last:north",
			"5000": "missing_on_east,west east+west=absent north=north only last:",
		} {
			r := byKey[key]
			if got := r.Kind + " " + versionsOf(r) + " last:" + r.LastWriter; got != want {
				t.Errorf("shape %+v items %s: %s, want %s", sh, key, got, want)
			}
		}
	}

	t.Run("two nodes: DiffAll is Diff", func(t *testing.T) {
		two := []string{lab.Primary1, lab.Primary2}
		got, err := DiffAll(ctx, two, map[string]*pgxpool.Pool{lab.Primary1: pools["east"], lab.Primary2: pools["north"]}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := Diff(ctx, pools["east"], pools["north"], Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DiffAll %+v\nDiff    %+v", got, want)
		}
		if want.Nodes != nil || want.Tables[0].Nodes != nil || want.Tables[0].Rows[0].Versions != nil {
			t.Errorf("a two-node report grew the N-node fields: %+v", want)
		}
		if !reflect.DeepEqual(want.NotCompared, []reports.NotCompared{{Table: "nokey", Reason: "no primary key: rows cannot be matched across nodes without one"}}) {
			t.Errorf("not compared %+v, want nokey", want.NotCompared)
		}
		if td := tableOf(t, want, "app.orders"); td.MissingOnPrimary2 != 10 || td.Different != 0 {
			t.Errorf("app.orders east vs north: %+v, want 10 missing on primary2", td)
		}
	})

	t.Run("names that cannot be told apart are refused", func(t *testing.T) {
		for _, bad := range [][]string{{"east"}, {"east", "east"}, {"east", "a,b"}, {"east", "nowhere"}} {
			if _, err := DiffAll(ctx, bad, pools, Options{}); err == nil {
				t.Errorf("DiffAll(%v) took them", bad)
			}
		}
	})
}

// sameJSON says whether two JSON texts hold the same value.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
