package diverge

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgchaos/pgchaos/reports"
)

func rowsOf(keyHash ...any) []leafRow {
	var out []leafRow
	for i := 0; i < len(keyHash); i += 2 {
		k := keyHash[i].(string)
		out = append(out, leafRow{key: k, hash: int64(keyHash[i+1].(int)), cols: bound{k}})
	}
	return out
}

func TestMergeNamesEachDivergentRowOnceInKeyOrder(t *testing.T) {
	tests := []struct {
		name string
		a, b []leafRow
		want []string // kind:key
	}{
		{"identical", rowsOf("1", 10, "2", 20), rowsOf("1", 10, "2", 20), nil},
		{"both empty", nil, nil, nil},
		{"all missing on primary2", rowsOf("1", 10, "2", 20), nil,
			[]string{"missing_on_primary2:1", "missing_on_primary2:2"}},
		{"all missing on primary1", nil, rowsOf("1", 10),
			[]string{"missing_on_primary1:1"}},
		{"one different", rowsOf("1", 10, "2", 20, "3", 30), rowsOf("1", 10, "2", 21, "3", 30),
			[]string{"different:2"}},
		{"interleaved gaps on both sides",
			rowsOf("1", 1, "3", 3, "4", 4, "6", 6),
			rowsOf("2", 2, "3", 3, "5", 5, "6", 7, "7", 7),
			[]string{"missing_on_primary2:1", "missing_on_primary1:2", "missing_on_primary2:4",
				"missing_on_primary1:5", "different:6", "missing_on_primary1:7"}},
		{"order disagrees (cannot happen in one collation) still matches by key",
			rowsOf("a", 1, "b", 2), rowsOf("b", 2, "a", 9),
			[]string{"different:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range merge(tt.a, tt.b) {
				got = append(got, f.kind+":"+f.key)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("merge = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMergeAgreesWithMatchingByMaps checks the in-step merge, with its
// look-ahead window, against matching every key through maps, on random
// ranges: rows missing on either side in runs shorter and longer than the
// window, changed rows, and orders the two sides disagree on.
func TestMergeAgreesWithMatchingByMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 6))
	for n := range 3000 {
		var a, b []leafRow
		for k := range rng.IntN(300) {
			key := fmt.Sprintf("k%05d", k)
			run := rng.IntN(4) // long runs missing on one side now and then
			switch p := rng.IntN(100); {
			case p < 3+run*5:
				a = append(a, leafRow{key: key, hash: 1})
			case p < 6+run*10:
				b = append(b, leafRow{key: key, hash: 1})
			case p < 10+run*10:
				a = append(a, leafRow{key: key, hash: 1})
				b = append(b, leafRow{key: key, hash: 2})
			default:
				a = append(a, leafRow{key: key, hash: 1})
				b = append(b, leafRow{key: key, hash: 1})
			}
		}
		confused := n%5 == 4
		if confused && len(b) > 1 {
			i, j := rng.IntN(len(b)), rng.IntN(len(b))
			b[i], b[j] = b[j], b[i]
		}
		fs := merge(a, b)
		got, want := names(fs), names(mergeByMap(a, b))
		slices.Sort(got)
		slices.Sort(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d (confused order %v):\n a %v\n b %v\nmerge     %v\nby maps   %v", n, confused, a, b, names(fs), want)
		}
		if !confused && !inOrder(fs) {
			t.Fatalf("case %d: findings out of key order: %v", n, names(fs))
		}
	}
	// A run longer than the window on each side, then rows in step again.
	var a, b []leafRow
	for k := range 3 * mergeWindow {
		key := fmt.Sprintf("k%03d", k)
		switch {
		case k < mergeWindow+1:
			a = append(a, leafRow{key: key})
		case k < 2*mergeWindow+2:
			b = append(b, leafRow{key: key})
		default:
			a = append(a, leafRow{key: key})
			b = append(b, leafRow{key: key})
		}
	}
	got, want := names(merge(a, b)), names(mergeByMap(a, b))
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) || len(got) != 2*mergeWindow+2 {
		t.Errorf("runs past the window: merge %v, by maps %v", got, want)
	}
}

// inOrder says whether each node's findings follow its key order (the keys
// here sort as text): those it holds (missing on the other, or different),
// and those it lacks.
func inOrder(fs []finding) bool {
	var held, lacked []string
	for _, f := range fs {
		if f.kind == reports.MissingOnPrimary1 {
			lacked = append(lacked, f.key)
		} else {
			held = append(held, f.key)
		}
	}
	return slices.IsSorted(held) && slices.IsSorted(lacked)
}

func names(fs []finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.kind+":"+f.key)
	}
	return out
}

