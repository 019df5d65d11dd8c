package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// schemaComment marks the schema as pgchaos's: Clean refuses a schema
// named pgchaos that does not carry it (someone else's).
const schemaComment = "pgchaos: created by pgchaos target setup, removed by pgchaos target clean"

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
// schema pgchaos and its heartbeat table, whose applied_at is stamped by a
// trigger that fires only for replicated rows) and puts the heartbeat into
// the replication the preflight found. It is a pure function of the report.
//
// A schema named pgchaos that is not marked as pgchaos's (marked, from
// Marked) is someone else's: that node is left out, with a note.
func SetupPlan(r Report, marked map[string]bool) Plan {
	var p Plan
	hb := HeartbeatTable
	skipped := map[string]bool{}
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
		if n.PgchaosSchema && n.HeartbeatTable {
			continue
		}
		if !n.PgchaosSchema {
			// No IF NOT EXISTS: a schema made meanwhile by someone else
			// must stop the setup, not be adopted.
			add("CREATE SCHEMA " + ident(SchemaName))
			add("COMMENT ON SCHEMA " + ident(SchemaName) + " IS " + literal(schemaComment))
		}
		add("CREATE TABLE IF NOT EXISTS " + hb + " (origin text NOT NULL, seq bigint NOT NULL, " +
			"sent_at timestamptz NOT NULL DEFAULT clock_timestamp(), applied_at timestamptz, PRIMARY KEY (origin, seq))")
		add("CREATE OR REPLACE FUNCTION " + stampFunction + "() RETURNS trigger LANGUAGE plpgsql AS " +
			"$$BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END$$")
		add("DROP TRIGGER IF EXISTS " + stampTrigger + " ON " + hb)
		add("CREATE TRIGGER " + stampTrigger + " BEFORE INSERT ON " + hb + " FOR EACH ROW EXECUTE FUNCTION " + stampFunction + "()")
		add("ALTER TABLE " + hb + " ENABLE REPLICA TRIGGER " + stampTrigger)
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
				case pf.AllTables || pf.Heartbeat:
					// FOR ALL TABLES already carries it.
				default:
					st := Step{Node: e.Publisher, SQL: "ALTER PUBLICATION " + ident(name) + " ADD TABLE " + hb}
					if !slices.Contains(p.Steps, st) {
						p.Steps = append(p.Steps, st)
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
			if len(s.Publications) == 0 || slices.ContainsFunc(s.Publications, func(set string) bool {
				rs, found := replicationSet(pub, set)
				return found && rs.Heartbeat
			}) {
				continue
			}
			sets := make([]string, len(s.Publications))
			for i, set := range s.Publications {
				sets[i] = literal(set)
			}
			st := Step{Node: e.Publisher, SQL: "SELECT pglogical.replication_set_add_table(" + literal(s.Publications[0]) + ", " + literal(hb) + ", false)" +
				" WHERE NOT EXISTS (SELECT 1 FROM pglogical.replication_set_table t JOIN pglogical.replication_set r USING (set_id)" +
				" WHERE t.set_reloid = " + literal(hb) + "::regclass AND r.set_name IN (" + strings.Join(sets, ", ") + "))"}
			if !slices.Contains(p.Steps, st) {
				p.Steps = append(p.Steps, st)
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
		p.Notes = append(p.Notes, "no replication found between the nodes: the heartbeat is created but replicates nowhere")
	}
	return p
}

// NeedsSetup names the reached nodes whose heartbeat pgchaos run cannot use
// yet: no pgchaos.pgchaos_heartbeat, or, on a node another node of the
// target subscribes to, no publication or pglogical replication set of
// its carries it. Empty: setup was done.
func NeedsSetup(r Report) []string {
	var out []string
	for _, n := range r.Facts.Nodes {
		if n.Reached && (!n.HeartbeatTable || publishes(n.Name, r.Topology) && !heartbeatPublished(n)) {
			out = append(out, n.Name)
		}
	}
	return out
}

// CleanPlan is the SQL that removes what SetupPlan made: the heartbeat
// out of the publications that list it by name, then the heartbeat, its
// function and the schema, which is dropped without CASCADE so that
// anything else in it (not pgchaos's) stops the drop instead of going
// with it. Nodes whose schema pgchaos is not marked as pgchaos's are left
// alone, with a note.
func CleanPlan(r Report, marked map[string]bool) Plan {
	var p Plan
	hb := HeartbeatTable
	for _, n := range r.Facts.Nodes {
		if !n.Reached || !n.PgchaosSchema {
			continue
		}
		if !marked[n.Name] {
			p.Notes = append(p.Notes, n.Name+": schema pgchaos was not created by pgchaos target setup (no marker comment): left alone")
			continue
		}
		for _, pub := range n.Publications {
			if pub.Heartbeat && !pub.AllTables {
				p.Steps = append(p.Steps, Step{Node: n.Name, SQL: "ALTER PUBLICATION " + ident(pub.Name) + " DROP TABLE " + hb})
			}
		}
		if slices.Contains(n.Engines, EnginePglogical) {
			p.Steps = append(p.Steps, Step{Node: n.Name, SQL: "SELECT pglogical.replication_set_remove_table(r.set_name, " + literal(hb) + ") FROM pglogical.replication_set_table t JOIN pglogical.replication_set r USING (set_id) WHERE t.set_reloid = " + literal(hb) + "::regclass"})
		}
		p.Steps = append(p.Steps,
			Step{Node: n.Name, SQL: "DROP TABLE IF EXISTS " + hb},
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
			SchemaName, schemaComment).Scan(&ok)
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
