package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Workload kinds, as the scenario file names them.
const (
	KindInsert    = "insert"
	KindUpdateHot = "update-hot"
	KindBank      = "bank"
	KindTutorial  = "tutorial"
)

// ClassMissingRow is the error class of an update that found no row to
// change: a hot row or an account gone missing on the node that served it.
const ClassMissingRow = "missing_row"

// InitialBalance is each bank account's balance after seeding; a node's
// total must stay accounts × InitialBalance.
const InitialBalance = 1000

// Workload is one kind of operation. Tables are created by DDL on
// every primary, seeded by Seed, and written by Op, which must classify
// its own outcome (Worker.finish) because only it knows whether the
// statement that commits was sent.
type Workload interface {
	// DDL is idempotent DDL for the workload's tables, run on each primary
	// of a lab ("" for none). On a target pgchaos target setup runs it.
	DDL() string
	// Seed writes the rows the workload starts from on the first node
	// (seedOrder: primary1 in a lab) and waits until every other node in
	// nodes shows them. Re-seeding resets
	// them, so a reused lab starts clean.
	Seed(ctx context.Context, nodes map[string]*pgx.Conn) error
	// Op performs one operation on conn and returns it, outcome included.
	// ctx ends when the op's time is up (Config.OpTimeout) or the run is
	// cut short; pass it to every call, as with any pgx call.
	Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op
}

// Worker is one client of a workload on one target: its identity, its own
// random source and its sequence of ops.
type Worker struct {
	Workload string // the workload's name
	Kind     string
	Target   string
	ID       int        // from 0 within (workload, target)
	RunID    string     // makes insert keys unique across runs on one lab
	Rand     *rand.Rand // this worker's alone: deterministic for a seed
	seq      int64
}

// NewWorker returns worker id of (workload, target) with its random source
// derived from the run's seed: PCG seeded with (seed, FNV-1a 64 of
// "workload\x00target\x00id"). The same seed gives every worker the same
// sequence of choices in every run.
func NewWorker(seed int64, runID, workload, kind, target string, id int) *Worker {
	return &Worker{
		Workload: workload, Kind: kind, Target: target, ID: id, RunID: runID,
		Rand: rand.New(rand.NewPCG(uint64(seed), workerStream(workload, target, id))),
	}
}

// workerStream is FNV-1a 64 over workload, target and the worker number.
func workerStream(workload, target string, id int) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, s := range []string{workload, "\x00", target, "\x00", strconv.Itoa(id)} {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
	}
	return h
}

// Seq is the number of ops this worker has begun.
func (w *Worker) Seq() int64 { return w.seq }

// begin starts an op: identity filled, clock started, sequence advanced.
func (w *Worker) begin() Op {
	w.seq++
	return Op{Workload: w.Workload, Kind: w.Kind, Worker: w.ID, Target: w.Target, Start: time.Now()}
}

// finish stops the op's clock and classifies err; see Classify for sent.
func (w *Worker) finish(op *Op, err error, sent bool) {
	op.End = time.Now()
	if errors.Is(err, pgx.ErrNoRows) {
		op.Outcome, op.Class, op.Error = Fail, ClassMissingRow, "no row matched"
		op.ServedBy = ""
		return
	}
	op.Outcome, op.Class, op.SQLState = Classify(err, sent)
	if err != nil {
		op.Error = err.Error()
		op.ServedBy = "" // only an answer tells who served
	}
}

// Insert writes unique rows keyed <run>/<workload>/<target>/<worker>/<seq>:
// every acknowledged key must be on both nodes after convergence.
type Insert struct {
	Name   string
	Schema string // where its table is: "" = the session's search_path (a lab), else qualified (a target's pgchaos)
}

