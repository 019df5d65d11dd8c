package sqlscript

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStatements(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		sql     []string // each statement's SQL
		lines   []int    // each statement's line
		args    [][]int  // each statement's variable slots
		wrapped bool
	}{
		{"one statement, wrapped", "SELECT 1;\n", []string{"SELECT 1"}, []int{1}, [][]int{nil}, true},
		{"comments and spanning lines",
			"-- new order\nBEGIN;\nINSERT INTO t (a,\n  b) -- the pair\n VALUES (1, 2);\nCOMMIT;\n",
			[]string{"BEGIN", "INSERT INTO t (a,\n  b) \n VALUES (1, 2)", "COMMIT"}, []int{2, 3, 6}, [][]int{nil, nil, nil}, false},
		{"several on a line", "BEGIN; SELECT 1; COMMIT;", []string{"BEGIN", "SELECT 1", "COMMIT"}, []int{1, 1, 1}, [][]int{nil, nil, nil}, false},
		{"variables become parameters, one per name",
			"\\set a 1\n\\set b 2\nUPDATE t SET x = :b WHERE id = :a OR id = :b;\n",
			[]string{"UPDATE t SET x = $1 WHERE id = $2 OR id = $1"}, []int{3}, [][]int{{1, 0}}, true},
		{"casts, strings and identifiers are not variables",
			"\\set a 1\nSELECT :a::int, ':a', \":a\", $$ :a; $$, E'\\' :a', $x$ ; $x$, /* :a ; /* nested */ */ ':a''s';\n",
			[]string{`SELECT $1::int, ':a', ":a", $$ :a; $$, E'\' :a', $x$ ; $x$, /* :a ; /* nested */ */ ':a''s'`}, []int{2}, [][]int{{0}}, true},
		{"a string spans lines with a backslash line", "SELECT '\n\\set x 1\n';", []string{"SELECT '\n\\set x 1\n'"}, []int{1}, [][]int{nil}, true},
		{"rollback to savepoint is not the end",
			"BEGIN;\nSAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\nEND;\n",
			[]string{"BEGIN", "SAVEPOINT s", "ROLLBACK TO SAVEPOINT s", "END"}, []int{1, 2, 3, 4}, [][]int{nil, nil, nil, nil}, false},
		{"start transaction and rollback", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nROLLBACK;\n",
			[]string{"START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SELECT 1", "ROLLBACK"}, []int{1, 2, 3}, [][]int{nil, nil, nil}, false},
		{"empty statements and CRLF", "SELECT 1;;\r\n;SELECT 2;\r\n", []string{"SELECT 1", "SELECT 2"}, []int{1, 2}, [][]int{nil, nil}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("s.sql", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var sqls []string
			var lines []int
			var args [][]int
			for _, st := range s.Steps {
				if st.Kind == Statement {
					sqls, lines, args = append(sqls, st.SQL), append(lines, st.Line), append(args, st.Args)
				}
			}
			if !reflect.DeepEqual(sqls, tt.sql) || !reflect.DeepEqual(lines, tt.lines) || !reflect.DeepEqual(args, tt.args) {
				t.Errorf("got  %q lines %v args %v\nwant %q lines %v args %v", sqls, lines, args, tt.sql, tt.lines, tt.args)
			}
			if s.Wrapped != tt.wrapped {
				t.Errorf("wrapped %v, want %v", s.Wrapped, tt.wrapped)
			}
		})
	}
}

