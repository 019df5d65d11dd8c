package scenario

import (
	"testing"
	"time"
)

// TestParseReadsSQLFaults pins what the SQL fault kinds read: the node,
// lock-rows' table and mode (row by default), and no heal step for the
// instant kinds.
func TestParseReadsSQLFaults(t *testing.T) {
	src := "duration: 1m\nworkloads: [{kind: update-hot}]\nfaults:\n" +
		"  - {kind: disable-subscription, node: primary1, at: 5s, for: 10s}\n" +
		"  - {kind: kill-walsender, node: primary2, at: 20s}\n" +
		"  - {kind: kill-apply-worker, node: primary1, at: 21s}\n" +
		"  - {kind: kill-sessions, node: primary2, at: 22s}\n" +
		"  - {kind: lock-rows, node: primary1, table: pgchaos_counter, at: 30s, for: 5s}\n" +
		"  - {kind: lock-rows, node: primary1, table: test_table, mode: table, at: 31s, for: 5s}\n"
	s, err := Parse("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{
		{Kind: FaultDisableSubscription, Node: Primary1, At: 5 * time.Second, For: 10 * time.Second},
		{Kind: FaultKillWalsender, Node: Primary2, At: 20 * time.Second},
		{Kind: FaultKillApplyWorker, Node: Primary1, At: 21 * time.Second},
		{Kind: FaultKillSessions, Node: Primary2, At: 22 * time.Second},
		{Kind: FaultLockRows, Node: Primary1, Table: "pgchaos_counter", Mode: LockRow, At: 30 * time.Second, For: 5 * time.Second},
		{Kind: FaultLockRows, Node: Primary1, Table: "test_table", Mode: LockTable, At: 31 * time.Second, For: 5 * time.Second},
	}
	if len(s.Faults) != len(want) {
		t.Fatalf("%d faults, want %d", len(s.Faults), len(want))
	}
	for i, w := range want {
		g := s.Faults[i]
		g.Pos = Pos{}
		if g.Kind != w.Kind || g.Node != w.Node || g.Table != w.Table || g.Mode != w.Mode || g.At != w.At || g.For != w.For {
			t.Errorf("faults[%d] = %+v, want %+v", i, g, w)
		}
	}
	heals := map[int]bool{}
	for _, st := range s.Timeline() {
		if st.Heal {
			heals[st.Index] = true
		}
	}
	for i, f := range s.Faults {
		if heals[i] == f.Instant() {
			t.Errorf("faults[%d] (%s): heal step %v, instant %v: an instant fault has no heal step, any other has one", i, f.Kind, heals[i], f.Instant())
		}
	}
	if got := s.Faults[4].String(); got != "lock-rows row-lock pgchaos_counter on primary1" {
		t.Errorf("String() = %q", got)
	}
}

