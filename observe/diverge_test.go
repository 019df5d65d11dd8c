package observe

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func divRows(keyHash ...any) []divLeafRow {
	var out []divLeafRow
	for i := 0; i < len(keyHash); i += 2 {
		k := keyHash[i].(string)
		out = append(out, divLeafRow{key: k, hash: int64(keyHash[i+1].(int)), cols: divBound{k}})
	}
	return out
}

func TestDivMergeNamesEachDivergentRowOnceInKeyOrder(t *testing.T) {
	tests := []struct {
		name string
		a, b []divLeafRow
		want []string // kind:key
	}{
		{"identical", divRows("1", 10, "2", 20), divRows("1", 10, "2", 20), nil},
		{"both empty", nil, nil, nil},
		{"all missing on primary2", divRows("1", 10, "2", 20), nil,
			[]string{"missing_on_primary2:1", "missing_on_primary2:2"}},
		{"all missing on primary1", nil, divRows("1", 10),
			[]string{"missing_on_primary1:1"}},
		{"one different", divRows("1", 10, "2", 20, "3", 30), divRows("1", 10, "2", 21, "3", 30),
			[]string{"different:2"}},
		{"interleaved gaps on both sides",
			divRows("1", 1, "3", 3, "4", 4, "6", 6),
			divRows("2", 2, "3", 3, "5", 5, "6", 7, "7", 7),
			[]string{"missing_on_primary2:1", "missing_on_primary1:2", "missing_on_primary2:4",
				"missing_on_primary1:5", "different:6", "missing_on_primary1:7"}},
		{"order disagrees (cannot happen in one collation) still matches by key",
			divRows("a", 1, "b", 2), divRows("b", 2, "a", 9),
			[]string{"different:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range divMerge(tt.a, tt.b) {
				got = append(got, f.kind+":"+f.key)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("divMerge = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDivLastWriterFollowsLaterCommitAndItsOrigin(t *testing.T) {
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
			if got := divLastWriter(tt.ts1, tt.o1, tt.ts2, tt.o2); got != tt.want {
				t.Errorf("divLastWriter = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDivSplitCoversTheRangeWithAdjacentParts(t *testing.T) {
	tests := []struct {
		name string
		r    divRange
		cuts []divBound
		want []divRange
	}{
		{"unbounded, two cuts", divRange{}, []divBound{{"10"}, {"20"}},
			[]divRange{{nil, divBound{"10"}}, {divBound{"10"}, divBound{"20"}}, {divBound{"20"}, nil}}},
		{"bounded, one cut", divRange{divBound{"5"}, divBound{"30"}}, []divBound{{"10"}},
			[]divRange{{divBound{"5"}, divBound{"10"}}, {divBound{"10"}, divBound{"30"}}}},
		{"no cuts", divRange{divBound{"5"}, nil}, nil, []divRange{{divBound{"5"}, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := divSplit(tt.r, tt.cuts); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("divSplit = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDivSQLUsesRowComparisonWithTypedTextParameters(t *testing.T) {
	single := divTable{name: "t1", cols: []string{"id"}, types: []string{"bigint"}}
	comp := divTable{name: "Odd Name", cols: []string{"a", "b c"}, types: []string{"integer", "text"}}
	tests := []struct {
		name     string
		sql      string
		args     []any
		contains []string
		wantArgs []any
	}{
		{"unbounded hash", divFirst(single.divHashSQL([]divRange{{}})), nil,
			[]string{`FROM "public"."t1" AS _pgchaos_r WHERE TRUE`, "hashtextextended(_pgchaos_r::text, 0)"}, nil},
		{"single-column range", divFirst(single.divHashSQL([]divRange{{divBound{"5"}, divBound{"9"}}})), divSecond(single.divHashSQL([]divRange{{divBound{"5"}, divBound{"9"}}})),
			[]string{`_pgchaos_r."id" >= $1::bigint AND _pgchaos_r."id" < $2::bigint`}, []any{"5", "9"}},
		{"composite lower bound", divFirst(comp.divLeafSQL(divRange{lo: divBound{"1", "x"}})), divSecond(comp.divLeafSQL(divRange{lo: divBound{"1", "x"}})),
			[]string{`ROW(_pgchaos_r."a", _pgchaos_r."b c") >= ROW($1::integer, $2::text)`, `FROM "public"."Odd Name"`,
				`ORDER BY _pgchaos_r."a", _pgchaos_r."b c"`, `ROW(_pgchaos_r."a", _pgchaos_r."b c")::text`}, []any{"1", "x"}},
		{"split step is the last parameter", divFirst(single.divSplitSQL(divRange{hi: divBound{"7"}}, 16)), divSecond(single.divSplitSQL(divRange{hi: divBound{"7"}}, 16)),
			[]string{`< $1::bigint`, `(s.rn - 1) % $2::int8 = 0`, `row_number() OVER (ORDER BY _pgchaos_r."id")`}, []any{"7", int64(16)}},
		{"composite detail IN list", divFirst(comp.divDetailSQL([]divBound{{"1", "x"}, {"2", "y"}}, true)), divSecond(comp.divDetailSQL([]divBound{{"1", "x"}, {"2", "y"}}, true)),
			[]string{`WHERE (_pgchaos_r."a", _pgchaos_r."b c") IN (($1::integer, $2::text), ($3::integer, $4::text))`, "pg_xact_commit_timestamp_origin(_pgchaos_r.xmin)"},
			[]any{"1", "x", "2", "y"}},
		{"detail without commit timestamps", divFirst(single.divDetailSQL([]divBound{{"3"}}, false)), divSecond(single.divDetailSQL([]divBound{{"3"}}, false)),
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
	// Several ranges: one branch each, in order, parameters numbered on.
	q, args := single.divHashSQL([]divRange{{nil, divBound{"5"}}, {divBound{"5"}, nil}})
	if strings.Count(q, "UNION ALL") != 1 || !strings.Contains(q, "SELECT 1 AS i") || !strings.Contains(q, ">= $2::bigint") || len(args) != 2 {
		t.Errorf("two-range hash SQL wrong: %s %v", q, args)
	}
	if strings.Contains(divFirst(single.divDetailSQL([]divBound{{"3"}}, false)), "pg_xact_commit_timestamp") {
		t.Error("detail SQL asks for commit timestamps although track_commit_timestamp is off")
	}
}

func divFirst(s string, _ []any) string { return s }
func divSecond(_ string, a []any) []any { return a }

func TestDivChooseTables(t *testing.T) {
	pk := func(name string) divTable {
		return divTable{name: name, cols: []string{"id"}, types: []string{"integer"}}
	}
	cat1 := map[string]divTable{"b": pk("b"), "a": pk("a"), "nopk": {name: "nopk"}, "pgchaos_heartbeat": pk("pgchaos_heartbeat"), "pgchaos_insert": pk("pgchaos_insert"), "only1": pk("only1")}
	cat2 := map[string]divTable{"a": pk("a"), "b": pk("b"), "nopk": {name: "nopk"}, "pgchaos_heartbeat": pk("pgchaos_heartbeat"), "only2": pk("only2")}
	tests := []struct {
		name    string
		named   []string
		want    []string
		wantErr string
	}{
		{"default: every keyed table on either node, sorted, workload tables in, heartbeat out", nil, []string{"a", "b", "only1", "only2", "pgchaos_insert"}, ""},
		{"named, sorted and deduplicated", []string{"b", "a", "b"}, []string{"a", "b"}, ""},
		{"named pgchaos table is allowed", []string{"pgchaos_heartbeat"}, []string{"pgchaos_heartbeat"}, ""},
		{"named table on neither node", []string{"zz"}, nil, `"zz" is on neither`},
		{"named table without a key", []string{"nopk"}, nil, "no primary key on primary1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := divChooseTables(tt.named, cat1, cat2)
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
		})
	}
}
