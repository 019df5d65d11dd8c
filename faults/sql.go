package faults

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/scenario"
)

// SQLNodes is the SQL backend: a superuser session to a node, by name.
// *lab.Lab is one; the user's own nodes (a target of DSNs) are another. The
// SQL faults need nothing else, in particular no Docker.
type SQLNodes interface {
	Connect(ctx context.Context, node string) (*pgx.Conn, error)
}

// Measured is implemented by faults that measure their own effect (how
// long a killed walsender took to come back); the ledger keeps what they
// report after inject and after heal, and the report shows it.
type Measured interface {
	Effects() []string
}

// WorkloadAppPrefix starts the application_name of every session of
// pgchaos's workloads (workload.ApplicationName): kill-sessions ends the
// client backends whose name starts with it, and no other. pgchaos's own
// other sessions (the observer, the faults) are named otherwise.
const WorkloadAppPrefix = "pgchaos/"

// faultAppName is the application_name of the SQL faults' own sessions;
// a lock-rows holder adds its kind, table and mode so a heal in another
// process can find it.
const faultAppName = "pgchaos-fault"

// resumeTimeout bounds the wait for a killed walsender or apply worker to
// be back; it is under HealTimeout so the wait's own error is the one seen.
const resumeTimeout = 50 * time.Second

// resumePoll is how often the wait for a killed process's successor polls;
// the measured time to resume is exact to about this much.
const resumePoll = 20 * time.Millisecond

// busyWindow bounds how long a kill waits for its process to be busy (a
// walsender with WAL still to send, an apply worker inside a transaction)
// so that the kill lands mid-transaction when the workload allows it.
const busyWindow = time.Second

// NewSQL makes an SQL fault (disable-subscription, kill-walsender,
// kill-apply-worker, kill-sessions, lock-rows) on the nodes db reaches. It
// touches nothing.
func NewSQL(db SQLNodes, spec scenario.Fault) (Fault, error) {
	return newSQL(db, spec, "")
}

// newSQL is NewSQL for a fault on one of its node's links: link is the
// subscription or slot spec.Peer names ("" for the node's only one).
func newSQL(db SQLNodes, spec scenario.Fault, link string) (Fault, error) {
	if spec.Node == "" {
		return nil, fmt.Errorf("fault %s: no node", spec.Kind)
	}
	switch spec.Kind {
	case scenario.FaultDisableSubscription:
		return &DisableSubscription{sqlFault: sqlFault{spec: spec, db: db, link: link}}, nil
	case scenario.FaultKillWalsender:
		return &KillWalsender{sqlFault: sqlFault{spec: spec, db: db, link: link}}, nil
	case scenario.FaultKillApplyWorker:
		return &KillApplyWorker{sqlFault: sqlFault{spec: spec, db: db, link: link}}, nil
	case scenario.FaultKillSessions:
		return &KillSessions{sqlFault: sqlFault{spec: spec, db: db}}, nil
	case scenario.FaultLockRows:
		if spec.Table == "" {
			return nil, fmt.Errorf("fault lock-rows on %s: no table", spec.Node)
		}
		if spec.Mode != "" && spec.Mode != scenario.LockRow && spec.Mode != scenario.LockTable {
			return nil, fmt.Errorf("fault lock-rows on %s: mode %q is neither row nor table", spec.Node, spec.Mode)
		}
		return &LockRows{sqlFault: sqlFault{spec: spec, db: db}}, nil
	}
	return nil, fmt.Errorf("fault kind %q is not an SQL fault", spec.Kind)
}

