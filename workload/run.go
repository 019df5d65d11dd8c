package workload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/pgchaos/pgchaos/node"
)

// Spec is one workload of a run.
type Spec struct {
	Name        string   // unique within the run; keys and rows carry it
	Kind        string   // KindInsert, KindUpdateHot, KindBank, KindTutorial, KindListAppend, KindRWRegister or KindSQL
	Targets     []string // primary1, primary2, haproxy: each must have a DSN
	Concurrency int      // workers per target (at least 1)
	Rate        float64  // ops/s per target, all its workers together; 0 = unlimited
	Rows        int      // update-hot's hot rows, bank's accounts (default 10)
	Keys        int      // list-append's lists, rw-register's registers at a time (default DefaultKeys)
	Isolation   string   // list-append, rw-register: ReadCommitted (default), RepeatableRead or Serializable
	Scripts     []Script // sql: the scripts, each with its weight
	// Schema holds the built-in kinds' tables: "" for the session's
	// search_path (a lab's public), TargetSchema on a user's nodes, where
	// pgchaos target setup made them. Config.Schema sets it for every spec.
	Schema string
}

// Config is a run of workloads.
type Config struct {
	Workloads []Spec
	DSN       map[string]string // target → DSN; the nodes (Nodes) get the tables
	// Nodes are the replicating nodes among DSN's targets, in order: where
	// tables are created and scripts checked. Default: DSN's primaryN.
	Nodes     []string
	Seed      int64         // every worker's random source derives from it (NewWorker)
	RunID     string        // prefix of insert keys; default: the start time in base 36
	OpTimeout time.Duration // per operation; default DefaultOpTimeout
	// OnStart, when set, is called once the tables are ready, just before
	// the workers start: t is second 0 of the recorder's timeline.
	OnStart func(t time.Time)
	// Stop, when closed, ends the run gracefully: workers start no new op
	// and let the ones in flight finish (within OpTimeout), so the end of a
	// run leaves no artificial unknowns in the history. Cancelling Run's
	// ctx instead cuts ops short (Ctrl-C).
	Stop <-chan struct{}
	// Log, when set, receives what the user should know before second 0:
	// a target whose connections could not all be opened.
	Log func(format string, args ...any)
	// TxnDir receives the anomaly history of each list-append or
	// rw-register workload (TxnPath); required when there is one.
	TxnDir string
	// Schema, when set, is where the built-in kinds' tables are (a
	// target's pgchaos): statements name them qualified, and Setup neither
	// creates them nor refreshes a subscription (pgchaos target setup did
	// both, with the user's leave); it only seeds the workloads' own rows.
	Schema string
}

// DefaultOpTimeout bounds one operation when Config.OpTimeout is 0.
const DefaultOpTimeout = 5 * time.Second

// Default rows of update-hot and accounts of bank.
const DefaultRows = 10

// Backoff after a lost connection: doubling from backoffMin to backoffMax,
// reset by the next ok op.
const (
	backoffMin = 50 * time.Millisecond
	backoffMax = time.Second
)

// ApplicationName is the application_name of pgchaos's workload sessions on
// a target: pg_stat_activity tells them apart, and the kill-sessions fault
// ends them by their prefix "pgchaos/" (faults.WorkloadAppPrefix), which no
// other session of pgchaos has.
func ApplicationName(target string) string { return "pgchaos/" + target }

// New returns the workload a spec describes.
func New(s Spec) (Workload, error) {
	if s.Schema != "" && s.Kind == KindTutorial {
		return nil, fmt.Errorf("workload %q: tutorial writes the tutorial's test_table, which on a target is the user's: use kind insert (its table is pgchaos's own)", s.Name)
	}
	rows := s.Rows
	if rows == 0 {
		rows = DefaultRows
	}
	switch s.Kind {
	case KindInsert:
		return Insert{Name: s.Name, Schema: s.Schema}, nil
	case KindUpdateHot:
		return UpdateHot{Name: s.Name, Rows: rows, Schema: s.Schema}, nil
	case KindBank:
		if rows < 2 {
			return nil, fmt.Errorf("workload %q: bank needs at least 2 accounts, got rows: %d", s.Name, rows)
		}
		return Bank{Name: s.Name, Accounts: rows, Schema: s.Schema}, nil
	case KindTutorial:
		return Tutorial{Name: s.Name}, nil
	case KindListAppend, KindRWRegister:
		return newTxnWorkload(s, discardTxns())
	case KindSQL:
		return newSQL(s)
	}
	return nil, fmt.Errorf("workload %q: unknown kind %q (kinds: insert, update-hot, bank, tutorial, list-append, rw-register, sql)", s.Name, s.Kind)
}