// TestParseRefusesBadSQLFaults pins the messages of SQL faults that are
// wrong: for: on an instant kind, a missing or unknown table or mode, a
// node that is not a primary, and two disable-subscription on one
// subscription at once (two lock-rows may overlap).
func TestParseRefusesBadSQLFaults(t *testing.T) {
	const head = "duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"for on a kill", head + "  - {kind: kill-walsender, node: primary1, at: 5s, for: 3s}\n",
			[]string{`f.yaml:4:52: faults[0] (kind: kill-walsender): a kill-walsender is instant (the server starts a new process by itself, and pgchaos measures how long that takes), so for does not apply: remove it`}},
		{"for on kill-sessions", head + "  - {kind: kill-sessions, node: primary1, at: 5s, for: 3s}\n",
			[]string{`f.yaml:4:51: faults[0] (kind: kill-sessions): a kill-sessions is instant (the workloads open new sessions by themselves), so for does not apply: remove it`}},
		{"haproxy is no subscriber", head + "  - {kind: disable-subscription, node: haproxy, at: 5s}\n",
			[]string{`f.yaml:4:40: faults[0].node: "haproxy" is not a subscriber (allowed: primary1, primary2)`}},
		{"lock-rows without a table", head + "  - {kind: lock-rows, node: primary1, at: 5s, for: 3s}\n",
			[]string{`f.yaml:4:5: faults[0] (kind: lock-rows): table is required (one of: test_table, pgchaos_insert, pgchaos_counter, pgchaos_bank)`}},
		{"lock-rows on the heartbeat table, in a bad mode", head + "  - {kind: lock-rows, node: primary1, table: pgchaos_heartbeat, mode: page, at: 5s}\n", []string{
			`f.yaml:4:46: faults[0].table: "pgchaos_heartbeat" is not a table a lock-rows fault can lock (a table of yours: schema.table) (allowed: test_table, pgchaos_insert, pgchaos_counter, pgchaos_bank)`,
			`f.yaml:4:71: faults[0].mode: "page" is not a lock mode (allowed: row, table)`,
		}},
		{"lock-rows on pgchaos's schema, qualified", head + "  - {kind: lock-rows, node: primary1, table: pgchaos.pgchaos_heartbeat, at: 5s}\n",
			[]string{`f.yaml:4:46: faults[0].table: "pgchaos.pgchaos_heartbeat" is in pgchaos's own schema: name its workload tables bare (pgchaos_insert, pgchaos_counter, pgchaos_bank), and its heartbeat is not locked`}},
		{"lock-rows on a quoted or mixed-case name", head + "  - {kind: lock-rows, node: primary1, table: Public.Orders, at: 5s}\n",
			[]string{`f.yaml:4:46: faults[0].table: "Public.Orders": name a table of yours as schema.table in lower-case letters, digits and _ (as PostgreSQL folds unquoted names)`}},
		{"table on a kind that takes none", head + "  - {kind: kill-sessions, node: primary1, table: test_table, at: 5s}\n",
			[]string{`f.yaml:4:43: key "table" is not valid for a kill-sessions fault in faults[0] (allowed: kind, at, node)`}},
		{"two disable-subscription on one subscriber", head + "  - {kind: disable-subscription, node: primary1, at: 5s, for: 10s}\n  - {kind: disable-subscription, node: primary1, at: 10s, for: 10s}\n",
			[]string{`f.yaml:5:5: faults[1] (kind: disable-subscription, node: primary1) overlaps faults[0] (kind: disable-subscription, node: primary1) (at f.yaml:4:5) from 10s to 15s: both disable the subscription on primary1, and the heal of the first would enable it while the second still holds; end one before the other starts, or merge them into one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("f.yaml", []byte(tt.yaml))
			if s != nil {
				t.Errorf("Parse returned a scenario along with errors: %+v", s)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

// TestParseAllowsSQLFaultOverlaps pins what may overlap: two lock-rows on
// one table, disable-subscription on each node at once, and a kill inside
// a disable-subscription's window.
func TestParseAllowsSQLFaultOverlaps(t *testing.T) {
	src := "duration: 1m\nworkloads: [{kind: update-hot}]\nfaults:\n" +
		"  - {kind: lock-rows, node: primary1, table: pgchaos_counter, at: 5s, for: 10s}\n" +
		"  - {kind: lock-rows, node: primary1, table: pgchaos_counter, mode: table, at: 6s, for: 10s}\n" +
		"  - {kind: disable-subscription, node: primary1, at: 5s, for: 10s}\n" +
		"  - {kind: disable-subscription, node: primary2, at: 5s, for: 10s}\n" +
		"  - {kind: kill-apply-worker, node: primary1, at: 7s}\n"
	if _, err := Parse("f.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// A lock-rows fault may name a user's table as schema.table: kept as
// written, with where it is, for the check against the nodes.
func TestParseTakesAUsersTableForLockRows(t *testing.T) {
	s, err := Parse("f.yaml", []byte("duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n  - {kind: lock-rows, node: primary1, table: shop.orders, mode: table, at: 5s, for: 2s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Faults[0]
	if f.Table != "shop.orders" || f.TablePos != (Pos{Line: 4, Col: 46}) || !UserTable(f.Table) || UserTable("pgchaos_counter") {
		t.Errorf("fault %+v", f)
	}
}
