package workload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/anomaly"
)

// Transactional workload kinds: their transactions are recorded, with the
// values each read returned and each write wrote, in a history of their
// own (TxnPath) that package anomaly checks after the run.
const (
	KindListAppend = "list-append"
	KindRWRegister = "rw-register"
)

// Isolation levels a transactional workload runs at.
const (
	ReadCommitted  = "read-committed"
	RepeatableRead = "repeatable-read"
	Serializable   = "serializable"
)

// DefaultKeys is the key space of list-append and rw-register when the
// scenario names none: small, so that transactions meet on the same keys.
const DefaultKeys = 32

// isoLevel maps an isolation name to pgx's; "" is read committed, the
// server's default.
func isoLevel(name string) (pgx.TxIsoLevel, error) {
	switch name {
	case "", ReadCommitted:
		return pgx.ReadCommitted, nil
	case RepeatableRead:
		return pgx.RepeatableRead, nil
	case Serializable:
		return pgx.Serializable, nil
	}
	return "", fmt.Errorf("isolation %q is not %s, %s or %s", name, ReadCommitted, RepeatableRead, Serializable)
}

// IsTxnKind tells whether kind records an anomaly history.
func IsTxnKind(kind string) bool { return kind == KindListAppend || kind == KindRWRegister }

// TxnPath is the anomaly history of transactional workload name in dir.
// One file per workload, because each has its own key space.
func TxnPath(dir, name string) string {
	return filepath.Join(dir, "txns-"+name+".jsonl")
}

// TxnLog writes one workload's transactions as anomaly.Txn lines and hands
// out what must be unique across all its workers: transaction ids and
// written values. It is safe for concurrent use.
type TxnLog struct {
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	err   error
	ids   atomic.Int64
	vals  atomic.Int64
	count int
}

// CreateTxnLog creates (or truncates) the history at path.
func CreateTxnLog(path string) (*TxnLog, error) {
	return openTxnLog(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
}

// AppendTxnLog opens the history at path to add transactions (the final
// reads), continuing its ids after the largest one in it.
func AppendTxnLog(path string) (*TxnLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("anomaly history: %w", err)
	}
	h, err := anomaly.ReadHistory(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("anomaly history %s: %w", path, err)
	}
	l, err := openTxnLog(path, os.O_APPEND|os.O_WRONLY)
	if err != nil {
		return nil, err
	}
	for _, t := range h {
		if t.ID > l.ids.Load() {
			l.ids.Store(t.ID)
		}
	}
	return l, nil
}

func openTxnLog(path string, flag int) (*TxnLog, error) {
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("anomaly history: %w", err)
	}
	return &TxnLog{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// nextValue is a value no other write of this workload wrote: the checker
// needs every written value unique per key to name a read's writer.
func (l *TxnLog) nextValue() int64 { return l.vals.Add(1) }

// discardTxns is the log of a workload made without a file (New): it
// hands out ids and values and writes nothing.
func discardTxns() *TxnLog { return &TxnLog{} }

// Record gives t the next id and writes it.
func (l *TxnLog) Record(t anomaly.Txn) {
	t.ID = l.ids.Add(1)
	if l.w == nil {
		return
	}
	b, err := json.Marshal(&t)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.err = errors.Join(l.err, err)
		return
	}
	l.w.Write(b)
	l.w.WriteByte('\n')
	l.count++
}

// Len is the number of transactions recorded through l.
func (l *TxnLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

// Close flushes and closes the file, returning the first error.
func (l *TxnLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.err
	if ferr := l.w.Flush(); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if cerr := l.f.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("anomaly history %s: %w", l.f.Name(), err)
	}
	return nil
}

// microOps picks 1 to 4 micro-operations on keys 1..keys: each a write
// (append or register write, with a fresh value from next) or a read, at
// even odds. SQL-free, so the mix is tested alone.
func microOps(rnd *rand.Rand, keys int, write, read anomaly.Func, next func() int64) []anomaly.Op {
	n := rnd.IntN(4) + 1
	ops := make([]anomaly.Op, n)
	for i := range ops {
		k := rnd.IntN(keys) + 1
		if rnd.IntN(2) == 0 {
			ops[i] = anomaly.Op{F: write, Key: k, Value: next()}
		} else {
			ops[i] = anomaly.Op{F: read, Key: k}
		}
	}
	return ops
}