// sweepSQL undoes on node what the SQL faults can leave without a ledger:
// it enables the subscriptions that are disabled and ends the sessions
// holding lock-rows locks. It returns what it did, in words.
func sweepSQL(ctx context.Context, db SQLNodes, node string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, sqlTimeout)
	defer cancel()
	s := &sqlFault{db: db}
	conn, err := s.session(ctx, node, faultAppName)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var did []string
	rows, err := conn.Query(ctx, `SELECT subname::text FROM pg_subscription
WHERE NOT subenabled AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		return nil, fmt.Errorf("list disabled subscriptions on %s: %w", node, err)
	}
	subs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list disabled subscriptions on %s: %w", node, err)
	}
	for _, sub := range subs {
		if _, err := conn.Exec(ctx, "ALTER SUBSCRIPTION "+pgx.Identifier{sub}.Sanitize()+" ENABLE"); err != nil {
			return did, fmt.Errorf("enable subscription %s on %s: %w", sub, node, err)
		}
		did = append(did, "enabled subscription "+sub+" on "+node)
	}
	if pgl, err := usesPglogical(ctx, conn); err != nil {
		return did, fmt.Errorf("look for pglogical on %s: %w", node, err)
	} else if pgl {
		rows, _ := conn.Query(ctx, `SELECT sub_name::text FROM pglogical.subscription WHERE NOT sub_enabled ORDER BY 1`)
		subs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return did, fmt.Errorf("list disabled pglogical subscriptions on %s: %w", node, err)
		}
		for _, sub := range subs {
			if _, err := conn.Exec(ctx, "SELECT pglogical.alter_subscription_enable($1, true)", sub); err != nil {
				return did, fmt.Errorf("enable pglogical subscription %s on %s: %w", sub, node, err)
			}
			did = append(did, "enabled pglogical subscription "+sub+" on "+node)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE starts_with(application_name, $1) AND pid <> pg_backend_pid()`, faultAppName+"/lock-rows/").Scan(&n); err != nil {
		return did, fmt.Errorf("end lock-rows sessions on %s: %w", node, err)
	}
	if n > 0 {
		did = append(did, fmt.Sprintf("ended %d lock-rows session(s) on %s", n, node))
	}
	return did, nil
}

// sqlFault is what the SQL faults share: the entry, the backend, and what
// the fault measured.
type sqlFault struct {
	spec scenario.Fault
	db   SQLNodes
	// link names the one subscription (disable-subscription,
	// kill-apply-worker) or slot (kill-walsender) the fault acts on when
	// its node has several (spec.Peer); "" for the node's only one.
	link string

	mu      sync.Mutex
	effects []string
}

// Spec returns the scenario entry the fault was made from.
func (s *sqlFault) Spec() scenario.Fault { return s.spec }

// String names the fault, e.g. "kill-walsender primary1".
func (s *sqlFault) String() string { return describeString(s.spec) }

// Effects returns what the fault measured so far, in plain words.
func (s *sqlFault) Effects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.effects...)
}

