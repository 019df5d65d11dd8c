package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/workload"
)

// ownComment marks the schema and each table setup creates as pgchaos's:
// Clean refuses a schema named pgchaos that does not carry it (someone
// else's) and drops no table without it but the heartbeat (older setups
// left it unmarked); a run seeds no workload table without it.
const ownComment = "pgchaos: created by pgchaos target setup, removed by pgchaos target clean"

// WorkloadTables are the built-in workloads' tables on a target, in
// schema pgchaos, each with the DDL a lab runs (workload.Tables).
func WorkloadTables() []workload.Table { return workload.Tables(SchemaName) }

// ownTables are the names, without the schema, of every table setup
// makes: the heartbeat, then the workloads' tables.
func ownTables() []string {
	out := []string{strings.TrimPrefix(HeartbeatTable, SchemaName+".")}
	for _, t := range WorkloadTables() {
		out = append(out, strings.TrimPrefix(t.Name, SchemaName+"."))
	}
	return out
}

// HeartbeatTable is pgchaos's heartbeat on a target. It has the lab's
// table name (public.pgchaos_heartbeat there) in schema pgchaos, so the
// same observer queries serve both: a target's observer sessions run with
// search_path = pgchaos (the workloads' sessions keep the user's).
const HeartbeatTable = SchemaName + ".pgchaos_heartbeat"

// The function and trigger that stamp applied_at on replicated heartbeats.
const (
	stampFunction = SchemaName + ".pgchaos_stamp_applied"
	stampTrigger  = "pgchaos_stamp_applied"
)

// Step is one SQL statement on one node.
type Step struct {
	Node string `json:"node"`
	SQL  string `json:"sql"`
}

// Plan is what Setup or Clean would run, in order: every node's own
// objects first, then the publications, then the subscriptions' refresh.
type Plan struct {
	Steps []Step   `json:"steps"`
	Notes []string `json:"notes,omitempty"` // what the plan cannot do, and why
}