// DDL implements Workload.
func (i Insert) DDL() string {
	return inSchema(i.Schema, `CREATE TABLE IF NOT EXISTS pgchaos_insert (
    id text PRIMARY KEY,
    workload text NOT NULL,
    target text NOT NULL,
    worker int NOT NULL,
    seq bigint NOT NULL,
    payload text,
    served_by text DEFAULT current_setting('cluster_name'),
    created_at timestamptz DEFAULT clock_timestamp()
)`)
}

// Seed implements Workload: inserts start from nothing.
func (Insert) Seed(context.Context, map[string]*pgx.Conn) error { return nil }

const insertSQL = `INSERT INTO pgchaos_insert (id, workload, target, worker, seq, payload)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING served_by`

// insertStmt names insertSQL prepared on a connection.
const insertStmt = "pgchaos_insert"

// Op implements Workload. The INSERT is prepared apart from its execution
// (once per connection; later calls find it prepared), so a failure to
// prepare is known not to have sent it: Fail, where a lost answer to the
// INSERT itself is Unknown.
func (i Insert) Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op {
	op := w.begin()
	key := InsertKey(w.RunID, w.Workload, w.Target, w.ID, w.seq)
	op.Keys = []string{key}
	if _, err := conn.Prepare(ctx, insertStmt, inSchema(i.Schema, insertSQL)); err != nil {
		w.finish(&op, fmt.Errorf("prepare: %w", err), false)
		return op
	}
	payload := strconv.FormatUint(w.Rand.Uint64(), 16)
	err := conn.QueryRow(ctx, insertStmt, key, w.Workload, w.Target, w.ID, w.seq, payload).Scan(&op.ServedBy)
	w.finish(&op, err, true)
	return op
}

// InsertKey is the primary key the insert workload writes.
func InsertKey(runID, workload, target string, worker int, seq int64) string {
	return string(appendInsertKey(make([]byte, 0, len(runID)+len(workload)+len(target)+24), runID, workload, target, worker, seq))
}

func appendInsertKey(b []byte, runID, workload, target string, worker int, seq int64) []byte {
	if runID != "" {
		b = append(b, runID...)
		b = append(b, '/')
	}
	b = append(b, workload...)
	b = append(b, '/')
	b = append(b, target...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(worker), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, seq, 10)
	return b
}

// UpdateHot increments counters on a few hot rows from every target: the
// classic lost-update and conflict generator. Keys are the row ids.
type UpdateHot struct {
	Name   string
	Rows   int    // hot rows, ids 1..Rows
	Schema string // as Insert.Schema
}

// DDL implements Workload.
func (u UpdateHot) DDL() string {
	return inSchema(u.Schema, `CREATE TABLE IF NOT EXISTS pgchaos_counter (
    workload text NOT NULL,
    id int NOT NULL,
    n bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (workload, id)
)`)
}

// Seed implements Workload: counters 1..Rows at 0.
func (u UpdateHot) Seed(ctx context.Context, nodes map[string]*pgx.Conn) error {
	return seedRows(ctx, nodes, u.Name, "update-hot", qualify(u.Schema, "pgchaos_counter"), "n", u.Rows, 0)
}

const updateHotSQL = `UPDATE pgchaos_counter SET n = n + 1 WHERE workload = $1 AND id = $2
RETURNING current_setting('cluster_name')`

// Op implements Workload.
func (u UpdateHot) Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op {
	op := w.begin()
	id := w.Rand.IntN(u.Rows) + 1
	op.Keys = []string{strconv.Itoa(id)}
	err := conn.QueryRow(ctx, inSchema(u.Schema, updateHotSQL), w.Workload, id).Scan(&op.ServedBy)
	w.finish(&op, err, true)
	return op
}

// Bank moves money between Accounts accounts in one transaction; every
// node's total must stay Accounts × InitialBalance. Keys are the two
// account ids, lower first.
type Bank struct {
	Name     string
	Accounts int
	Schema   string // as Insert.Schema
}