// newTxnWorkload makes a list-append or rw-register workload recording its
// transactions in log.
func newTxnWorkload(s Spec, log *TxnLog) (Workload, error) {
	keys := s.Keys
	if keys == 0 {
		keys = DefaultKeys
	}
	if keys < 1 {
		return nil, fmt.Errorf("workload %q: keys must be at least 1, got %d", s.Name, keys)
	}
	iso, err := isoLevel(s.Isolation)
	if err != nil {
		return nil, fmt.Errorf("workload %q: %w", s.Name, err)
	}
	if s.Kind == KindListAppend {
		return ListAppend{Name: s.Name, Keys: keys, Isolation: iso, Schema: s.Schema, log: log}, nil
	}
	return RWRegister{Name: s.Name, Keys: keys, Isolation: iso, Schema: s.Schema, log: log, slots: newRegisterSlots(keys)}, nil
}

func (c *Config) check() error {
	if len(c.Workloads) == 0 {
		return errors.New("workloads: none to run")
	}
	names := make(map[string]bool)
	for _, s := range c.Workloads {
		if s.Name == "" || names[s.Name] {
			return fmt.Errorf("workload names must be unique and not empty, got %q twice or empty", s.Name)
		}
		names[s.Name] = true
		if s.Concurrency < 1 {
			return fmt.Errorf("workload %q: concurrency must be at least 1, got %d", s.Name, s.Concurrency)
		}
		if s.Rate < 0 {
			return fmt.Errorf("workload %q: rate must be >= 0 (0 = unlimited), got %v", s.Name, s.Rate)
		}
		if len(s.Targets) == 0 {
			return fmt.Errorf("workload %q: no targets", s.Name)
		}
		for _, t := range s.Targets {
			if c.DSN[t] == "" {
				return fmt.Errorf("workload %q: target %q has no DSN", s.Name, t)
			}
		}
	}
	return nil
}

// Setup creates every workload's tables on each primary named in cfg.DSN,
// refreshes the subscriptions so the new tables replicate, and seeds the
// workloads' rows. It is idempotent: a reused lab is reset, not duplicated.
// Run calls it; call it alone to prepare a lab without running.
func Setup(ctx context.Context, cfg Config) error {
	wls, err := cfg.build()
	if err != nil {
		return err
	}
	return setup(ctx, cfg, wls)
}

// build checks the config and makes its workloads, in order.
func (c *Config) build() ([]Workload, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	wls := make([]Workload, len(c.Workloads))
	for i, s := range c.Workloads {
		if c.Schema != "" {
			s.Schema = c.Schema
		}
		w, err := New(s)
		if err != nil {
			return nil, err
		}
		wls[i] = w
	}
	return wls, nil
}