func TestParseNamesAStatementBySQL(t *testing.T) {
	s, err := Parse("s.sql", []byte("SELECT 1;\nSELECT 1;\nSELECT 2;\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Steps[0].Name != s.Steps[1].Name || s.Steps[0].Name == s.Steps[2].Name || !strings.HasPrefix(s.Steps[0].Name, "pgchaos_sql_") {
		t.Errorf("names %q %q %q: want equal for equal SQL, different otherwise", s.Steps[0].Name, s.Steps[1].Name, s.Steps[2].Name)
	}
}

func TestParseMetaCommands(t *testing.T) {
	s, err := Parse("s.sql", []byte("\\set id random(1, 100000) -- the key\n\\sleep 5 ms\n\\sleep :id us\n\\sleep 1\n\\set id :id + 1\nSELECT :id;\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Vars) != 1 || s.Vars[0] != "id" {
		t.Fatalf("vars %v, want [id]", s.Vars)
	}
	kinds := []Kind{}
	for _, st := range s.Steps {
		kinds = append(kinds, st.Kind)
	}
	if want := []Kind{Set, Sleep, Sleep, Sleep, Set, Statement}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	vars := []int64{7}
	for i, want := range map[int]time.Duration{1: 5 * time.Millisecond, 2: 7 * time.Microsecond, 3: time.Second} {
		if got := s.Steps[i].SleepFor(vars); got != want {
			t.Errorf("step %d sleeps %v, want %v", i, got, want)
		}
	}
	if got := s.Steps[2].SleepFor([]int64{-3}); got != 0 {
		t.Errorf("a negative sleep waits %v, want 0", got)
	}
	if got := s.Steps[2].SleepFor([]int64{5_000_000}); got != MaxSleep {
		t.Errorf("a variable sleep above the bound waits %v, want %v", got, MaxSleep)
	}
}

// TestParseErrors pins every parse-time problem to its file:line.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown meta-command", "\\set a 1\n\\setx b 2\nSELECT 1;\n", []string{
			`s.sql:2: unknown meta-command \setx: pgchaos knows \set and \sleep`}},
		{"undefined variable in a statement", "SELECT 1;\n\\set a 1\nSELECT :a,\n  :b;\n", []string{
			`s.sql:4: undefined variable :b: set it with \set b … on a line before this one`}},
		{"variable used before its set", "SELECT :a;\n\\set a 1\n", []string{
			`s.sql:1: undefined variable :a: set it with \set a … on a line before this one`}},
		{"undefined variable in an expression", "\\set a :b + 1\nSELECT 1;\n", []string{
			`s.sql:1: \set a: undefined variable :b: set it with \set b … on a line before this one`}},
		{"no semicolon at the end", "SELECT 1;\nSELECT\n  2\n", []string{
			`s.sql:2: the statement begun here does not end with ;`}},
		{"unclosed string", "SELECT 1;\nSELECT 'x;\n", []string{
			`s.sql:2: a quoted string (') is never closed in the statement begun here`}},
		{"unclosed identifier", "SELECT \"x;\n", []string{
			`s.sql:1: a quoted identifier (") is never closed in the statement begun here`}},
		{"unclosed dollar quote", "SELECT $f$ x;\n", []string{
			`s.sql:1: a dollar-quoted string ($f$) is never closed in the statement begun here`}},
		{"unclosed comment", "SELECT /* x;\n", []string{
			`s.sql:1: a /* comment is never closed in the statement begun here`}},
		{"meta-command inside a statement", "SELECT\n\\set a 1\n1;\n", []string{
			`s.sql:2: a meta-command inside the statement begun on line 1: end that statement with ; first`}},
		{"no statement", "-- nothing\n\\set a 1\n", []string{
			`s.sql:1: the script has no SQL statement: write at least one, ending with ;`}},
		{"commit without begin", "SELECT 1;\nCOMMIT;\n", []string{
			`s.sql:1: a script with transaction control must begin with BEGIN (or START TRANSACTION) as its first statement: one execution is one transaction (or leave out BEGIN and COMMIT, and pgchaos wraps the script in one)`}},
		{"begin without commit", "BEGIN;\nSELECT 1;\n", []string{
			`s.sql:2: a script that begins with BEGIN must end with COMMIT (or ROLLBACK) as its last statement`}},
		{"two transactions", "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n", []string{
			`s.sql:3: only the first statement may begin and the last end the transaction: one execution of a script is one transaction (write several scripts with weights for several transactions)`,
			`s.sql:4: only the first statement may begin and the last end the transaction: one execution of a script is one transaction (write several scripts with weights for several transactions)`}},
		{"set after commit", "BEGIN;\nSELECT 1;\nCOMMIT;\n\\sleep 1 ms\n\\set a 1\n", []string{
			`s.sql:5: \set after the transaction ends has no statement to use it: move it up or remove it`}},
		{"set without a name", "\\set 1a 2\nSELECT 1;\n", []string{
			`s.sql:1: \set needs a variable name (letters, digits, _) and an expression, e.g. \set id random(1, 100000)`}},
		{"set without an expression", "\\set a\nSELECT 1;\n", []string{
			`s.sql:1: \set a has no expression: e.g. \set a random(1, 100000)`}},
		{"bad expressions", strings.Join([]string{
			`\set a 1 +`,
			`\set a foo(1)`,
			`\set a id + 1`,
			`\set a random(1)`,
			`\set a random(9, 1)`,
			`\set a 10 / (5 - 5)`,
			`\set a 9223372036854775807 + 1`,
			`\set a 99999999999999999999`,
			`\set a 1.5`,
			`\set a (1 + 2`,
			`\set a 1 2`,
			`\set a random`,
			`\set a :`,
			"SELECT 1;",
		}, "\n"), []string{
			`s.sql:1: \set a: the expression ends where a value was expected`,
			`s.sql:2: \set a: unknown function foo (functions: abs, greatest, least, random)`,
			`s.sql:3: \set a: id is not a value: write :id for a variable`,
			`s.sql:4: \set a: random takes 2 arguments, got 1`,
			`s.sql:5: \set a: random(9, 1): the lower bound is above the upper`,
			`s.sql:6: \set a: 10 / 0: division by zero`,
			`s.sql:7: \set a: 9223372036854775807 + 1 overflows 64 bits`,
			`s.sql:8: \set a: 99999999999999999999 is not a 64-bit integer`,
			`s.sql:9: \set a: "1.5" is not a whole number: \set computes integers only`,
			`s.sql:10: \set a: a ( at column 1 is not closed`,
			`s.sql:11: \set a: unexpected "2" at column 3 of the expression`,
			`s.sql:12: \set a: random needs its arguments in parentheses, e.g. random(1, 100)`,
			`s.sql:13: \set a: a : at column 1 not followed by a variable name`,
		}},
		{"bad sleeps", "\\sleep\n\\sleep 1 h\n\\sleep x\n\\sleep 2\n\\sleep -1 ms\n\\sleep :nope\nSELECT 1;\n", []string{
			`s.sql:1: \sleep wants a number and an optional unit: \sleep 10 ms (units: us, ms, s; default s)`,
			`s.sql:2: \sleep: unknown unit "h" (units: us, ms, s)`,
			`s.sql:3: \sleep: "x" is not a whole number or a :variable`,
			`s.sql:4: \sleep 2 s: must be 0 to 1s`,
			`s.sql:5: \sleep -1 ms: must be 0 to 1s`,
			`s.sql:6: undefined variable :nope: set it with \set nope … on a line before this one`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.sql", []byte(tt.src))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %v, want Errors", err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestParseTooManyStatements(t *testing.T) {
	_, err := Parse("s.sql", []byte(strings.Repeat("SELECT 1;\n", MaxStatements+1)))
	want := "s.sql:1001: more than 1000 statements in one script: split it into several scripts (scripts: with weight:)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func TestParseCapsTheErrors(t *testing.T) {
	_, err := Parse("s.sql", []byte(strings.Repeat("\\nope\n", MaxErrors+5)+"SELECT 1;\n"))
	var es Errors
	if !errors.As(err, &es) || len(es) != MaxErrors+1 || !strings.Contains(es[MaxErrors].Msg, "and 5 more problems") {
		t.Fatalf("got %d errors (%v), want %d and a last line counting 5 more", len(es), err, MaxErrors+1)
	}
}

func TestEval(t *testing.T) {
	// Variables: a = 7, b = -3.
	slots := map[string]int{"a": 0, "b": 1}
	vars := []int64{7, -3}
	tests := []struct {
		expr string
		want int64
		err  string
	}{
		{"1 + 2 * 3", 7, ""},
		{"(1 + 2) * 3", 9, ""},
		{"10 - 4 - 3", 3, ""},
		{"17 / 5", 3, ""},
		{"17 % 5", 2, ""},
		{"-:b", 3, ""},
		{"- - 4", 4, ""},
		{":a * :b + 1", -20, ""},
		{":a / :b", -2, ""},
		{"abs(:b)", 3, ""},
		{"least(:a, :b, 0)", -3, ""},
		{"GREATEST(:a, :b, 0)", 7, ""},
		{"random(:a, :a)", 7, ""},
		{":a / (:b + 3)", 0, "7 / 0: division by zero"},
		{":a % (:b + 3)", 0, "7 % 0: division by zero"},
		{"9223372036854775807 * :a", 0, "9223372036854775807 * 7 overflows 64 bits"},
		{"(-9223372036854775807 - 1) - :a", 0, "-9223372036854775808 - 7 overflows 64 bits"},
		{"random(:a, :b)", 0, "random(7, -3): the lower bound is above the upper"},
		{"abs(:b - 9223372036854775805)", 0, "abs(-9223372036854775808) overflows 64 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := parseExpr(tt.expr, slots)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(vars, rand.New(rand.NewPCG(1, 2)))
			if tt.err != "" {
				var ee *EvalError
				if !errors.As(err, &ee) || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// TestRandomStaysInRangeAndRepeats pins random(a, b) to [a, b] and to the
// worker's seeded source: a seed repeats the sequence.
func TestRandomStaysInRangeAndRepeats(t *testing.T) {
	e, err := parseExpr("random(-2, 3)", nil)
	if err != nil {
		t.Fatal(err)
	}
	seq := func() []int64 {
		rnd := rand.New(rand.NewPCG(42, 7))
		out := make([]int64, 1000)
		for i := range out {
			out[i], _ = e.Eval(nil, rnd)
		}
		return out
	}
	a, b := seq(), seq()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different sequences")
	}
	seen := map[int64]bool{}
	for _, v := range a {
		if v < -2 || v > 3 {
			t.Fatalf("random(-2, 3) gave %d", v)
		}
		seen[v] = true
	}
	if len(seen) != 6 {
		t.Errorf("1000 draws of random(-2, 3) gave only %v", seen)
	}
	full, _ := parseExpr("random(-9223372036854775807 - 1, 9223372036854775807)", nil)
	if _, err := full.Eval(nil, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Errorf("the whole int64 range: %v", err)
	}
}