// SQL prints the plan as psql input, grouped by node.
func (p Plan) SQL() string {
	var b strings.Builder
	last := ""
	for _, s := range p.Steps {
		if s.Node != last {
			fmt.Fprintf(&b, "\n-- on %s\n", s.Node)
			last = s.Node
		}
		b.WriteString(s.SQL + ";\n")
	}
	return strings.TrimPrefix(b.String(), "\n")
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// SetupPlan is the SQL that gives the target pgchaos's own objects (the
// schema pgchaos, its heartbeat table, whose applied_at is stamped by a
// trigger that fires only for replicated rows, and the built-in
// workloads' tables, with the lab's DDL) and puts every one of those
// tables into the replication the preflight found. It is a pure function
// of the report. Each table it creates is marked as pgchaos's by a
// comment, as the schema is.
//
// All the built-in tables are made whatever the scenario: target setup
// has no scenario, one setup then serves every run, and the user's
// publications and subscriptions are changed once, not per scenario.
//
// A schema named pgchaos that is not marked as pgchaos's (marked, from
// Marked) is someone else's: that node is left out, with a note. So is a
// table of pgchaos's name in the schema that is not marked (not added to
// any publication, not written by a run).
func SetupPlan(r Report, marked map[string]bool) Plan {
	var p Plan
	hb := HeartbeatTable
	skipped := map[string]bool{}
	// foreign[node][table]: a table of pgchaos's name that pgchaos did not make.
	foreign := map[string]map[string]bool{}
	for _, n := range r.Facts.Nodes {
		if !n.Reached {
			p.Notes = append(p.Notes, n.Name+": not reached, nothing planned there")
			skipped[n.Name] = true
			continue
		}
		add := func(sql string) { p.Steps = append(p.Steps, Step{Node: n.Name, SQL: sql}) }
		if n.PgchaosSchema && !marked[n.Name] {
			p.Notes = append(p.Notes, n.Name+": a schema pgchaos exists that pgchaos target setup did not create (no marker comment): left alone")
			skipped[n.Name] = true
			continue
		}
		if !n.PgchaosSchema {
			// No IF NOT EXISTS: a schema made meanwhile by someone else
			// must stop the setup, not be adopted.
			add("CREATE SCHEMA " + ident(SchemaName))
			add("COMMENT ON SCHEMA " + ident(SchemaName) + " IS " + literal(ownComment))
		}
		if !n.HeartbeatTable {
			add("CREATE TABLE " + hb + " (origin text NOT NULL, seq bigint NOT NULL, " +
				"sent_at timestamptz NOT NULL DEFAULT clock_timestamp(), applied_at timestamptz, PRIMARY KEY (origin, seq))")
			add("COMMENT ON TABLE " + hb + " IS " + literal(ownComment))
			add("CREATE OR REPLACE FUNCTION " + stampFunction + "() RETURNS trigger LANGUAGE plpgsql AS " +
				"$$BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END$$")
			add("CREATE TRIGGER " + stampTrigger + " BEFORE INSERT ON " + hb + " FOR EACH ROW EXECUTE FUNCTION " + stampFunction + "()")
			add("ALTER TABLE " + hb + " ENABLE REPLICA TRIGGER " + stampTrigger)
		}
		for _, t := range WorkloadTables() {
			name := strings.TrimPrefix(t.Name, SchemaName+".")
			own, exists := ownTable(n, name)
			switch {
			case !exists:
				// Without IF NOT EXISTS, as the schema: a table made
				// meanwhile by someone else stops the setup.
				add(strings.Replace(t.DDL, "CREATE TABLE IF NOT EXISTS ", "CREATE TABLE ", 1))
				add("COMMENT ON TABLE " + t.Name + " IS " + literal(ownComment))
			case !own.Marked:
				p.Notes = append(p.Notes, fmt.Sprintf("%s: table %s exists but pgchaos target setup did not create it (no marker comment): left alone, and workloads will not write it", n.Name, t.Name))
				if foreign[n.Name] == nil {
					foreign[n.Name] = map[string]bool{}
				}
				foreign[n.Name][name] = true
			}
		}
	}
	// The publications the target's own subscriptions read from.
	refresh := map[string][]string{}
	for _, e := range r.Topology {
		if e.Publisher == "" || skipped[e.Publisher] || skipped[e.Subscriber] {
			continue
		}
		pub, ok := nodeFacts(r, e.Publisher)
		sub, _ := nodeFacts(r, e.Subscriber)
		if !ok {
			continue
		}
		s := subscription(sub, e.Subscription)
		switch e.Engine {
		case EngineNative:
			for _, name := range s.Publications {
				pf, found := publication(pub, name)
				switch {
				case !found:
					p.Notes = append(p.Notes, fmt.Sprintf("%s: subscription %s reads publication %s, which %s does not have", e.Subscriber, e.Subscription, name, e.Publisher))
				case pf.AllTables:
					// FOR ALL TABLES already carries them.
				default:
					for _, tbl := range ownTables() {
						if slices.Contains(pf.Tables, tbl) || (tbl == "pgchaos_heartbeat" && pf.Heartbeat) || foreign[e.Publisher][tbl] {
							continue
						}
						st := Step{Node: e.Publisher, SQL: "ALTER PUBLICATION " + ident(name) + " ADD TABLE " + SchemaName + "." + tbl}
						if !slices.Contains(p.Steps, st) {
							p.Steps = append(p.Steps, st)
						}
					}
				}
			}
			refresh[e.Subscriber] = append(refresh[e.Subscriber], e.Subscription)
		case EnginePglogical:
			// One of the sets the subscription reads is enough. The guard
			// makes the step a no-op where the table joined a set as it
			// was created (an event trigger adding every new table to a
			// set is a common pglogical setup; a set cannot hold a table
			// twice).
			if len(s.Publications) == 0 {
				continue
			}
			sets := make([]string, len(s.Publications))
			for i, set := range s.Publications {
				sets[i] = literal(set)
			}
			for _, tbl := range ownTables() {
				if foreign[e.Publisher][tbl] || slices.ContainsFunc(s.Publications, func(set string) bool {
					rs, found := replicationSet(pub, set)
					return found && (slices.Contains(rs.Tables, tbl) || tbl == "pgchaos_heartbeat" && rs.Heartbeat)
				}) {
					continue
				}
				q := literal(SchemaName + "." + tbl)
				st := Step{Node: e.Publisher, SQL: "SELECT pglogical.replication_set_add_table(" + literal(s.Publications[0]) + ", " + q + ", false)" +
					" WHERE NOT EXISTS (SELECT 1 FROM pglogical.replication_set_table t JOIN pglogical.replication_set r USING (set_id)" +
					" WHERE t.set_reloid = " + q + "::regclass AND r.set_name IN (" + strings.Join(sets, ", ") + "))"}
				if !slices.Contains(p.Steps, st) {
					p.Steps = append(p.Steps, st)
				}
			}
		default:
			p.Notes = append(p.Notes, fmt.Sprintf("%s: %s replication is not set up by pgchaos", e.Subscriber, e.Engine))
		}
	}
	for _, n := range r.Facts.Nodes {
		for _, s := range refresh[n.Name] {
			p.Steps = append(p.Steps, Step{Node: n.Name, SQL: "ALTER SUBSCRIPTION " + ident(s) + " REFRESH PUBLICATION WITH (copy_data = false)"})
		}
	}
	if len(r.Topology) == 0 {
		p.Notes = append(p.Notes, "no replication found between the nodes: the tables are created but replicate nowhere")
	}
	return p
}

// NeedsSetup names the reached nodes where pgchaos run cannot work yet:
// no pgchaos.pgchaos_heartbeat, or, on a node another node of the target
// subscribes to, no publication or pglogical replication set of its
// carries it; with workloads (a run of built-in workloads or a lock-rows
// fault), also a built-in workload table missing, not marked as
// pgchaos's, or (on a node others subscribe to) carried by no
// publication or set. Empty: setup was done.
func NeedsSetup(r Report, workloads bool) []string {
	var out []string
	for _, n := range r.Facts.Nodes {
		if !n.Reached {
			continue
		}
		read := publishes(n.Name, r.Topology)
		ok := n.HeartbeatTable && (!read || heartbeatPublished(n))
		if ok && workloads {
			for _, tbl := range ownTables()[1:] {
				own, exists := ownTable(n, tbl)
				if !exists || !own.Marked || read && !published(n, tbl) {
					ok = false
				}
			}
		}
		if !ok {
			out = append(out, n.Name)
		}
	}
	return out
}

// CleanPlan is the SQL that removes what SetupPlan made: pgchaos's tables
// out of the publications that list them by name, then the tables (the
// heartbeat, and those marked as pgchaos's), the heartbeat's function and
// the schema, which is dropped without CASCADE so that anything else in
// it (not pgchaos's) stops the drop instead of going with it. Nodes whose
// schema pgchaos is not marked as pgchaos's are left alone, with a note.
func CleanPlan(r Report, marked map[string]bool) Plan {
	var p Plan
	for _, n := range r.Facts.Nodes {
		if !n.Reached || !n.PgchaosSchema {
			continue
		}
		if !marked[n.Name] {
			p.Notes = append(p.Notes, n.Name+": schema pgchaos was not created by pgchaos target setup (no marker comment): left alone")
			continue
		}
		var drop []string
		for _, t := range n.PgchaosTables {
			if t.Marked || t.Name == "pgchaos_heartbeat" {
				drop = append(drop, t.Name)
			} else {
				p.Notes = append(p.Notes, fmt.Sprintf("%s: table %s.%s was not created by pgchaos target setup (no marker comment): left alone, so the schema stays", n.Name, SchemaName, t.Name))
			}
		}
		if n.HeartbeatTable && !slices.Contains(drop, "pgchaos_heartbeat") {
			drop = append([]string{"pgchaos_heartbeat"}, drop...)
		}
		for _, pub := range n.Publications {
			if pub.AllTables {
				continue
			}
			for _, tbl := range drop {
				if slices.Contains(pub.Tables, tbl) || (tbl == "pgchaos_heartbeat" && pub.Heartbeat) {
					p.Steps = append(p.Steps, Step{Node: n.Name, SQL: "ALTER PUBLICATION " + ident(pub.Name) + " DROP TABLE " + SchemaName + "." + tbl})
				}
			}
		}
		if slices.Contains(n.Engines, EnginePglogical) {
			for _, tbl := range drop {
				q := literal(SchemaName + "." + tbl)
				p.Steps = append(p.Steps, Step{Node: n.Name, SQL: "SELECT pglogical.replication_set_remove_table(r.set_name, " + q + ") FROM pglogical.replication_set_table t JOIN pglogical.replication_set r USING (set_id) WHERE t.set_reloid = " + q + "::regclass"})
			}
		}
		for _, tbl := range drop {
			p.Steps = append(p.Steps, Step{Node: n.Name, SQL: "DROP TABLE IF EXISTS " + SchemaName + "." + tbl})
		}
		p.Steps = append(p.Steps,
			Step{Node: n.Name, SQL: "DROP FUNCTION IF EXISTS " + stampFunction + "()"},
			Step{Node: n.Name, SQL: "DROP SCHEMA " + ident(SchemaName)})
	}
	return p
}

// Marked reports, per reached node, whether its schema pgchaos carries
// the marker SetupPlan writes. It only reads.
func Marked(ctx context.Context, t *Target) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range t.Nodes {
		conn, err := connect(ctx, n, true)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", n.Name, t.Scrub(err.Error()))
		}
		var ok bool
		err = conn.QueryRow(ctx, `SELECT coalesce(obj_description(oid, 'pg_namespace') = $2, false) FROM pg_namespace WHERE nspname = $1`,
			SchemaName, ownComment).Scan(&ok)
		conn.Close(context.WithoutCancel(ctx))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("%s: %s", n.Name, t.Scrub(err.Error()))
		}
		out[n.Name] = ok
	}
	return out, nil
}