func setup(ctx context.Context, cfg Config, wls []Workload) error {
	nodes := make(map[string]*pgx.Conn)
	defer func() {
		for _, c := range nodes {
			c.Close(context.WithoutCancel(ctx))
		}
	}()
	primaries := cfg.Nodes
	if len(primaries) == 0 {
		primaries = primariesIn(cfg.DSN)
	}
	for _, n := range primaries {
		dsn, ok := cfg.DSN[n]
		if !ok {
			continue
		}
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return fmt.Errorf("workload setup: connect to %s: %w (is the lab up? pgchaos lab status)", n, err)
		}
		nodes[n] = c
	}
	if len(nodes) == 0 {
		return errors.New("workload setup: no primary in the DSN map (want primary1, primary2, …)")
	}
	created := false
	for _, n := range primaries {
		c := nodes[n]
		if c == nil {
			continue
		}
		if cfg.Schema != "" {
			break // a target: pgchaos target setup made the tables
		}
		seen := make(map[string]bool)
		for _, w := range wls {
			ddl := w.DDL()
			if ddl == "" || seen[ddl] {
				continue
			}
			seen[ddl] = true
			if _, err := c.Exec(ctx, ddl); err != nil {
				return fmt.Errorf("workload setup: create tables on %s: %w", n, err)
			}
			created = true
		}
	}
	// New tables replicate only once each subscriber refreshes; before
	// that, their changes are skipped by the apply worker. Every node of a
	// lab holds a subscription to each other node, all named sub_from_….
	// Without new tables (sql workloads) there is nothing to refresh, and
	// a user's subscriptions (a target's) are left alone.
	for _, n := range primaries {
		c := nodes[n]
		if c == nil || !created {
			continue
		}
		rows, err := c.Query(ctx, `SELECT subname::text FROM pg_subscription
WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND subname LIKE 'sub\_from\_%' ORDER BY subname`)
		if err != nil {
			return fmt.Errorf("workload setup: look up subscriptions on %s: %w", n, err)
		}
		subs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("workload setup: look up subscriptions on %s: %w", n, err)
		}
		// None: a single database, not a lab: nothing to refresh.
		for _, sub := range subs {
			if _, err := c.Exec(ctx, `ALTER SUBSCRIPTION `+pgx.Identifier{sub}.Sanitize()+` REFRESH PUBLICATION WITH (copy_data = false)`); err != nil {
				return fmt.Errorf("workload setup: refresh subscription %s on %s: %w (is its publisher up?)", sub, n, err)
			}
		}
	}
	for _, w := range wls {
		if err := w.Seed(ctx, nodes); err != nil {
			return err
		}
	}
	// Statements the user wrote are checked on one primary, once the
	// tables exist, before any worker starts.
	for _, n := range primaries {
		c := nodes[n]
		if c == nil {
			continue
		}
		var errs []error
		for _, w := range wls {
			if ch, ok := w.(checker); ok {
				errs = append(errs, ch.check(ctx, n, c))
			}
		}
		return errors.Join(errs...)
	}
	return nil
}

// Run sets the workloads up, then runs their workers until ctx is done,
// recording every op in rec. Database errors, lost connections and
// timeouts are recorded, never returned: Run returns an error only for a
// bad config or a failed setup. The caller closes rec.
func Run(ctx context.Context, cfg Config, rec *Recorder) error {
	wls, err := cfg.build()
	if err != nil {
		return err
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	if err := setup(ctx, cfg, wls); err != nil {
		return err
	}
	logs, err := openTxnLogs(cfg, wls)
	defer func() {
		for _, l := range logs {
			if cerr := l.Close(); cerr != nil && cfg.Log != nil {
				cfg.Log("%v", cerr)
			}
		}
	}()
	if err != nil {
		return err
	}
	perTarget := make(map[string]int)
	for _, s := range cfg.Workloads {
		for _, t := range s.Targets {
			perTarget[t] += s.Concurrency
		}
	}
	pools, err := openPools(ctx, cfg.DSN, perTarget)
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	if err != nil {
		return err
	}
	for _, s := range warm(ctx, pools, perTarget, cfg.OpTimeout) {
		if cfg.Log != nil {
			cfg.Log("%s: %d of %d connections open after %s (%v); its workers start anyway, retry and record what fails",
				s.target, s.opened, s.want, s.waited.Round(time.Millisecond), s.err)
		}
	}
	return runWorkers(ctx, cfg, wls, pools, rec)
}

// openTxnLogs creates the anomaly history of each transactional workload
// and points the workload (wls[i]) at it. On error it returns the logs
// opened so far, for the caller to close.
func openTxnLogs(cfg Config, wls []Workload) ([]*TxnLog, error) {
	var logs []*TxnLog
	for i, s := range cfg.Workloads {
		if !IsTxnKind(s.Kind) {
			continue
		}
		if cfg.TxnDir == "" {
			return logs, fmt.Errorf("workload %q: %s needs a directory for its transaction history (Config.TxnDir)", s.Name, s.Kind)
		}
		l, err := CreateTxnLog(TxnPath(cfg.TxnDir, s.Name))
		if err != nil {
			return logs, err
		}
		logs = append(logs, l)
		if cfg.Schema != "" {
			s.Schema = cfg.Schema
		}
		if wls[i], err = newTxnWorkload(s, l); err != nil {
			return logs, err
		}
	}
	return logs, nil
}

// openPools makes one pool per target, sized for all its workers. On error
// it returns the pools made so far, for the caller to close.
func openPools(ctx context.Context, dsn map[string]string, perTarget map[string]int) (map[string]*pgxpool.Pool, error) {
	pools := make(map[string]*pgxpool.Pool)
	for t, n := range perTarget {
		pc, err := pgxpool.ParseConfig(dsn[t])
		if err != nil {
			return pools, fmt.Errorf("target %s: bad DSN: %w", t, err)
		}
		pc.MaxConns = int32(n)
		pc.MinConns = 0
		pc.ConnConfig.RuntimeParams["application_name"] = ApplicationName(t)
		p, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			return pools, fmt.Errorf("target %s: pool: %w", t, err)
		}
		pools[t] = p
	}
	return pools, nil
}