func TestLastWriterFollowsLaterCommitAndItsOrigin(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Millisecond)
	local, remote := int64(0), int64(1)
	tests := []struct {
		name string
		ts1  *time.Time
		o1   *int64
		ts2  *time.Time
		o2   *int64
		want string
	}{
		{"primary2 wrote locally, later", &t0, &local, &t1, &local, "primary2"},
		{"primary1 wrote locally, later", &t1, &local, &t0, &remote, "primary1"},
		// Values swapped after a partition: the later version sits on
		// primary1 but was applied from primary2.
		{"later version on primary1 came from primary2", &t1, &remote, &t0, &remote, "primary2"},
		{"later version on primary2 came from primary1", &t0, &remote, &t1, &remote, "primary1"},
		{"equal times", &t0, &local, &t0, &remote, ""},
		{"unknown time on primary1", nil, nil, &t1, &local, ""},
		{"unknown time on primary2", &t1, &local, nil, nil, ""},
		{"unknown origin of the later", &t1, nil, &t0, &local, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastWriter(tt.ts1, tt.o1, tt.ts2, tt.o2, "primary1", "primary2"); got != tt.want {
				t.Errorf("lastWriter = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitCoversTheRangeWithAdjacentParts(t *testing.T) {
	tests := []struct {
		name string
		r    keyRange
		cuts []bound
		want []keyRange
	}{
		{"unbounded, two cuts", keyRange{}, []bound{{"10"}, {"20"}},
			[]keyRange{{nil, bound{"10"}}, {bound{"10"}, bound{"20"}}, {bound{"20"}, nil}}},
		{"bounded, one cut", keyRange{bound{"5"}, bound{"30"}}, []bound{{"10"}},
			[]keyRange{{bound{"5"}, bound{"10"}}, {bound{"10"}, bound{"30"}}}},
		{"no cuts", keyRange{bound{"5"}, nil}, nil, []keyRange{{bound{"5"}, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := split(tt.r, tt.cuts); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("split = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSQLUsesRowComparisonWithTypedTextParameters(t *testing.T) {
	single := table{name: "t1", cols: []string{"id"}, types: []string{"bigint"}}
	comp := table{name: "Odd Name", cols: []string{"a", "b c"}, types: []string{"integer", "text"}}
	tests := []struct {
		name     string
		sql      string
		args     []any
		contains []string
		wantArgs []any
	}{
		{"unbounded hash in one part", sqlOf(single.hashSQL(keyRange{}, nil)), nil,
			[]string{`SELECT 0 AS i, count(*) AS n, sum(hashtextextended(_pgchaos_r::text, 0))::text AS h FROM "public"."t1" AS _pgchaos_r WHERE TRUE GROUP BY 1`}, nil},
		{"single-column range cut by width_bucket", sqlOf(single.hashSQL(keyRange{bound{"5"}, bound{"9"}}, []bound{{"6"}, {"8"}})),
			argsOf(single.hashSQL(keyRange{bound{"5"}, bound{"9"}}, []bound{{"6"}, {"8"}})),
			[]string{`_pgchaos_r."id" >= $1::bigint AND _pgchaos_r."id" < $2::bigint`, `width_bucket(_pgchaos_r."id", $3::text[]::bigint[]) AS i`, "GROUP BY 1"},
			[]any{"5", "9", []string{"6", "8"}}},
		{"composite range cut by row comparisons", sqlOf(comp.hashSQL(keyRange{hi: bound{"9", "z"}}, []bound{{"1", "x"}})),
			argsOf(comp.hashSQL(keyRange{hi: bound{"9", "z"}}, []bound{{"1", "x"}})),
			[]string{`WHERE ROW(_pgchaos_r."a", _pgchaos_r."b c") < ROW($1::integer, $2::text)`,
				`CASE WHEN ROW(_pgchaos_r."a", _pgchaos_r."b c") < ROW($3::integer, $4::text) THEN 0 ELSE 1 END AS i`},
			[]any{"9", "z", "1", "x"}},
		{"sample cuts", sqlOf(comp.sampleCutsSQL(1.5, 100)), argsOf(comp.sampleCutsSQL(1.5, 100)),
			[]string{`TABLESAMPLE BERNOULLI ($1::float4)`, `row_number() OVER (ORDER BY _pgchaos_r."a", _pgchaos_r."b c")`,
				`(s.rn - 1) * $2::int8 / s.cnt > (s.rn - 2) * $2::int8 / s.cnt`, `SELECT s.k0::text, s.k1::text`},
			[]any{1.5, int64(100)}},
		{"size of the table and its partitions", sqlOf(comp.sizeSQL()), argsOf(comp.sizeSQL()),
			[]string{`pg_partition_tree($1::text::regclass)`, `c.relkind = 'r'`}, []any{`"public"."Odd Name"`}},
		{"composite lower bound", sqlOf(comp.leafSQL(keyRange{lo: bound{"1", "x"}})), argsOf(comp.leafSQL(keyRange{lo: bound{"1", "x"}})),
			[]string{`ROW(_pgchaos_r."a", _pgchaos_r."b c") >= ROW($1::integer, $2::text)`, `FROM "public"."Odd Name"`,
				`ORDER BY _pgchaos_r."a", _pgchaos_r."b c"`, `ROW(_pgchaos_r."a", _pgchaos_r."b c")::text`}, []any{"1", "x"}},
		{"split step is the last parameter", sqlOf(single.splitSQL(keyRange{hi: bound{"7"}}, 16)), argsOf(single.splitSQL(keyRange{hi: bound{"7"}}, 16)),
			[]string{`< $1::bigint`, `(s.rn - 1) % $2::int8 = 0`, `row_number() OVER (ORDER BY _pgchaos_r."id")`}, []any{"7", int64(16)}},
		{"composite detail IN list", sqlOf(comp.detailSQL([]bound{{"1", "x"}, {"2", "y"}}, true)), argsOf(comp.detailSQL([]bound{{"1", "x"}, {"2", "y"}}, true)),
			[]string{`WHERE (_pgchaos_r."a", _pgchaos_r."b c") IN (($1::integer, $2::text), ($3::integer, $4::text))`, "pg_xact_commit_timestamp_origin(_pgchaos_r.xmin)"},
			[]any{"1", "x", "2", "y"}},
		{"detail without commit timestamps", sqlOf(single.detailSQL([]bound{{"3"}}, false)), argsOf(single.detailSQL([]bound{{"3"}}, false)),
			[]string{`NULL::timestamptz, NULL::int8`, `WHERE _pgchaos_r."id" IN ($1::bigint)`}, []any{"3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.contains {
				if !strings.Contains(tt.sql, c) {
					t.Errorf("SQL lacks %q:\n%s", c, tt.sql)
				}
			}
			if !reflect.DeepEqual(tt.args, tt.wantArgs) {
				t.Errorf("args = %#v, want %#v", tt.args, tt.wantArgs)
			}
		})
	}
	// An array-typed key cannot use width_bucket (it would read the array
	// of bounds element-wise): it gets the comparison tree.
	arr := table{name: "t", cols: []string{"k"}, types: []string{"integer[]"}}
	if q, _ := arr.hashSQL(keyRange{}, []bound{{"{1}"}}); !strings.Contains(q, "CASE WHEN") || strings.Contains(q, "width_bucket") {
		t.Errorf("array key hash SQL: %s", q)
	}
	// A one-column key's text is its value: leaves select it once.
	if q, _ := single.leafSQL(keyRange{}); !strings.HasPrefix(q, `SELECT _pgchaos_r."id"::text, hashtextextended(_pgchaos_r::text, 0) FROM`) {
		t.Errorf("single-column leaf SQL selects more than key text and hash: %s", q)
	}
	if strings.Contains(sqlOf(single.detailSQL([]bound{{"3"}}, false)), "pg_xact_commit_timestamp") {
		t.Error("detail SQL asks for commit timestamps although track_commit_timestamp is off")
	}
}

func sqlOf(s string, _ []any) string { return s }
func argsOf(_ string, a []any) []any { return a }

func TestChooseTables(t *testing.T) {
	pk := func(name string) table {
		return table{name: name, cols: []string{"id"}, types: []string{"integer"}}
	}
	nodes := []string{"primary1", "primary2"}
	cat1 := map[string]table{"b": pk("b"), "a": pk("a"), "nopk": {name: "nopk"}, "pgchaos_heartbeat": pk("pgchaos_heartbeat"), "pgchaos.pgchaos_heartbeat": pk("pgchaos.pgchaos_heartbeat"), "pgchaos.pgchaos_counter": pk("pgchaos.pgchaos_counter"),
		"pgchaos_insert": pk("pgchaos_insert"), "only1": pk("only1"), "app.orders": pk("app.orders"), "halfkey": pk("halfkey"),
		"bigkey": {name: "bigkey", cols: []string{"id"}, types: []string{"bigint"}}, "nopk1": {name: "nopk1"}}
	cat2 := map[string]table{"a": pk("a"), "b": pk("b"), "nopk": {name: "nopk"}, "pgchaos_heartbeat": pk("pgchaos_heartbeat"), "pgchaos.pgchaos_heartbeat": pk("pgchaos.pgchaos_heartbeat"), "pgchaos.pgchaos_counter": pk("pgchaos.pgchaos_counter"),
		"only2": pk("only2"), "app.orders": pk("app.orders"), "halfkey": {name: "halfkey"}, "bigkey": pk("bigkey")}
	tests := []struct {
		name    string
		named   []string
		want    []string
		skipped []string // table: reason fragment
		wantErr string
	}{
		{"default: every keyed table on any node and schema, sorted, workload tables in (a lab's and a target's), heartbeats out, the rest listed with why", nil,
			[]string{"a", "app.orders", "b", "only1", "only2", "pgchaos.pgchaos_counter", "pgchaos_insert"},
			[]string{"bigkey: the primary keys differ: primary1 (id bigint) vs primary2 (id integer)",
				"halfkey: no primary key on primary2, one on the others (id integer)",
				"nopk: no primary key: rows cannot",
				"nopk1: no primary key (on primary1; absent on primary2)"}, ""},
		{"named, sorted and deduplicated", []string{"b", "a", "b", "app.orders"}, []string{"a", "app.orders", "b"}, nil, ""},
		{"named pgchaos table is allowed", []string{"pgchaos_heartbeat"}, []string{"pgchaos_heartbeat"}, nil, ""},
		{"named table on no node", []string{"zz"}, nil, nil, `"zz": on no node (primary1, primary2)`},
		{"named table without a key", []string{"nopk"}, nil, nil, `"nopk": no primary key`},
		{"named table whose keys differ", []string{"bigkey"}, nil, nil, "the primary keys differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped, err := chooseTables(tt.named, nodes, []map[string]table{cat1, cat2})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tables = %v, want %v", got, tt.want)
			}
			if len(skipped) != len(tt.skipped) {
				t.Fatalf("not compared = %v, want %d: %v", skipped, len(tt.skipped), tt.skipped)
			}
			for i, nc := range skipped {
				if got := nc.Table + ": " + nc.Reason; !strings.HasPrefix(got, tt.skipped[i]) {
					t.Errorf("not compared[%d] = %q, want it to start %q", i, got, tt.skipped[i])
				}
			}
		})
	}
}

func TestChooseTablesOverThreeNodesNamesTheNodesConcerned(t *testing.T) {
	pk := table{name: "t", cols: []string{"id"}, types: []string{"integer"}}
	nodes := []string{"east", "west", "north"}
	_, skipped, err := chooseTables(nil, nodes, []map[string]table{
		{"t": pk, "k": {name: "k"}}, {"t": pk, "k": pk}, {"k": {name: "k"}, "u": pk}})
	if err != nil {
		t.Fatal(err)
	}
	want := []reports.NotCompared{{Table: "k", Reason: "no primary key on east, north, one on the others (id integer): the schemas diverged, align them before comparing rows"}}
	if !reflect.DeepEqual(skipped, want) {
		t.Errorf("not compared = %+v, want %+v", skipped, want)
	}
}

func TestDisplayNameKeepsPublicTablesBare(t *testing.T) {
	for _, tt := range []struct{ schema, rel, want string }{
		{"public", "test_table", "test_table"},
		{"app", "orders", "app.orders"},
		{"Mixed Case", "t", "Mixed Case.t"},
	} {
		if got := displayName(tt.schema, tt.rel); got != tt.want {
			t.Errorf("displayName(%q, %q) = %q, want %q", tt.schema, tt.rel, got, tt.want)
		}
	}
	if got, want := (table{name: "app.orders", schema: "app", rel: "orders"}).ident(), `"app"."orders"`; got != want {
		t.Errorf("ident = %s, want %s", got, want)
	}
	if got, want := (table{name: "t"}).ident(), `"public"."t"`; got != want {
		t.Errorf("ident = %s, want %s", got, want)
	}
}

// evalBucket evaluates a comparison tree built by bucketTree for a
// single integer key (space-separated tokens: CASE WHEN key < $n::integer[]
// THEN x ELSE y END) against the bound values in args.
func evalBucket(t *testing.T, toks []string, key int, args []any) (int, []string) {
	t.Helper()
	if toks[0] != "CASE" {
		n, err := strconv.Atoi(toks[0])
		if err != nil {
			t.Fatalf("unexpected token %q", toks[0])
		}
		return n, toks[1:]
	}
	if toks[1] != "WHEN" || toks[3] != "<" || toks[5] != "THEN" {
		t.Fatalf("unexpected CASE shape: %v", toks[:6])
	}
	p, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(toks[4], "$"), "::integer[]"))
	if err != nil {
		t.Fatalf("parameter %q: %v", toks[4], err)
	}
	cut, err := strconv.Atoi(args[p-1].(bound)[0])
	if err != nil {
		t.Fatal(err)
	}
	then, rest := evalBucket(t, toks[6:], key, args)
	if rest[0] != "ELSE" {
		t.Fatalf("want ELSE, got %v", rest)
	}
	els, rest := evalBucket(t, rest[1:], key, args)
	if rest[0] != "END" {
		t.Fatalf("want END, got %v", rest)
	}
	if key < cut {
		return then, rest[1:]
	}
	return els, rest[1:]
}

func TestBucketTreePutsEachKeyInThePartOfItsRange(t *testing.T) {
	tbl := table{name: "t", cols: []string{"k"}, types: []string{"integer[]"}}
	for n := 0; n <= 33; n++ {
		var cuts []bound
		for i := range n {
			cuts = append(cuts, bound{strconv.Itoa(10 * (i + 1))}) // 10, 20, …
		}
		var args []any
		expr := tbl.bucketExpr(cuts, &args)
		for i := range args {
			args[i] = bound{args[i].(string)}
		}
		if len(args) != n {
			t.Fatalf("%d cuts bound %d parameters, want each once", n, len(args))
		}
		// Depth: at most ceil(log2(n+1)) comparisons a row.
		depth := 0
		for 1<<depth < n+1 {
			depth++
		}
		if got := strings.Count(expr, "CASE"); got != n {
			t.Errorf("%d cuts: %d comparisons in the tree, want %d", n, got, n)
		}
		nest, deepest := 0, 0
		for _, tok := range strings.Fields(expr) {
			switch tok {
			case "CASE":
				nest++
				deepest = max(deepest, nest)
			case "END":
				nest--
			}
		}
		if deepest > depth {
			t.Errorf("%d cuts: %d comparisons deep, want at most %d", n, deepest, depth)
		}
		for key := -5; key <= 10*n+15; key++ {
			want := 0 // the number of cuts at or below the key
			for _, c := range cuts {
				if c, _ := strconv.Atoi(c[0]); key >= c {
					want++
				}
			}
			got, rest := evalBucket(t, strings.Fields(strings.ReplaceAll(expr, `_pgchaos_r."k"`, "key")), key, args)
			if len(rest) != 0 {
				t.Fatalf("%d cuts: trailing tokens %v", n, rest)
			}
			if got != want {
				t.Errorf("%d cuts: key %d in part %d, want %d", n, key, got, want)
			}
		}
	}
}

func TestTopPartsAndRowEstimate(t *testing.T) {
	parts := []struct {
		name    string
		est     float64
		leaf    int64
		keyCols int
		want    int64
	}{
		{"empty", 0, 2048, 1, 1},
		{"smaller than a leaf", 1000, 2048, 1, 1},
		{"just over a leaf: parts of topPartRows", 2049, 2048, 1, 8},
		{"a million rows: parts of topPartRows", 1_000_000, 2048, 1, 3906},
		{"small leaves: parts of half a leaf", 1000, 100, 1, 20},
		{"a billion rows: capped", 1e9, 2048, 1, topMaxParts},
		{"wide composite key: capped by parameters", 1e9, 2048, 16, topMaxParams / 16},
		{"tiny leaves in tests", 1000, 1, 2, 2000},
	}
	for _, tt := range parts {
		t.Run(tt.name, func(t *testing.T) {
			if got := topParts(tt.est, tt.leaf, tt.keyCols); got != tt.want {
				t.Errorf("topParts(%v, %d, %d) = %d, want %d", tt.est, tt.leaf, tt.keyCols, got, tt.want)
			}
		})
	}
	est := []struct {
		name       string
		tuples     float64
		pages, now int64
		want       float64
	}{
		{"stats current", 1000, 10, 10, 1000},
		{"grew since the last analyze", 1000, 10, 30, 3000},
		{"never analyzed (reltuples -1)", -1, 0, 7, 7 * guessPageRows},
		{"analyzed while empty, rows since", 0, 0, 5, 5 * guessPageRows},
		{"no storage", 1000, 10, 0, 0},
	}
	for _, tt := range est {
		t.Run(tt.name, func(t *testing.T) {
			if got := estimateRows(tt.tuples, tt.pages, tt.now); got != tt.want {
				t.Errorf("estimateRows(%v, %d, %d) = %v, want %v", tt.tuples, tt.pages, tt.now, got, tt.want)
			}
		})
	}
}

func TestSplitStep(t *testing.T) {
	tests := []struct {
		name  string
		n     int64
		shape treeShape
		want  int64
	}{
		{"just over a leaf: three parts", 2049, treeShape{fanout: 64, leaf: 2048}, 683},
		{"ten leaves: parts of half a leaf", 20480, treeShape{fanout: 64, leaf: 2048}, 1024},
		{"huge range: capped at the fan-out", 10_000_000, treeShape{fanout: 64, leaf: 2048}, 156250},
		{"one-row leaves, fan-out 2: halves", 5, treeShape{fanout: 2, leaf: 1}, 3},
		{"one-row leaves, fan-out 4", 2, treeShape{fanout: 4, leaf: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitStep(tt.n, tt.shape)
			if got != tt.want {
				t.Errorf("splitStep(%d, %+v) = %d, want %d", tt.n, tt.shape, got, tt.want)
			}
			// The walk needs at least one split point (a step below the
			// range's rows) and at most fanout parts.
			if got < 1 || got >= tt.n || (tt.n+got-1)/got > tt.shape.fanout {
				t.Errorf("splitStep(%d, %+v) = %d: not 2..fanout parts", tt.n, tt.shape, got)
			}
		})
	}
}

func TestStreamRowDecodesTheWireOrDeclines(t *testing.T) {
	fd := func(oid uint32, format int16) pgconn.FieldDescription {
		return pgconn.FieldDescription{DataTypeOID: oid, Format: format}
	}
	good := []pgconn.FieldDescription{fd(pgtype.Int4OID, 1), fd(pgtype.TextOID, 0), fd(pgtype.Int8OID, 1)}
	vals := [][]byte{{0, 0, 1, 2}, []byte("42"), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}}
	lr, p, ok := streamRow(good, vals)
	if !ok || p != 258 || lr.key != "42" || lr.hash != -2 || lr.cols != nil {
		t.Errorf("streamRow = %+v, %d, %v; want key 42, hash -2, part 258", lr, p, ok)
	}
	declined := map[string]struct {
		fds  []pgconn.FieldDescription
		vals [][]byte
	}{
		"part in text format": {[]pgconn.FieldDescription{fd(pgtype.Int4OID, 0), good[1], good[2]}, vals},
		"hash not int8":       {[]pgconn.FieldDescription{good[0], good[1], fd(pgtype.NumericOID, 1)}, vals},
		"key not text":        {[]pgconn.FieldDescription{good[0], fd(pgtype.Int8OID, 1), good[2]}, vals},
		"null key":            {good, [][]byte{vals[0], nil, vals[2]}},
		"short hash":          {good, [][]byte{vals[0], vals[1], {1, 2}}},
		"composite key cols":  {append(slices.Clone(good), good[1]), append(slices.Clone(vals), []byte("x"))},
	}
	for name, tt := range declined {
		if _, _, ok := streamRow(tt.fds, tt.vals); ok {
			t.Errorf("%s: decoded, want declined (scan reads it)", name)
		}
	}
}