// opKeys is the history.jsonl keys of a transaction: its distinct keys.
func opKeys(ops []anomaly.Op) []string {
	out := make([]string, 0, len(ops))
	seen := make(map[int]bool, len(ops))
	for _, o := range ops {
		if !seen[o.Key] {
			seen[o.Key] = true
			out = append(out, strconv.Itoa(o.Key))
		}
	}
	return out
}

// stepFunc runs micro-operation o of a transaction (filling a read's
// result into o) and returns the node that served it.
type stepFunc func(ctx context.Context, tx pgx.Tx, o *anomaly.Op) (servedBy string, err error)

// runTxn runs ops as one transaction at iso, records it in log and returns
// its history.jsonl op. Anything that fails before COMMIT is sent rolls the
// transaction back: Fail. COMMIT's own lost answer is Unknown (Classify).
func runTxn(ctx context.Context, conn *pgx.Conn, w *Worker, log *TxnLog, iso pgx.TxIsoLevel, ops []anomaly.Op, step stepFunc) Op {
	op := w.begin()
	op.Keys = opKeys(ops)
	txn := anomaly.Txn{Worker: w.ID, Target: w.Target, Start: op.Start, Ops: ops}
	err, sent := doTxn(ctx, conn, iso, ops, step, &op.ServedBy)
	w.finish(&op, err, sent)
	txn.End = op.End
	txn.ServedBy = op.ServedBy
	switch op.Outcome {
	case OK:
		txn.Outcome = anomaly.OK
	case Fail:
		txn.Outcome = anomaly.Fail
	default:
		txn.Outcome = anomaly.Unknown
	}
	log.Record(txn)
	return op
}

func doTxn(ctx context.Context, conn *pgx.Conn, iso pgx.TxIsoLevel, ops []anomaly.Op, step stepFunc, servedBy *string) (err error, sent bool) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		return fmt.Errorf("begin: %w", err), false
	}
	for i := range ops {
		by, err := step(ctx, tx, &ops[i])
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = tx.Rollback(rctx)
			cancel()
			return err, false
		}
		if *servedBy == "" {
			*servedBy = by
		}
	}
	return tx.Commit(ctx), true
}

// FinalReads reads, on each primary of nodes, every key of each
// transactional workload of cfg in one transaction marked final, and adds
// them to the workload's history in cfg.TxnDir. Call it once the nodes
// have converged: lost appends are judged against these reads.
func FinalReads(ctx context.Context, cfg Config, nodes map[string]*pgx.Conn) error {
	var errs []error
	for _, s := range cfg.Workloads {
		if !IsTxnKind(s.Kind) {
			continue
		}
		if cfg.Schema != "" {
			s.Schema = cfg.Schema
		}
		wl, err := New(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fr, ok := wl.(finalReader)
		if !ok {
			continue
		}
		log, err := AppendTxnLog(TxnPath(cfg.TxnDir, s.Name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := fr.finalReads(ctx, nodes, log); err != nil {
			errs = append(errs, fmt.Errorf("workload %q final reads: %w", s.Name, err))
		}
		if err := log.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// finalReader is a transactional workload's final read of every key.
type finalReader interface {
	finalReads(ctx context.Context, nodes map[string]*pgx.Conn, log *TxnLog) error
}

// finalTxn runs read in one read-only repeatable-read transaction on node
// and records it as a final read.
func finalTxn(ctx context.Context, node string, conn *pgx.Conn, log *TxnLog, read func(pgx.Tx) ([]anomaly.Op, error)) error {
	t := anomaly.Txn{Worker: -1, Target: node, Final: true, Start: time.Now()}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", node, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := tx.QueryRow(ctx, `SELECT current_setting('cluster_name')`).Scan(&t.ServedBy); err != nil {
		return fmt.Errorf("%s: %w", node, err)
	}
	if t.Ops, err = read(tx); err != nil {
		return fmt.Errorf("%s: %w", node, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: commit: %w", node, err)
	}
	t.End = time.Now()
	t.Outcome = anomaly.OK
	log.Record(t)
	return nil
}