// runWorkers starts second 0 of the timeline and runs every worker until
// ctx ends or cfg.Stop closes, and waits for them all.
func runWorkers(ctx context.Context, cfg Config, wls []Workload, pools map[string]*pgxpool.Pool, rec *Recorder) error {
	runID := cfg.RunID
	start := time.Now()
	if runID == "" {
		runID = strconv.FormatInt(start.UnixMilli(), 36)
	}
	rec.SetOrigin(start)
	// soft ends when Stop closes (or ctx ends): workers stop taking new ops.
	soft, stopSoft := context.WithCancel(ctx)
	defer stopSoft()
	if cfg.Stop != nil {
		go func() {
			select {
			case <-cfg.Stop:
			case <-soft.Done():
			}
			stopSoft()
		}()
	}
	if cfg.OnStart != nil {
		cfg.OnStart(start)
	}
	var g errgroup.Group
	for i, s := range cfg.Workloads {
		for _, t := range slices.Clone(s.Targets) {
			var pace *pacer
			if s.Rate > 0 {
				pace = newPacer(start, s.Rate)
			}
			for id := range s.Concurrency {
				loop := workerLoop{
					wl: wls[i], w: NewWorker(cfg.Seed, runID, s.Name, s.Kind, t, id),
					pool: pools[t], pace: pace, rec: rec, timeout: cfg.OpTimeout,
				}
				g.Go(func() error { loop.run(ctx, soft); return nil })
			}
		}
	}
	return g.Wait()
}

// warm opens every worker's connection before second 0, so the timeline
// starts with the clients ready: connecting (SCRAM, a backend forked per
// session) is not counted in the first seconds' ops/s and latencies, as
// pgbench leaves its initial connection time out of its tps. A target that
// cannot be reached within timeout is left to its workers, which record
// what fails; warm returns such targets, in name order, so the user learns
// why second 0 came late.
func warm(ctx context.Context, pools map[string]*pgxpool.Pool, perTarget map[string]int, timeout time.Duration) []shortfall {
	t0 := time.Now()
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []*pgxpool.Conn
	short := make(map[string]*shortfall)
	for t, n := range perTarget {
		for range n {
			wg.Go(func() {
				c, err := pools[t].Acquire(actx)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					held = append(held, c)
					return
				}
				s := short[t]
				if s == nil {
					s = &shortfall{target: t, want: n, opened: n, err: err}
					short[t] = s
				}
				s.opened--
			})
		}
	}
	wg.Wait()
	waited := time.Since(t0)
	for _, c := range held {
		c.Release() // idle in its pool until a worker takes it
	}
	var out []shortfall
	for _, s := range short {
		s.waited = waited
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b shortfall) int { return strings.Compare(a.target, b.target) })
	return out
}

// shortfall is a target whose connections warm could not all open.
type shortfall struct {
	target       string
	opened, want int
	waited       time.Duration // how long warm waited, for all targets
	err          error         // the first failure
}

// workerLoop is one worker's life: hold a connection, run ops on it at the
// schedule's pace, drop it and back off when it breaks.
type workerLoop struct {
	wl      Workload
	w       *Worker
	pool    *pgxpool.Pool
	pace    *pacer
	rec     *Recorder
	timeout time.Duration
	conn    *pgxpool.Conn // held between ops; nil after it broke
	backoff time.Duration // the wait after the next failure to connect or lost connection
}