// Apply runs a plan's steps in order, each on its node, stopping at the
// first that fails. Only the steps are run: the plan is the whole of
// what pgchaos changes.
func Apply(ctx context.Context, t *Target, p Plan, logf func(string, ...any)) error {
	conns := map[string]*pgx.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close(context.WithoutCancel(ctx))
		}
	}()
	for _, s := range p.Steps {
		c, ok := conns[s.Node]
		if !ok {
			n, found := t.Node(s.Node)
			if !found {
				return fmt.Errorf("plan names node %s, which the target does not have", s.Node)
			}
			var err error
			if c, err = connect(ctx, n, false); err != nil {
				return fmt.Errorf("%s: connect: %s", s.Node, t.Scrub(err.Error()))
			}
			conns[s.Node] = c
		}
		if _, err := c.Exec(ctx, s.SQL); err != nil {
			return fmt.Errorf("%s: %s: %s", s.Node, s.SQL, t.Scrub(err.Error()))
		}
		logf("%s: %s", s.Node, s.SQL)
	}
	return nil
}

func nodeFacts(r Report, name string) (NodeFacts, bool) {
	for _, n := range r.Facts.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return NodeFacts{}, false
}

func subscription(n NodeFacts, name string) Subscription {
	for _, s := range n.Subscriptions {
		if s.Name == name {
			return s
		}
	}
	return Subscription{}
}

func replicationSet(n NodeFacts, name string) (Publication, bool) {
	for _, p := range n.ReplicationSets {
		if p.Name == name {
			return p, true
		}
	}
	return Publication{}, false
}

func publication(n NodeFacts, name string) (Publication, bool) {
	for _, p := range n.Publications {
		if p.Name == name {
			return p, true
		}
	}
	return Publication{}, false
}

func ownTable(n NodeFacts, name string) (OwnTable, bool) {
	for _, t := range n.PgchaosTables {
		if t.Name == name {
			return t, true
		}
	}
	return OwnTable{}, false
}

// published reports whether a publication or pglogical replication set
// of n carries pgchaos's table (a name without the schema).
func published(n NodeFacts, table string) bool {
	for _, p := range append(append([]Publication(nil), n.Publications...), n.ReplicationSets...) {
		if slices.Contains(p.Tables, table) {
			return true
		}
	}
	return false
}