// DDL implements Workload.
func (b Bank) DDL() string {
	return inSchema(b.Schema, `CREATE TABLE IF NOT EXISTS pgchaos_bank (
    workload text NOT NULL,
    id int NOT NULL,
    balance bigint NOT NULL,
    PRIMARY KEY (workload, id)
)`)
}

// Seed implements Workload: accounts 1..Accounts at InitialBalance.
func (b Bank) Seed(ctx context.Context, nodes map[string]*pgx.Conn) error {
	return seedRows(ctx, nodes, b.Name, "bank", qualify(b.Schema, "pgchaos_bank"), "balance", b.Accounts, InitialBalance)
}

const bankSQL = `UPDATE pgchaos_bank SET balance = balance + $3 WHERE workload = $1 AND id = $2
RETURNING current_setting('cluster_name')`

// Op implements Workload. The two UPDATEs go as one pgx batch: one round
// trip, one implicit transaction (a single Sync), so the transfer is atomic
// without BEGIN/COMMIT trips. The lower id is updated first on every
// worker, so transfers never deadlock each other.
func (b Bank) Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op {
	op := w.begin()
	lo, hi, loDelta := transfer(w.Rand, b.Accounts)
	op.Keys = []string{strconv.Itoa(lo), strconv.Itoa(hi)}
	var batch pgx.Batch
	sql := inSchema(b.Schema, bankSQL)
	batch.Queue(sql, w.Workload, lo, loDelta)
	batch.Queue(sql, w.Workload, hi, -loDelta)
	br := conn.SendBatch(ctx, &batch)
	var servedLo, servedHi string
	err := br.QueryRow().Scan(&servedLo)
	if err == nil {
		err = br.QueryRow().Scan(&servedHi)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	op.ServedBy = servedLo
	w.finish(&op, err, true)
	return op
}

// transfer picks two distinct accounts of 1..accounts and an amount of
// 1..100 moved from one to the other, and returns them lower id first with
// the lower account's change (the higher one gets its opposite).
func transfer(rnd *rand.Rand, accounts int) (lo, hi int, loDelta int64) {
	from := rnd.IntN(accounts) + 1
	to := rnd.IntN(accounts-1) + 1
	if to >= from {
		to++
	}
	amount := int64(rnd.IntN(100) + 1)
	if from < to {
		return from, to, -amount
	}
	return to, from, amount
}

// Tutorial inserts into the tutorial's test_table exactly as the tutorial
// does, letting the table's own id (serial, interleaved or uuid, as the lab
// was built) pick the key. Keys are the returned ids.
type Tutorial struct{ Name string }

// DDL implements Workload: the lab already made test_table; this is the
// tutorial's definition for a database that lacks it.
func (Tutorial) DDL() string {
	return `CREATE TABLE IF NOT EXISTS test_table (
    id serial PRIMARY KEY,
    name text,
    created_at timestamptz DEFAULT now()
)`
}

// Seed implements Workload: nothing to seed.
func (Tutorial) Seed(context.Context, map[string]*pgx.Conn) error { return nil }

const tutorialSQL = `INSERT INTO test_table (name) VALUES ($1) RETURNING id::text, current_setting('cluster_name')`

// Op implements Workload.
func (Tutorial) Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op {
	op := w.begin()
	name := InsertKey(w.RunID, w.Workload, w.Target, w.ID, w.seq)
	var id string
	err := conn.QueryRow(ctx, tutorialSQL, name).Scan(&id, &op.ServedBy)
	if err == nil {
		op.Keys = []string{id}
	}
	w.finish(&op, err, true)
	return op
}

// seedWait is how long Seed waits for seeded rows to replicate.
const seedWait = 30 * time.Second

// seedRows sets rows 1..n of one workload to value on the first node
// (seedOrder), removes the workload's rows beyond n, and waits until every
// other node shows the same. Writing on one node only keeps setup from
// making conflicts of its own. It writes only the workload's own rows of
// table (the qualified name of a built-in table, see qualify).
func seedRows(ctx context.Context, nodes map[string]*pgx.Conn, name, kind, table, column string, n int, value int64) error {
	first, _ := seedOrder(nodes)
	p1, ok := nodes[first]
	if !ok {
		return fmt.Errorf("%s %q setup: no node to seed its rows on", kind, name)
	}
	least := 1
	if kind == KindBank {
		least = 2 // a transfer needs two accounts
	}
	if n < least {
		return fmt.Errorf("%s %q setup: rows must be at least %d, got %d", kind, name, least, n)
	}
	tbl := table
	col := pgx.Identifier{column}.Sanitize()
	seed := fmt.Sprintf(`INSERT INTO %s (workload, id, %s) SELECT $1, g, $3 FROM generate_series(1, $2::int) g
ON CONFLICT (workload, id) DO UPDATE SET %s = EXCLUDED.%s`, tbl, col, col, col)
	if _, err := p1.Exec(ctx, seed, name, n, value); err != nil {
		return fmt.Errorf("%s %q setup: seed %s on %s: %w", kind, name, table, first, err)
	}
	if _, err := p1.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE workload = $1 AND id > $2`, tbl), name, n); err != nil {
		return fmt.Errorf("%s %q setup: trim %s on %s: %w", kind, name, table, first, err)
	}
	check := fmt.Sprintf(`SELECT count(*) FILTER (WHERE %s = $3 AND id BETWEEN 1 AND $2), count(*) FROM %s WHERE workload = $1`, col, tbl)
	return waitSeeded(ctx, nodes, kind, name, n, check, name, n, value)
}

// waitSeeded waits until every node but the first (seedOrder) shows the
// n rows the first seeded: check counts, with args, the rows that are as
// seeded and all rows of the workload. Every other node must show them
// before any worker starts.
func waitSeeded(ctx context.Context, nodes map[string]*pgx.Conn, kind, name string, n int, check string, args ...any) error {
	first, others := seedOrder(nodes)
	for _, other := range others {
		c := nodes[other]
		deadline := time.Now().Add(seedWait)
		for {
			var good, all int
			if err := c.QueryRow(ctx, check, args...).Scan(&good, &all); err != nil {
				return fmt.Errorf("%s %q setup: check seeded rows on %s: %w", kind, name, other, err)
			}
			if good == n && all == n {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %q setup: %d of %d seeded rows reached %s within %s: is replication from %s running? (pgchaos lab status, or pgchaos target check)", kind, name, good, n, other, seedWait, first)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s %q setup: waiting for seeded rows on %s: %w", kind, name, other, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// seedOrder is the node that seeds (primary1 in a lab; on a target, whose
// nodes have the user's names, the first by name) and the others, in
// order.
func seedOrder(nodes map[string]*pgx.Conn) (first string, others []string) {
	names := primariesIn(nodes)
	if len(names) == 0 {
		names = sortedNodes(nodes)
	}
	if len(names) == 0 {
		return "", nil
	}
	return names[0], names[1:]
}

// inSchema qualifies the built-in table names in one of the workloads'
// statements with schema; "" leaves the statement as written (a lab's
// tables, found through the session's search_path). Every built-in
// statement names its table after a space, as " pgchaos_insert": on a
// target the workloads' sessions keep the user's search_path, so the name
// is qualified rather than left to it.
func inSchema(schema, sql string) string {
	if schema == "" {
		return sql
	}
	return strings.ReplaceAll(sql, " pgchaos_", " "+qualify(schema, "")+"pgchaos_")
}

// qualify is table in schema, as SQL names it ("" schema: the bare name;
// table "" gives the prefix "schema.").
func qualify(schema, table string) string {
	if schema == "" {
		return table
	}
	if !plainIdent.MatchString(schema) {
		schema = pgx.Identifier{schema}.Sanitize()
	}
	return schema + "." + table
}

// plainIdent is a name SQL takes without quotes (pgchaos's schema is one,
// and its setup SQL shows it so).
var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
