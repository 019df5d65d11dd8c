package lab

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgchaos/pgchaos/compose"
	"github.com/pgchaos/pgchaos/exitcode"
)

// pglogical is the pglogical extension: a pglogical node on each primary,
// every public table in a replication set, and a subscription to each peer
// with forward_origins := '{}' so that changes do not loop. mesh: the lab
// has more than two nodes (see Engine).
type pglogical struct{ mesh bool }

func (pglogical) Name() string { return EnginePglogical }

// Settings load pglogical. Conflicts are logged at LOG: pglogical keeps no
// counters, its log lines are the only record of a conflict it resolved.
// The resolver is not set here but with ALTER SYSTEM (see SetResolver): a
// command-line setting would outrank postgresql.auto.conf, and the resolver
// could then not be changed on a running lab.
func (pglogical) Settings(string) []string {
	return []string{
		"shared_preload_libraries=pglogical",
		"pglogical.conflict_log_level=LOG",
		// A pglogical node runs a manager worker per database and an apply
		// worker per subscription, on top of the server's own.
		"max_worker_processes=16",
	}
}

// CheckImage looks for pglogical's library in the image: the official
// postgres images do not carry it, and a server told to preload a missing
// library does not start.
func (pglogical) CheckImage(ctx context.Context, cli *client.Client, containerID, image, pgVersion string) error {
	lib := "/usr/lib/postgresql/" + pgVersion + "/lib/pglogical.so"
	if _, err := cli.ContainerStatPath(ctx, containerID, lib); err != nil {
		return fmt.Errorf("engine pglogical: image %s has no pglogical for PostgreSQL %s (%s not found): "+
			"build images that carry it with `make images` (they install postgresql-%s-pglogical, and rebuild older local images without it), "+
			"or pass --postgres-image with an image that has the extension installed", image, pgVersion, lib, pgVersion)
	}
	return nil
}