// run loops until soft ends; ops themselves run under ctx, so an op in
// flight when soft ends completes (or times out) and is recorded as it was.
func (l *workerLoop) run(ctx, soft context.Context) {
	defer func() {
		if l.conn != nil {
			l.conn.Release()
		}
	}()
	for {
		// A slot can fall due at the very instant the run stops (a run's
		// duration is often a multiple of 1/rate): check again, or an op
		// would start on a dead context.
		if err := l.pace.wait(soft); err != nil || soft.Err() != nil {
			return
		}
		if l.conn == nil {
			ok, stopped := l.connect(ctx)
			if stopped {
				return
			}
			if !ok {
				if !l.wait(soft) {
					return
				}
				continue
			}
		}
		op := l.op(ctx)
		l.rec.Record(op)
		if op.Outcome == OK {
			l.backoff = 0
			continue
		}
		if soft.Err() != nil {
			return
		}
		if connectionLost(op.Class) || l.conn.Conn().IsClosed() {
			l.conn.Release() // the pool destroys a closed or busy connection
			l.conn = nil
			if !l.wait(soft) {
				return
			}
		}
	}
}

// connect takes a connection from the pool within the op timeout. A
// failure is recorded as a failed op (nothing was sent); stopped means ctx
// ended while connecting, and nothing is recorded.
func (l *workerLoop) connect(ctx context.Context) (ok, stopped bool) {
	op := l.w.begin()
	actx, cancel := context.WithTimeout(ctx, l.timeout)
	c, err := l.pool.Acquire(actx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, true
		}
		l.w.finish(&op, err, false)
		l.rec.Record(op)
		return false, false
	}
	l.conn = c
	return true, false
}

// op runs one op on the held connection, bounded by the op timeout and by
// ctx.
func (l *workerLoop) op(ctx context.Context) Op {
	octx, cancel := context.WithTimeout(ctx, l.timeout)
	op := l.wl.Op(octx, l.conn.Conn(), l.w)
	cancel()
	if op.Outcome != OK && ctx.Err() != nil && !definiteServerError(op) {
		// The run stopped under this op: whatever it did is unknown,
		// and it is not a failure of the database.
		op.Outcome, op.Class = Unknown, ClassCanceled
	}
	return op
}

// wait backs off after a failure, doubling each time; false means soft
// ended meanwhile.
func (l *workerLoop) wait(soft context.Context) bool {
	l.backoff = nextBackoff(l.backoff)
	return sleep(soft, l.backoff)
}

// definiteServerError is an ERROR reply: the server rolled the op back.
func definiteServerError(op Op) bool {
	return op.SQLState != "" && op.Outcome == Fail
}

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return backoffMin
	}
	return min(2*d, backoffMax)
}

// sleep waits d or until ctx is done; false means ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Table is one of the built-in kinds' tables.
type Table struct {
	Name string // qualified as the schema asked: "pgchaos.pgchaos_insert", or bare
	DDL  string // CREATE TABLE IF NOT EXISTS, as a lab runs it
}

// Tables are the built-in kinds' tables in schema ("" for bare names),
// each with the DDL a lab runs: pgchaos target setup creates the same
// tables in a target's schema pgchaos. The heartbeat is not one (package
// observe owns it); the tutorial's test_table is not either (on a target
// it is the user's).
func Tables(schema string) []Table {
	wls := []Workload{Insert{Schema: schema}, UpdateHot{Schema: schema}, Bank{Schema: schema},
		RWRegister{Schema: schema}, ListAppend{Schema: schema}}
	names := []string{"pgchaos_insert", "pgchaos_counter", "pgchaos_bank", "pgchaos_register", "pgchaos_list"}
	out := make([]Table, len(wls))
	for i, w := range wls {
		out[i] = Table{Name: qualify(schema, names[i]), DDL: w.DDL()}
	}
	return out
}

// TableOf is the built-in table kind writes ("" for a kind with none of
// its own: sql, tutorial).
func TableOf(kind string) string {
	return map[string]string{KindInsert: "pgchaos_insert", KindUpdateHot: "pgchaos_counter", KindBank: "pgchaos_bank",
		KindRWRegister: "pgchaos_register", KindListAppend: "pgchaos_list"}[kind]
}

// primariesIn returns the primaries among nodes' names, in order
// (primary1, primary2, …): the lab's nodes without the load balancer.
func primariesIn[T any](nodes map[string]T) []string {
	var out []string
	for n := range nodes {
		if _, ok := node.PrimaryIndex(n); ok {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := node.PrimaryIndex(out[i])
		b, _ := node.PrimaryIndex(out[j])
		return a < b
	})
	return out
}