func (s *sqlFault) say(format string, args ...any) {
	s.mu.Lock()
	s.effects = append(s.effects, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// session opens a session to the fault's node (or another), named for
// pg_stat_activity.
func (s *sqlFault) session(ctx context.Context, node, appName string) (*pgx.Conn, error) {
	conn, err := s.db.Connect(ctx, node)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", node, err)
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('application_name', $1, false)", appName); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("name the session on %s: %w", node, err)
	}
	return conn, nil
}

// subscription names the one subscription in node's database: with two
// primaries, the subscription to the other. More than one is refused
// rather than guessed. A database without native subscriptions is asked
// for pglogical's (pglogical is then true).
func subscription(ctx context.Context, conn *pgx.Conn, node, only string) (name string, pglogical bool, err error) {
	rows, err := conn.Query(ctx, `SELECT subname FROM pg_subscription
WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY subname`)
	if err != nil {
		return "", false, fmt.Errorf("list the subscriptions on %s: %w", node, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", false, fmt.Errorf("list the subscriptions on %s: %w", node, err)
	}
	if len(names) == 0 {
		if pglogical, err = usesPglogical(ctx, conn); err != nil {
			return "", false, fmt.Errorf("look for pglogical on %s: %w", node, err)
		}
		if pglogical {
			rows, _ := conn.Query(ctx, `SELECT sub_name::text FROM pglogical.subscription ORDER BY 1`)
			if names, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return "", false, fmt.Errorf("list the pglogical subscriptions on %s: %w", node, err)
			}
		}
	}
	if only != "" {
		if slices.Contains(names, only) {
			return only, pglogical, nil
		}
		return "", false, fmt.Errorf("%s has no subscription %s (it has: %s)", node, only, strings.Join(names, ", "))
	}
	switch len(names) {
	case 0:
		return "", false, fmt.Errorf("%s has no subscription in its database: is replication set up? (see `pgchaos lab status`)", node)
	case 1:
		return names[0], pglogical, nil
	}
	return "", false, fmt.Errorf("%s has %d subscriptions (%s): name the publisher in the fault's peer key", node, len(names), strings.Join(names, ", "))
}

// usesPglogical reports whether the session's database replicates with
// pglogical rather than natively: it has no native subscription and the
// pglogical extension is installed.
func usesPglogical(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var pgl bool
	err := conn.QueryRow(ctx, `SELECT to_regclass('pglogical.subscription') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_subscription
WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&pgl)
	return pgl, err
}

// DisableSubscription stops applying the changes of one peer on a node:
// ALTER SUBSCRIPTION … DISABLE on the subscriber, ENABLE to heal (on
// pglogical, pglogical.alter_subscription_disable and _enable, immediate).
// The publisher keeps the slot, so its WAL piles up and replication
// catches up after the heal; observe's heartbeat lag shows the window.
type DisableSubscription struct{ sqlFault }

// Inject disables the node's subscription.
func (d *DisableSubscription) Inject(ctx context.Context) error {
	if err := d.alter(ctx, "DISABLE"); err != nil {
		return fmt.Errorf("inject %s: %w", d, err)
	}
	return nil
}

// Heal enables the node's subscription again; enabling an enabled one is
// a no-op, so a heal from the ledger alone is safe.
func (d *DisableSubscription) Heal(ctx context.Context) error {
	if err := d.alter(ctx, "ENABLE"); err != nil {
		return fmt.Errorf("heal %s: %w (run ALTER SUBSCRIPTION … ENABLE on %s by hand)", d, err, d.spec.Node)
	}
	return nil
}

func (d *DisableSubscription) alter(ctx context.Context, verb string) error {
	ctx, cancel := context.WithTimeout(ctx, sqlTimeout)
	defer cancel()
	conn, err := d.session(ctx, d.spec.Node, faultAppName)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	sub, pgl, err := subscription(ctx, conn, d.spec.Node, d.link)
	if err != nil {
		return err
	}
	if pgl {
		fn := "pglogical.alter_subscription_" + strings.ToLower(verb)
		if _, err := conn.Exec(ctx, "SELECT "+fn+"($1, true)", sub); err != nil {
			return fmt.Errorf("%s('%s') on %s: %w", fn, sub, d.spec.Node, err)
		}
		return nil
	}
	if _, err := conn.Exec(ctx, "ALTER SUBSCRIPTION "+pgx.Identifier{sub}.Sanitize()+" "+verb); err != nil {
		return fmt.Errorf("ALTER SUBSCRIPTION %s %s on %s: %w", sub, verb, d.spec.Node, err)
	}
	return nil
}

// killed is what a kill-walsender or kill-apply-worker remembers of its
// kill, for the wait that follows.
type killed struct {
	pid  int32
	name string // the slot (walsender) or subscription (apply worker)
	at   time.Time
}

// KillWalsender ends, with pg_terminate_backend, the walsender that serves
// the peer's subscription on a publisher, while it has WAL to send when
// the workload allows. The server heals it: the peer's apply worker
// reconnects after wal_retrieve_retry_interval. Heal waits for a new
// walsender to stream and reports how long that took.
type KillWalsender struct {
	sqlFault
	k killed
}

// walsenderSQL finds the walsenders of subscriptions (logical slots other
// than table-sync ones): pid, slot, busy (WAL left to send) and how many
// bytes of it.
const walsenderSQL = `SELECT r.pid, s.slot_name::text, coalesce(pg_current_wal_lsn() - r.sent_lsn, 0) > 0, coalesce(pg_current_wal_lsn() - r.sent_lsn, 0)::int8
FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
WHERE s.slot_type = 'logical' AND s.slot_name NOT LIKE 'pg\_%\_sync\_%' ORDER BY s.slot_name`

// Inject kills the walsender. It waits up to busyWindow for one with WAL
// left to send, then kills it busy or not, and says which.
func (k *KillWalsender) Inject(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, sqlTimeout+busyWindow)
	defer cancel()
	conn, err := k.session(ictx, k.spec.Node, faultAppName)
	if err != nil {
		return fmt.Errorf("inject %s: %w", k, err)
	}
	defer conn.Close(context.WithoutCancel(ictx))
	p, err := findBusy(ictx, conn, walsenderSQL, k.link, 5*time.Millisecond)
	switch {
	case err != nil:
		return fmt.Errorf("inject %s: find the walsender on %s: %w", k, k.spec.Node, err)
	case len(p) == 0:
		return fmt.Errorf("inject %s: %s has no walsender serving a subscription: is the peer's subscription enabled and connected? (see `pgchaos lab status`)", k, k.spec.Node)
	case len(p) > 1:
		return fmt.Errorf("inject %s: %s has %d walsenders serving subscriptions (slots %s): name the subscriber in the fault's peer key", k, k.spec.Node, len(p), names(p))
	}
	pid, slot, behind := p[0].pid, p[0].name, p[0].behind
	if err := terminate(ictx, conn, pid); err != nil {
		return fmt.Errorf("inject %s: %w", k, err)
	}
	k.k = killed{pid: pid, name: slot, at: time.Now()}
	if behind > 0 {
		k.say("walsender %d (slot %s) killed with %d bytes of WAL still to send", pid, slot, behind)
	} else {
		k.say("walsender %d (slot %s) killed while it had no WAL to send (the workload wrote nothing new within %s)", pid, slot, busyWindow)
	}
	return nil
}

// Heal waits until a new walsender streams for the slot and reports how
// long after the kill. Re-created from the ledger (no kill remembered) it
// waits for any walsender of a subscription to stream.
func (k *KillWalsender) Heal(ctx context.Context) error {
	q := `SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
WHERE s.slot_type = 'logical' AND r.state = 'streaming' AND r.pid <> $1 AND ($2 = '' OR s.slot_name = $2)`
	took, err := k.waitBack(ctx, k.k, q)
	if err != nil {
		return fmt.Errorf("heal %s: no walsender streamed again on %s within %s: %w (is the peer up and its subscription enabled? see `pgchaos lab status`)", k, k.spec.Node, resumeTimeout, err)
	}
	if !k.k.at.IsZero() {
		k.say("a new walsender was streaming %.2f s after the kill (polled every %s)", took.Seconds(), resumePoll)
	}
	return nil
}

// KillApplyWorker ends, with pg_terminate_backend, the apply worker of a
// subscriber's subscription, inside a transaction when the workload
// allows. The server heals it: the launcher starts a new worker after
// wal_retrieve_retry_interval. Heal waits for the new worker to have
// received a message from the publisher and reports how long that took.
type KillApplyWorker struct {
	sqlFault
	k killed
}

// applyWorkerSQL finds a subscription's apply worker (not a table-sync or
// parallel apply worker) and whether it is inside a transaction.
const applyWorkerSQL = `SELECT st.pid, s.subname::text, a.xact_start IS NOT NULL, 0::int8
FROM pg_subscription s
JOIN pg_stat_subscription st ON st.subid = s.oid AND st.worker_type = 'apply' AND st.pid IS NOT NULL
LEFT JOIN pg_stat_activity a ON a.pid = st.pid
WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY s.subname`

// pglogicalApplyWorkerSQL is applyWorkerSQL for pglogical: its apply
// worker is the background worker "pglogical apply <database oid>:<sub_id>".
const pglogicalApplyWorkerSQL = `SELECT a.pid, s.sub_name::text, a.xact_start IS NOT NULL, 0::int8
FROM pglogical.subscription s
JOIN pg_stat_activity a ON a.backend_type = 'pglogical apply ' || (SELECT oid FROM pg_database WHERE datname = current_database()) || ':' || s.sub_id
ORDER BY s.sub_name`

// Inject kills the apply worker. It waits up to busyWindow for it to be
// inside a transaction, then kills it in one or not, and says which.
func (k *KillApplyWorker) Inject(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, sqlTimeout+busyWindow)
	defer cancel()
	conn, err := k.session(ictx, k.spec.Node, faultAppName)
	if err != nil {
		return fmt.Errorf("inject %s: %w", k, err)
	}
	defer conn.Close(context.WithoutCancel(ictx))
	q := applyWorkerSQL
	if pgl, err := usesPglogical(ictx, conn); err != nil {
		return fmt.Errorf("inject %s: look for pglogical on %s: %w", k, k.spec.Node, err)
	} else if pgl {
		q = pglogicalApplyWorkerSQL
	}
	p, err := findBusy(ictx, conn, q, k.link, 2*time.Millisecond)
	switch {
	case err != nil:
		return fmt.Errorf("inject %s: find the apply worker on %s: %w", k, k.spec.Node, err)
	case len(p) == 0:
		return fmt.Errorf("inject %s: %s has no apply worker running: is its subscription enabled? (see `pgchaos lab status`)", k, k.spec.Node)
	case len(p) > 1:
		return fmt.Errorf("inject %s: %s has %d apply workers (subscriptions %s): name the publisher in the fault's peer key", k, k.spec.Node, len(p), names(p))
	}
	pid, sub, inTx := p[0].pid, p[0].name, p[0].busy
	if err := terminate(ictx, conn, pid); err != nil {
		return fmt.Errorf("inject %s: %w", k, err)
	}
	k.k = killed{pid: pid, name: sub, at: time.Now()}
	if inTx {
		k.say("apply worker %d (subscription %s) killed inside a transaction", pid, sub)
	} else {
		k.say("apply worker %d (subscription %s) killed between transactions (none began within %s)", pid, sub, busyWindow)
	}
	return nil
}

// Heal waits until a new apply worker has received a message from the
// publisher since the kill, and reports how long after the kill. Re-created
// from the ledger it waits for any apply worker to run.
func (k *KillApplyWorker) Heal(ctx context.Context) error {
	// last_msg_receipt_time is on the server's clock; the kill's time is
	// taken on the same server by comparing with the worker's start
	// (backend_start), which is after the kill for a new worker.
	q := `SELECT count(*) FROM pg_subscription s
JOIN pg_stat_subscription st ON st.subid = s.oid AND st.worker_type = 'apply' AND st.pid IS NOT NULL
JOIN pg_stat_activity a ON a.pid = st.pid
WHERE st.pid <> $1 AND ($2 = '' OR s.subname = $2)
  AND ($1 = 0 OR st.last_msg_receipt_time >= a.backend_start)`
	back := "receiving from the publisher"
	if k.pglogical(ctx) {
		// pglogical records no message times: its own status says the
		// new worker is connected and applying.
		q = `SELECT count(*) FROM pglogical.subscription s
JOIN pg_stat_activity a ON a.backend_type = 'pglogical apply ' || (SELECT oid FROM pg_database WHERE datname = current_database()) || ':' || s.sub_id
JOIN pglogical.show_subscription_status() st ON st.subscription_name = s.sub_name
WHERE a.pid <> $1 AND ($2 = '' OR s.sub_name = $2) AND st.status = 'replicating'`
		back = "replicating (pglogical's status)"
	}
	took, err := k.waitBack(ctx, k.k, q)
	if err != nil {
		return fmt.Errorf("heal %s: no apply worker received from the publisher again on %s within %s: %w (is the peer up? see `pgchaos lab status`)", k, k.spec.Node, resumeTimeout, err)
	}
	if !k.k.at.IsZero() {
		k.say("apply worker back, %s, %.2f s after the kill (polled every %s)", back, took.Seconds(), resumePoll)
	}
	return nil
}

// pglogical reports whether the fault's node replicates with pglogical
// (usesPglogical); false when that cannot be read (the native query then
// runs and says what is wrong).
func (s *sqlFault) pglogical(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, sqlTimeout)
	defer cancel()
	conn, err := s.session(ctx, s.spec.Node, faultAppName)
	if err != nil {
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pgl, err := usesPglogical(ctx, conn)
	return err == nil && pgl
}

// waitBack polls q (arguments: the killed pid, 0 when unknown, and the
// slot or subscription, "" when unknown) on the fault's node until it
// counts a row, and returns the time since the kill.
func (s *sqlFault) waitBack(ctx context.Context, k killed, q string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, resumeTimeout)
	defer cancel()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	var last error
	for {
		if conn == nil {
			c, err := s.session(ctx, s.spec.Node, faultAppName)
			if err == nil {
				conn = c
			}
			last = err
		}
		if conn != nil {
			var n int
			err := conn.QueryRow(ctx, q, k.pid, k.name).Scan(&n)
			if err == nil && n > 0 {
				return time.Since(k.at), nil
			}
			if err != nil {
				conn.Close(context.WithoutCancel(ctx))
				conn = nil
				last = err
			} else {
				last = errors.New("not back yet")
			}
		}
		if err := sleep(ctx, resumePoll); err != nil {
			return 0, fmt.Errorf("%w (last: %v)", err, last)
		}
	}
}

// terminate ends backend pid and checks the server signalled it.
func terminate(ctx context.Context, conn *pgx.Conn, pid int32) error {
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil {
		return fmt.Errorf("pg_terminate_backend(%d): %w", pid, err)
	}
	if !ok {
		return fmt.Errorf("pg_terminate_backend(%d): the process was gone already", pid)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// KillSessions ends, with pg_terminate_backend, every client backend of
// pgchaos's workloads on a node (application_name starting with
// WorkloadAppPrefix) and no other session. The workloads see their ops in
// flight fail (or end unknown, for a commit whose answer was lost) and
// open new sessions by themselves.
type KillSessions struct{ sqlFault }

// Inject ends the workloads' sessions on the node and says how many.
func (k *KillSessions) Inject(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, sqlTimeout)
	defer cancel()
	conn, err := k.session(ctx, k.spec.Node, faultAppName)
	if err != nil {
		return fmt.Errorf("inject %s: %w", k, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n, of int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)), count(*) FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND starts_with(application_name, $1)`, WorkloadAppPrefix).Scan(&n, &of)
	if err != nil {
		return fmt.Errorf("inject %s: end the workloads' sessions on %s: %w", k, k.spec.Node, err)
	}
	k.say("ended %d of the workloads' %d sessions on %s (application_name %s…)", n, of, k.spec.Node, WorkloadAppPrefix)
	return nil
}

// Heal has nothing to undo: the workloads reconnect by themselves.
func (k *KillSessions) Heal(context.Context) error { return nil }

// LockRows holds, in a session of its own, a lock on a table of a node for
// the fault's window: row locks (SELECT … FOR UPDATE) on every row the
// table holds at inject, or a table lock (LOCK TABLE … IN EXCLUSIVE MODE:
// reads go on, writes wait). Writers of those rows, on that node, wait
// until the heal rolls the session back; the apply worker of the node's
// subscription waits too when it applies a change to them.
//
// The lock lives as long as the session: if pgchaos dies, the server ends
// the session when it sees the connection close and releases the lock.
// A heal from the ledger alone (`pgchaos lab heal`) ends any session still
// holding such a lock (one of a pgchaos that hangs), found by its
// application_name.
type LockRows struct {
	sqlFault
	// Schema is where the table is: "" for the session's search_path (a
	// lab's public), "pgchaos" on a target.
	Schema string
	conn   *pgx.Conn // the holding session, between Inject and Heal
}

// lockWait bounds how long the inject waits to get its lock (other
// transactions hold some of the rows for a moment).
const lockWait = 10 * time.Second

func (l *LockRows) mode() string {
	if l.spec.Mode == "" {
		return scenario.LockRow
	}
	return l.spec.Mode
}

// appName names the holding session: kind, table and mode.
func (l *LockRows) appName() string {
	return faultAppName + "/lock-rows/" + l.spec.Table + "/" + l.mode()
}

// Inject opens the holding session, begins a transaction and takes the
// lock. The session stays open, idle in that transaction, until Heal.
func (l *LockRows) Inject(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		return fmt.Errorf("inject %s: already holding its lock", l)
	}
	ictx, cancel := context.WithTimeout(ctx, sqlTimeout+lockWait)
	defer cancel()
	conn, err := l.session(ictx, l.spec.Node, l.appName())
	if err != nil {
		return fmt.Errorf("inject %s: %w", l, err)
	}
	table := pgx.Identifier{l.spec.Table}.Sanitize()
	if schema, rel, ok := strings.Cut(l.spec.Table, "."); ok {
		table = pgx.Identifier{schema, rel}.Sanitize() // a user's, as the scenario names it
	} else if l.Schema != "" {
		table = pgx.Identifier{l.Schema, l.spec.Table}.Sanitize()
	}
	var what string
	err = func() error {
		if _, err := conn.Exec(ictx, "BEGIN"); err != nil {
			return err
		}
		if _, err := conn.Exec(ictx, fmt.Sprintf("SET LOCAL lock_timeout = %d", lockWait.Milliseconds())); err != nil {
			return err
		}
		if l.mode() == scenario.LockTable {
			_, err := conn.Exec(ictx, "LOCK TABLE "+table+" IN EXCLUSIVE MODE")
			what = "an EXCLUSIVE lock on table " + l.spec.Table
			return err
		}
		var n int64
		if err := conn.QueryRow(ictx, "SELECT count(*) FROM (SELECT 1 FROM "+table+" FOR UPDATE) locked").Scan(&n); err != nil {
			return err
		}
		what = fmt.Sprintf("row locks on the %d rows of %s", n, l.spec.Table)
		return nil
	}()
	if err != nil {
		conn.Close(context.WithoutCancel(ictx))
		return fmt.Errorf("inject %s: lock %s on %s: %w", l, l.spec.Table, l.spec.Node, err)
	}
	l.conn = conn
	l.effects = append(l.effects, fmt.Sprintf("a session held %s on %s", what, l.spec.Node))
	return nil
}

