package target

import (
	"slices"
	"strings"
	"testing"
)

func reportOf(f Facts) Report {
	e := Topology(f, nil)
	return Report{Facts: f, Topology: e, Capabilities: Capabilities(f), Measures: Measures(f, e)}
}

// setUpTables are the tables of schema pgchaos after setup, all marked.
func setUpTables() []OwnTable {
	var out []OwnTable
	for _, n := range ownTables() {
		out = append(out, OwnTable{Name: n, Marked: true})
	}
	return out
}

// setUp makes every node of f look as it does after setup, with each
// node's publication named pub listing the tables.
func setUp(f Facts, pub string) Facts {
	for i := range f.Nodes {
		f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
		f.Nodes[i].PgchaosTables = setUpTables()
		if pub != "" {
			f.Nodes[i].Publications = []Publication{{Name: pub, Heartbeat: true, Tables: ownTables()}}
			f.Nodes[i].Subscriptions[0].Publications = []string{pub}
		}
	}
	return f
}

func TestSetupPlanForAllTablesPublicationsOnlyRefreshes(t *testing.T) {
	p := SetupPlan(reportOf(tutorial()), nil)
	sql := p.SQL()
	for _, want := range []string{
		"-- on east\nCREATE SCHEMA \"pgchaos\";\nCOMMENT ON SCHEMA \"pgchaos\" IS 'pgchaos: created by pgchaos target setup, removed by pgchaos target clean';",
		"CREATE TABLE pgchaos.pgchaos_heartbeat (",
		"COMMENT ON TABLE pgchaos.pgchaos_heartbeat IS 'pgchaos: created by pgchaos target setup",
		"ALTER TABLE pgchaos.pgchaos_heartbeat ENABLE REPLICA TRIGGER pgchaos_stamp_applied;",
		"-- on west\nCREATE SCHEMA",
		"ALTER SUBSCRIPTION \"sub_from_west\" REFRESH PUBLICATION WITH (copy_data = false);",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("plan lacks %q:\n%s", want, sql)
		}
	}
	if strings.Contains(sql, "ALTER PUBLICATION") {
		t.Errorf("a FOR ALL TABLES publication needs no ALTER PUBLICATION:\n%s", sql)
	}
	if i, j := strings.Index(sql, "-- on west\nCREATE SCHEMA"), strings.Index(sql, "REFRESH"); i > j {
		t.Errorf("subscriptions refreshed before every node has the table:\n%s", sql)
	}
}

// The built-in workloads' tables are made on every node with the lab's
// DDL (workload.Tables), each marked as pgchaos's, in schema pgchaos,
// then added to each publication that lists its tables, then the
// subscriptions are refreshed without copying: nothing of the user's
// is created, altered or dropped but the publications' table lists.
func TestSetupPlanCreatesTheWorkloadTablesAndPublishesThem(t *testing.T) {
	f := tutorial()
	for i := range f.Nodes {
		f.Nodes[i].Publications = []Publication{{Name: "app pub", Tables: nil}}
		f.Nodes[i].Subscriptions[0].Publications = []string{"app pub"}
	}
	p := SetupPlan(reportOf(f), nil)
	sql := p.SQL()
	tables := []string{"pgchaos_insert", "pgchaos_counter", "pgchaos_bank", "pgchaos_register", "pgchaos_list"}
	for _, tbl := range append([]string{"pgchaos_heartbeat"}, tables...) {
		for _, want := range []string{
			"COMMENT ON TABLE pgchaos." + tbl + " IS 'pgchaos: created by pgchaos target setup, removed by pgchaos target clean';",
			`ALTER PUBLICATION "app pub" ADD TABLE pgchaos.` + tbl + ";",
		} {
			if n := strings.Count(sql, want); n != 2 {
				t.Errorf("%q %d times, want once per node:\n%s", want, n, sql)
			}
		}
	}
	for _, tb := range WorkloadTables() {
		ddl := strings.Replace(tb.DDL, "CREATE TABLE IF NOT EXISTS ", "CREATE TABLE ", 1) + ";"
		if strings.Count(sql, ddl) != 2 || !strings.HasPrefix(tb.Name, "pgchaos.") {
			t.Errorf("want the lab's DDL of %s in schema pgchaos on each node:\n%s", tb.Name, ddl)
		}
	}
	// Order: every node's tables, then the publications, then refreshes.
	lastCreate := strings.LastIndex(sql, "CREATE TABLE")
	firstPub, lastPub := strings.Index(sql, "ALTER PUBLICATION"), strings.LastIndex(sql, "ALTER PUBLICATION")
	firstRefresh := strings.Index(sql, "REFRESH PUBLICATION")
	if lastCreate > firstPub || lastPub > firstRefresh || firstRefresh < 0 {
		t.Errorf("steps out of order:\n%s", sql)
	}
	for _, bad := range []string{"DROP", "TRUNCATE", "DELETE", "CASCADE", "public.", "test_table", "IF NOT EXISTS"} {
		if strings.Contains(sql, bad) {
			t.Errorf("setup SQL holds %q:\n%s", bad, sql)
		}
	}
	if got := NeedsSetup(reportOf(f), true); !slices.Equal(got, []string{"east", "west"}) {
		t.Errorf("before setup NeedsSetup = %v", got)
	}
	done := reportOf(setUp(f, "app pub"))
	if got := NeedsSetup(done, true); len(got) != 0 {
		t.Errorf("after setup NeedsSetup = %v", got)
	}
	if p := SetupPlan(done, map[string]bool{"east": true, "west": true}); len(p.Steps) != 2 || !strings.Contains(p.SQL(), "REFRESH") {
		t.Errorf("a second setup should only refresh:\n%s", p.SQL())
	}
}

