package target

import (
	"strings"
	"testing"
)

func reportOf(f Facts) Report {
	e := Topology(f, nil)
	return Report{Facts: f, Topology: e, Capabilities: Capabilities(f), Measures: Measures(f, e)}
}

func TestSetupPlanForAllTablesPublicationsOnlyRefreshes(t *testing.T) {
	p := SetupPlan(reportOf(tutorial()), nil)
	sql := p.SQL()
	for _, want := range []string{
		"-- on east\nCREATE SCHEMA \"pgchaos\";",
		"CREATE TABLE IF NOT EXISTS pgchaos.pgchaos_heartbeat",
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
	if strings.Count(sql, "SELECT pglogical.replication_set_add_table('default', 'pgchaos.pgchaos_heartbeat', false) WHERE NOT EXISTS (") != 2 ||
		strings.Count(sql, "r.set_name IN ('default'));") != 2 {
		t.Errorf("plan:\n%s", sql)
	}
}

func TestCleanPlanDropsOnlyWhatSetupMade(t *testing.T) {
	f := tutorial()
	for i := range f.Nodes {
		f.Nodes[i].PgchaosSchema, f.Nodes[i].HeartbeatTable = true, true
		f.Nodes[i].Publications = append(f.Nodes[i].Publications, Publication{Name: "app", Heartbeat: true})
	}
	p := CleanPlan(reportOf(f), map[string]bool{"east": true})
	sql := p.SQL()
	if strings.Contains(sql, "on west") {
		t.Errorf("west's schema is not marked as pgchaos's, yet the plan touches it:\n%s", sql)
	}
	for _, want := range []string{`ALTER PUBLICATION "app" DROP TABLE pgchaos.pgchaos_heartbeat;`, "DROP TABLE IF EXISTS pgchaos.pgchaos_heartbeat;", "DROP SCHEMA \"pgchaos\";"} {
		if !strings.Contains(sql, want) {
			t.Errorf("plan lacks %q:\n%s", want, sql)
		}
	}
	if strings.Contains(sql, "CASCADE") || strings.Contains(sql, "pgchaos_pub") {
		t.Errorf("clean must not cascade nor touch a FOR ALL TABLES publication:\n%s", sql)
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
	if need := NeedsSetup(reportOf(f)); len(need) != 2 {
		t.Errorf("heartbeat in no set: NeedsSetup = %v, want east and west", need)
	}
	f.Nodes[0].ReplicationSets[0].Heartbeat = true
	r := reportOf(f)
	if need := NeedsSetup(r); len(need) != 1 || need[0] != "west" {
		t.Errorf("heartbeat in east's set only: NeedsSetup = %v, want west", need)
	}
	sql := SetupPlan(r, map[string]bool{"east": true, "west": true}).SQL()
	if strings.Contains(sql, "on east") || strings.Count(sql, "replication_set_add_table('default'") != 1 {
		t.Errorf("plan should add the heartbeat to west's set only:\n%s", sql)
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
	if need := NeedsSetup(reportOf(f)); len(need) != 0 {
		t.Errorf("NeedsSetup = %v, want none: east is nobody's publisher", need)
	}
	f.Nodes[1].Publications[0].Heartbeat = false
	if need := NeedsSetup(reportOf(f)); len(need) != 1 || need[0] != "west" {
		t.Errorf("NeedsSetup = %v, want west (east subscribes to it)", need)
	}
}