// Heal rolls the holding session back, releasing the lock. A fault
// re-created from the ledger holds no session: it ends any session on the
// node still holding a lock-rows lock of its table and mode.
func (l *LockRows) Heal(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, sqlTimeout)
	defer cancel()
	if l.conn != nil {
		// Closing the session releases its lock even when the ROLLBACK
		// fails (the server ends an idle backend whose client is gone),
		// so neither error matters, and other lock-rows sessions on the
		// same table are left alone.
		conn := l.conn
		l.conn = nil
		conn.Exec(ctx, "ROLLBACK")
		conn.Close(ctx)
		return nil
	}
	conn, err := l.session(ctx, l.spec.Node, faultAppName)
	if err != nil {
		return fmt.Errorf("heal %s: %w", l, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE application_name = $1 AND pid <> pg_backend_pid()`, l.appName()).Scan(&n); err != nil {
		return fmt.Errorf("heal %s: end the sessions holding its lock on %s: %w", l, l.spec.Node, err)
	}
	return nil
}

// serverProc is one server process a kill fault may aim at.
type serverProc struct {
	pid    int32
	name   string // its slot or subscription
	busy   bool   // mid-stream or mid-transaction: the moment worth killing in
	behind int64  // bytes of WAL still to send (walsenders)
}

// findBusy runs query (pid, name, busy, behind) until the one process it
// finds is busy or busyWindow has passed, polling every poll. It returns
// what the last query found: none or several is for the caller to refuse.
func findBusy(ctx context.Context, conn *pgx.Conn, query, only string, poll time.Duration) ([]serverProc, error) {
	deadline := time.Now().Add(busyWindow)
	for {
		var ps []serverProc
		var p serverProc
		rows, err := conn.Query(ctx, query)
		if err == nil {
			_, err = pgx.ForEachRow(rows, []any{&p.pid, &p.name, &p.busy, &p.behind}, func() error {
				if only == "" || p.name == only {
					ps = append(ps, p)
				}
				return nil
			})
		}
		if err != nil {
			return nil, err
		}
		if len(ps) != 1 || ps[0].busy || time.Now().After(deadline) {
			return ps, nil
		}
		if err := sleep(ctx, poll); err != nil {
			return nil, err
		}
	}
}

// names lists the processes' slots or subscriptions for a message.
func names(ps []serverProc) string {
	n := make([]string, len(ps))
	for i, p := range ps {
		n[i] = p.name
	}
	return strings.Join(n, ", ")
}