// Setup makes each primary a pglogical node with its tables in the
// replication sets, then subscribes each to every other. The tutorial
// table, the heartbeat table and the interleaved sequence are the native
// lab's.
func (e pglogical) Setup(ctx context.Context, l *Lab) error {
	err := setupNodes(ctx, l, func(n Node) sqlStep {
		return sqlStep{what: "pglogical node", sql: compose.PglogicalNode,
			vars: map[string]string{"node": n.Name, "dsn": PeerConninfo(n.Name, l.SuperuserPassword())},
			hint: fmt.Sprintf("is pglogical in shared_preload_libraries and installed in image %s?", l.Images.Postgres)}
	})
	if err != nil {
		return err
	}
	for _, n := range l.Nodes {
		if err := trustPglogicalOutput(ctx, l, n.Name); err != nil {
			return err
		}
	}
	if err := l.SetResolver(ctx, l.Resolver); err != nil {
		return err
	}
	for _, k := range l.Links() {
		vars := map[string]string{"subscription": k.Name, "conninfo": PeerConninfo(k.Publisher, l.SuperuserPassword())}
		if err := l.execSQL(ctx, k.Subscriber, compose.PglogicalSubscription, vars); err != nil {
			return fmt.Errorf("subscribe %s to %s with pglogical: %w", k.Subscriber, k.Publisher, err)
		}
	}
	// create_subscription returns before the subscriber has its slot on the
	// provider: a row written before then is never sent. Wait until each
	// subscription replicates (its slot exists from then on).
	for _, k := range l.Links() {
		if err := e.waitReplicating(ctx, l, k, 2*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

func (e pglogical) waitReplicating(ctx context.Context, l *Lab, k Link, timeout time.Duration) error {
	conn, err := l.Connect(ctx, k.Subscriber)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(timeout)
	for {
		s, err := e.Subscription(ctx, conn, k.Subscriber, k.Publisher)
		if err != nil {
			return err
		}
		if s != nil && s.State == "replicating" {
			return nil
		}
		if time.Now().After(deadline) {
			state := "missing"
			if s != nil {
				state = s.State
			}
			return fmt.Errorf("pglogical subscription %s on %s is %s, not replicating, after %s: see the logs of %s and %s",
				k.Name, k.Subscriber, state, timeout, k.Subscriber, k.Publisher)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// SetResolver sets pglogical's conflict resolver on every node of a
// running pglogical lab: ALTER SYSTEM, a configuration reload, and a
// restart of each apply worker that runs (disable, enable), because
// pglogical's apply worker does not reread the configuration on SIGHUP.
// track_commit_timestamp,
// which last_update_wins and first_update_wins compare, is on in every lab.
// The lab's label keeps the resolver it was built with.
func (l *Lab) SetResolver(ctx context.Context, resolver string) error {
	if resolver == "" {
		resolver = ResolverLastUpdateWins
	}
	if err := validateEngine(l.Replication().Name(), resolver); err != nil {
		return exitcode.BadInputErr(err)
	}
	for _, n := range l.Nodes {
		conn, err := l.Connect(ctx, n.Name)
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "ALTER SYSTEM SET pglogical.conflict_resolution = "+quoteLiteral(resolver))
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT pg_reload_conf()")
		}
		if err == nil {
			// Only an enabled subscription is cycled: a disabled one starts
			// a fresh worker, with the new setting, when it is enabled.
			_, err = conn.Exec(ctx, `SELECT pglogical.alter_subscription_disable(sub_name, true), pglogical.alter_subscription_enable(sub_name, true)
				FROM pglogical.subscription WHERE sub_enabled`)
		}
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("set pglogical.conflict_resolution = %s on %s: %w", resolver, n.Name, err)
		}
	}
	l.Resolver = resolver
	return nil
}

// trustPglogicalOutput adds pglogical_output to output_plugin_libraries
// where the server has that setting (Debian's PostgreSQL 18 build does: it
// refuses replication users any output plugin it does not name, and
// pglogical's subscriber then fails to create its slot on the provider).
// Servers without the setting need nothing.
func trustPglogicalOutput(ctx context.Context, l *Lab, node string) error {
	conn, err := l.Connect(ctx, node)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var libs string
	err = conn.QueryRow(ctx, `SELECT setting FROM pg_settings WHERE name = 'output_plugin_libraries'`).Scan(&libs)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read output_plugin_libraries on %s: %w", node, err)
	}
	var quoted []string
	for _, lib := range strings.Split(libs, ",") {
		lib = strings.Trim(strings.TrimSpace(lib), `"`)
		if lib == "pglogical_output" {
			return nil
		}
		if lib != "" {
			quoted = append(quoted, quoteLiteral(lib))
		}
	}
	quoted = append(quoted, quoteLiteral("pglogical_output"))
	// A list setting: one literal per library (one literal holding commas
	// would be a single, unknown, library name).
	if _, err := conn.Exec(ctx, "ALTER SYSTEM SET output_plugin_libraries = "+strings.Join(quoted, ", ")); err != nil {
		return fmt.Errorf("trust pglogical_output on %s: %w", node, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("reload configuration on %s: %w", node, err)
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Subscription reads pglogical.show_subscription_status(). pglogical has
// no statistics view: it neither counts apply errors nor records when a
// message last arrived.
func (e pglogical) Subscription(ctx context.Context, conn *pgx.Conn, subscriber, publisher string) (*Subscription, error) {
	s := &Subscription{From: publisher, ApplyErrorsUnknown: "pglogical keeps no count of apply errors; its server log has them"}
	err := conn.QueryRow(ctx, `
		SELECT st.subscription_name, st.status, sub.sub_enabled
		FROM pglogical.show_subscription_status() st
		JOIN pglogical.subscription sub ON sub.sub_name = st.subscription_name
		WHERE st.subscription_name = $1`, e.SubscriptionName(subscriber, publisher)).Scan(&s.Name, &s.State, &s.Enabled)
	var pgErr *pgconn.PgError
	if err == pgx.ErrNoRows || errors.As(err, &pgErr) && (pgErr.Code == "3F000" || pgErr.Code == "42P01" || pgErr.Code == "42883") {
		return nil, nil // pglogical not set up (yet): no schema, table or function
	}
	if err != nil {
		return nil, fmt.Errorf("read pglogical subscription: %w", err)
	}
	// "down": the apply worker is not running (it failed and waits to be
	// restarted, or cannot connect); "initializing": it runs, syncing.
	s.WorkerRunning = s.State == "replicating" || s.State == "initializing"
	return s, nil
}

func (pglogical) UncountedConflicts() string {
	return "pglogical keeps no conflict counters (it has no statistics view); its conflicts are counted from its log lines"
}

// SubscriptionName is sub_from_<publisher> with two nodes; in a mesh it
// names the subscriber too, because pglogical names the provider's slot
// after the provider and the subscription only.
func (e pglogical) SubscriptionName(subscriber, publisher string) string {
	if e.mesh {
		return meshName(subscriber, publisher)
	}
	return SubscriptionFrom(publisher)
}

// SlotOn is the name pglogical gives the slot on the provider:
// pgl_<database>_<provider node>_<subscription>, each part cut to 16
// characters the way pglogical's shorten_hash does.
func (e pglogical) SlotOn(subscriber, publisher string) string {
	return PglogicalSlotName(Database, publisher, e.SubscriptionName(subscriber, publisher))
}

// PglogicalSlotName is the replication slot name pglogical derives for a
// subscription (pglogical_functions.c, gen_slot_name): parts longer than 16
// characters keep their first 8 and 7 hex digits of PostgreSQL's
// hash_bytes, and characters other than a-z, 0-9 and _ become _.
func PglogicalSlotName(database, provider, subscription string) string {
	name := []byte("pgl_" + shortenHash(database) + "_" + shortenHash(provider) + "_" + shortenHash(subscription))
	if len(name) > 63 {
		name = name[:63]
	}
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			name[i] = '_'
		}
	}
	return string(name)
}

// shortenHash mirrors pglogical's shorten_hash(str, 16): snprintf into 16
// bytes keeps 15 characters, the first 8 of str then the hash's hex.
func shortenHash(s string) string {
	const maxlen = 16
	if len(s) <= maxlen {
		return s
	}
	out := s[:maxlen-8] + fmt.Sprintf("%08x", hashBytes([]byte(s)))
	return out[:maxlen-1]
}

// hashBytes is PostgreSQL's hash_bytes (src/common/hashfn.c, Bob Jenkins'
// lookup3 with PostgreSQL's initial value) on a little-endian machine.
func hashBytes(k []byte) uint32 {
	rot := bits.RotateLeft32
	le := func(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 }
	a := 0x9e3779b9 + uint32(len(k)) + 3923095
	b, c := a, a
	for len(k) >= 12 {
		a += le(k)
		b += le(k[4:])
		c += le(k[8:])
		a -= c
		a ^= rot(c, 4)
		c += b
		b -= a
		b ^= rot(a, 6)
		a += c
		c -= b
		c ^= rot(b, 8)
		b += a
		a -= c
		a ^= rot(c, 16)
		c += b
		b -= a
		b ^= rot(a, 19)
		a += c
		c -= b
		c ^= rot(b, 4)
		b += a
		k = k[12:]
	}
	// The tail: c's lowest byte is left for the length (already in it).
	var tail [12]byte
	copy(tail[:], k)
	switch {
	case len(k) > 8:
		c += le(tail[8:]) << 8
		fallthrough
	case len(k) > 4:
		b += le(tail[4:])
		fallthrough
	case len(k) > 0:
		a += le(tail[:])
	}
	c ^= b
	c -= rot(b, 14)
	a ^= c
	a -= rot(c, 11)
	b ^= a
	b -= rot(a, 25)
	c ^= b
	c -= rot(b, 16)
	a ^= c
	a -= rot(c, 4)
	b ^= a
	b -= rot(a, 14)
	c ^= b
	c -= rot(b, 24)
	return c
}
