package workload

import (
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// bareTable finds a built-in table named without a schema.
var bareTable = regexp.MustCompile(`(^|[^.\w])pgchaos_(insert|counter|bank|register|list)\b`)

// On a target the workloads' sessions keep the user's search_path, so
// every statement must name pgchaos's table qualified; in a lab the
// statements stay as they were (bare names, schema public).
func TestStatementsNameTheirTableInTheTargetSchema(t *testing.T) {
	stmts := []string{insertSQL, updateHotSQL, bankSQL, listAppendSQL, listReadSQL, registerWriteSQL, registerReadSQL}
	for _, tb := range Tables("") {
		stmts = append(stmts, tb.DDL)
	}
	for _, s := range stmts {
		if inSchema("", s) != s {
			t.Errorf("lab statement changed: %q", s)
		}
		q := inSchema("pgchaos", s)
		if bareTable.MatchString(q) {
			t.Errorf("target statement names a table bare:\n%s", q)
		}
		if !strings.Contains(q, " pgchaos.pgchaos_") {
			t.Errorf("target statement names no pgchaos table:\n%s", q)
		}
	}
	tables := Tables("pgchaos")
	if len(tables) != 5 {
		t.Fatalf("tables %d, want 5", len(tables))
	}
	for _, tb := range tables {
		if !strings.HasPrefix(tb.DDL, "CREATE TABLE IF NOT EXISTS "+tb.Name+" (") {
			t.Errorf("DDL of %s: %s", tb.Name, tb.DDL)
		}
	}
	if got := qualify("my schema", "pgchaos_bank"); got != `"my schema".pgchaos_bank` {
		t.Errorf("qualify = %s", got)
	}
}

// On a target the nodes have the user's names: the first by name seeds.
func TestSeedOrderIsPrimary1InALabAndTheFirstNameOnATarget(t *testing.T) {
	for _, tc := range []struct {
		nodes []string
		first string
		rest  string
	}{
		{[]string{"primary2", "primary1", "primary3"}, "primary1", "primary2,primary3"},
		{[]string{"west", "east"}, "east", "west"},
	} {
		m := map[string]*pgx.Conn{}
		for _, n := range tc.nodes {
			m[n] = nil
		}
		first, rest := seedOrder(m)
		if first != tc.first || strings.Join(rest, ",") != tc.rest {
			t.Errorf("%v: %s, %v", tc.nodes, first, rest)
		}
	}
}

func TestTutorialIsRefusedOnATarget(t *testing.T) {
	if _, err := New(Spec{Name: "t", Kind: KindTutorial, Schema: "pgchaos"}); err == nil || !strings.Contains(err.Error(), "test_table") {
		t.Fatalf("err = %v", err)
	}
}
