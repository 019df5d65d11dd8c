package lab

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/pgchaos/pgchaos/compose"
)

// PeerConninfo is the connection string a node's subscription uses to reach
// its peer over the lab network, with the lab's superuser password.
func PeerConninfo(peer, password string) string {
	return fmt.Sprintf("host=%s port=5432 user=%s password=%s dbname=%s", peer, User, conninfoValue(password), Database)
}

// conninfoValue quotes a libpq key=value value: in single quotes, with
// backslash and quote escaped, so any password reads back as itself.
func conninfoValue(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// setupReplication runs the compose/sql files on each node, as
// setup-replication.sh does: tutorial table, sequence strategy, heartbeat
// table, publication; then, once every publication exists, on each node a
// subscription to every other.
func setupReplication(ctx context.Context, l *Lab) error {
	if err := setupNodes(ctx, l, func(Node) sqlStep {
		return sqlStep{what: "publication", sql: compose.Publication}
	}); err != nil {
		return err
	}
	sub := compose.Subscription
	if l.RetainDeadTuples {
		sub = compose.SubscriptionRetainDeadTuples
	}
	for _, k := range l.Links() {
		vars := map[string]string{"subscription": k.Name, "slot": k.Slot, "conninfo": PeerConninfo(k.Publisher, l.SuperuserPassword())}
		if err := l.execSQL(ctx, k.Subscriber, sub, vars); err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", k.Subscriber, k.Publisher, err)
		}
	}
	return nil
}

// execSQL runs a (multi-statement) SQL file on a node, psql variables
// substituted.
func (l *Lab) execSQL(ctx context.Context, node, sql string, vars map[string]string) error {
	q, err := compose.Interpolate(sql, vars)
	if err != nil {
		return err
	}
	conn, err := l.Connect(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// No arguments: pgx uses the simple protocol, which runs several statements.
	_, err = conn.Exec(ctx, q)
	return err
}

// sqlStep is one compose/sql file run on a node, with its variables.
type sqlStep struct {
	what, sql string
	vars      map[string]string
	hint      string // what to check when it fails, added to the error
}

// setupNodes runs, on each node, what every engine's lab has (the
// tutorial's table, the heartbeat table, the sequence strategy) and the
// engine's own step for that node (a publication, a pglogical node).
func setupNodes(ctx context.Context, l *Lab, engineStep func(Node) sqlStep) error {
	table := compose.TestTableSerial
	if l.Sequences == SeqUUID {
		table = compose.TestTableUUID
	}
	for i, n := range l.Nodes {
		steps := []sqlStep{{what: "test_table", sql: table}, {what: "heartbeat table", sql: compose.Heartbeat}, engineStep(n)}
		if l.Sequences == SeqInterleaved {
			steps = append(steps, sqlStep{what: "interleaved sequence", sql: compose.SequencesInterleaved,
				vars: map[string]string{"node_index": strconv.Itoa(i + 1), "node_count": strconv.Itoa(len(l.Nodes))}})
		}
		if l.schema != nil {
			// The user's tables exist before the engine's step, which
			// (for pglogical) adds every table it finds to a replication set.
			if err := l.applySchema(ctx, n.Name); err != nil {
				return err
			}
		}
		for _, s := range steps {
			if err := l.execSQL(ctx, n.Name, s.sql, s.vars); err != nil {
				if s.hint != "" {
					err = fmt.Errorf("%w (%s)", err, s.hint)
				}
				return fmt.Errorf("set up %s on %s: %w", s.what, n.Name, err)
			}
		}
	}
	return nil
}