// After a heartbeat-only setup (before the workloads' tables), a run of
// sql workloads needs nothing more, one of built-in kinds needs the
// tables: the plan makes only those, leaving the heartbeat as it is.
func TestSetupPlanAfterAHeartbeatOnlySetupAddsTheWorkloadTables(t *testing.T) {
	f := tutorial()
	for i := range f.Nodes {
		f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
		f.Nodes[i].PgchaosTables = []OwnTable{{Name: "pgchaos_heartbeat"}}
		f.Nodes[i].Publications = []Publication{{Name: "app", Heartbeat: true, Tables: []string{"pgchaos_heartbeat"}}}
		f.Nodes[i].Subscriptions[0].Publications = []string{"app"}
	}
	r := reportOf(f)
	if got := NeedsSetup(r, false); len(got) != 0 {
		t.Errorf("sql workloads: NeedsSetup = %v", got)
	}
	if got := NeedsSetup(r, true); len(got) != 2 {
		t.Errorf("built-in workloads: NeedsSetup = %v", got)
	}
	sql := SetupPlan(r, map[string]bool{"east": true, "west": true}).SQL()
	if strings.Contains(sql, "pgchaos_heartbeat") || strings.Contains(sql, "CREATE SCHEMA") {
		t.Errorf("plan redoes the heartbeat setup:\n%s", sql)
	}
	if strings.Count(sql, "ADD TABLE pgchaos.pgchaos_counter;") != 2 {
		t.Errorf("plan:\n%s", sql)
	}
}

// A table of pgchaos's name in pgchaos's schema that setup did not make
// is someone else's: not published, not counted as set up, not dropped.
func TestATableSetupDidNotMakeIsLeftAlone(t *testing.T) {
	f := setUp(tutorial(), "app")
	f.Nodes[0].PgchaosTables[1].Marked = false // pgchaos_insert on east
	f.Nodes[0].Publications[0].Tables = slices.DeleteFunc(slices.Clone(ownTables()), func(s string) bool { return s == "pgchaos_insert" })
	r := reportOf(f)
	if got := NeedsSetup(r, true); !slices.Equal(got, []string{"east"}) {
		t.Errorf("NeedsSetup = %v", got)
	}
	p := SetupPlan(r, map[string]bool{"east": true, "west": true})
	if strings.Contains(p.SQL(), "pgchaos_insert") || len(p.Notes) == 0 || !strings.Contains(p.Notes[0], "pgchaos.pgchaos_insert exists but") {
		t.Errorf("setup touches someone else's table:\n%s\nnotes %v", p.SQL(), p.Notes)
	}
	c := CleanPlan(r, map[string]bool{"east": true, "west": true})
	for _, s := range c.Steps {
		if s.Node == "east" && strings.Contains(s.SQL, "pgchaos_insert") {
			t.Errorf("clean touches someone else's table: %s", s.SQL)
		}
	}
}

func TestSetupPlanAddsTheHeartbeatToNamedPublications(t *testing.T) {
	f := tutorial()
	for i := range f.Nodes {
		f.Nodes[i].Publications = []Publication{{Name: "app pub"}}
		f.Nodes[i].Subscriptions[0].Publications = []string{"app pub"}
	}
	sql := SetupPlan(reportOf(f), nil).SQL()
	if strings.Count(sql, `ALTER PUBLICATION "app pub" ADD TABLE pgchaos.pgchaos_heartbeat;`) != 2 {
		t.Errorf("want the heartbeat added to each node's publication once:\n%s", sql)
	}
}

func TestSetupPlanLeavesSomeoneElsesSchemaAlone(t *testing.T) {
	f := tutorial()
	f.Nodes[0].PgchaosSchema = true
	p := SetupPlan(reportOf(f), map[string]bool{})
	for _, s := range p.Steps {
		if s.Node == "east" || strings.Contains(s.SQL, "sub_from_west") {
			t.Errorf("step on east's replication, whose pgchaos schema is not ours: %+v", s)
		}
	}
	if len(p.Notes) == 0 || !strings.Contains(p.Notes[0], "left alone") {
		t.Errorf("notes %v", p.Notes)
	}
}

func TestSetupPlanPglogicalUsesReplicationSets(t *testing.T) {
	f := tutorial()
	for i := range f.Nodes {
		f.Nodes[i].Engines = []string{EnginePglogical}
		f.Nodes[i].Publications = nil
		f.Nodes[i].Subscriptions[0].Engine = EnginePglogical
		f.Nodes[i].Subscriptions[0].Publications = []string{"default"}
	}
	sql := SetupPlan(reportOf(f), nil).SQL()
	for _, tbl := range ownTables() {
		if strings.Count(sql, "SELECT pglogical.replication_set_add_table('default', 'pgchaos."+tbl+"', false) WHERE NOT EXISTS (") != 2 {
			t.Errorf("%s not added to each node's set:\n%s", tbl, sql)
		}
	}
	if strings.Count(sql, "r.set_name IN ('default'));") != 2*len(ownTables()) {
		t.Errorf("each add is guarded by the sets the subscription reads:\n%s", sql)
	}
}

func TestCleanPlanDropsOnlyWhatSetupMade(t *testing.T) {
	f := setUp(tutorial(), "")
	for i := range f.Nodes {
		f.Nodes[i].Publications = append(f.Nodes[i].Publications, Publication{Name: "app", Heartbeat: true, Tables: ownTables()})
	}
	p := CleanPlan(reportOf(f), map[string]bool{"east": true})
	sql := p.SQL()
	if strings.Contains(sql, "on west") {
		t.Errorf("west's schema is not marked as pgchaos's, yet the plan touches it:\n%s", sql)
	}
	for _, tbl := range ownTables() {
		for _, want := range []string{`ALTER PUBLICATION "app" DROP TABLE pgchaos.` + tbl + ";", "DROP TABLE IF EXISTS pgchaos." + tbl + ";"} {
			if !strings.Contains(sql, want) {
				t.Errorf("plan lacks %q:\n%s", want, sql)
			}
		}
	}
	if !strings.HasSuffix(sql, "DROP SCHEMA \"pgchaos\";\n") {
		t.Errorf("the schema goes last:\n%s", sql)
	}
	if strings.LastIndex(sql, "ALTER PUBLICATION") > strings.Index(sql, "DROP TABLE IF EXISTS") {
		t.Errorf("a table dropped before it left the publications:\n%s", sql)
	}
	if strings.Contains(sql, "CASCADE") || strings.Contains(sql, "pgchaos_pub") || strings.Contains(sql, "TRUNCATE") {
		t.Errorf("clean must not cascade, truncate nor touch a FOR ALL TABLES publication:\n%s", sql)
	}
}

// On pglogical the heartbeat counts as replicated when a replication set
// of the node carries it: setup then adds it to no set twice, and a run
// needs no setup.
func TestPglogicalHeartbeatInASetNeedsNoSetup(t *testing.T) {
	f := tutorial()
	for i := range f.Nodes {
		f.Nodes[i].Engines = []string{EnginePglogical}
		f.Nodes[i].Publications = nil
		f.Nodes[i].Subscriptions[0].Engine = EnginePglogical
		f.Nodes[i].Subscriptions[0].Publications = []string{"default"}
		f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
		f.Nodes[i].ReplicationSets = []Publication{{Name: "default"}}
	}
	if need := NeedsSetup(reportOf(f), false); len(need) != 2 {
		t.Errorf("heartbeat in no set: NeedsSetup = %v, want east and west", need)
	}
	f.Nodes[0].ReplicationSets[0].Heartbeat = true
	r := reportOf(f)
	if need := NeedsSetup(r, false); len(need) != 1 || need[0] != "west" {
		t.Errorf("heartbeat in east's set only: NeedsSetup = %v, want west", need)
	}
	sql := SetupPlan(r, map[string]bool{"east": true, "west": true}).SQL()
	if n := strings.Count(sql, "replication_set_add_table('default', 'pgchaos.pgchaos_heartbeat'"); n != 1 || !strings.Contains(sql[strings.Index(sql, "-- on west"):], "'pgchaos.pgchaos_heartbeat'") {
		t.Errorf("plan should add the heartbeat to west's set only (%d adds):\n%s", n, sql)
	}
}

// In a partial mesh a node nobody subscribes to needs the heartbeat table
// (it receives heartbeats) but no publication of it.
func TestNeedsSetupAsksPublicationsOnlyOfPublishers(t *testing.T) {
	f := tutorial()
	// west no longer subscribes to east: nobody reads from east.
	f.Nodes[1].Subscriptions = nil
	for i := range f.Nodes {
		f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
		f.Nodes[i].Publications = []Publication{{Name: "app"}}
	}
	f.Nodes[1].Publications[0].Heartbeat = true // west publishes it; east does not
	if need := NeedsSetup(reportOf(f), false); len(need) != 0 {
		t.Errorf("NeedsSetup = %v, want none: east is nobody's publisher", need)
	}
	f.Nodes[1].Publications[0].Heartbeat = false
	if need := NeedsSetup(reportOf(f), false); len(need) != 1 || need[0] != "west" {
		t.Errorf("NeedsSetup = %v, want west (east subscribes to it)", need)
	}
}
