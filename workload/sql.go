package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/sqlscript"
)

// KindSQL runs the user's own transaction scripts (package sqlscript).
const KindSQL = "sql"

// ClassScript is the error class of a script's own arithmetic failing at
// run time (a \set dividing by a variable that is 0, an overflow): the
// script rolled back, and no server was at fault.
const ClassScript = "script_error"

// Script is one script of a sql workload and how often it runs.
type Script struct {
	Name   string            // as the scenario names it; history.jsonl's "script"
	Script *sqlscript.Script // parsed
	Weight int               // relative share of executions, at least 1
}

// SQL runs, for each op, one of Scripts chosen by weight with the
// worker's random source, as one transaction; each op is one execution.
//
// The node that served it is asked in the round trip of COMMIT: a
// SELECT current_setting('cluster_name') goes with the COMMIT (or the
// script's final ROLLBACK) in one pipelined batch. The connection's
// ParameterStatus cannot tell it: cluster_name is not a reported setting.
type SQL struct {
	Name    string
	Scripts []Script
	total   int
}

func newSQL(s Spec) (SQL, error) {
	q := SQL{Name: s.Name, Scripts: s.Scripts}
	if len(s.Scripts) == 0 {
		return q, fmt.Errorf("workload %q: a sql workload needs at least one script", s.Name)
	}
	for _, sc := range s.Scripts {
		if sc.Script == nil || sc.Weight < 1 {
			return q, fmt.Errorf("workload %q: script %q: needs a parsed script and a weight of at least 1, got weight %d", s.Name, sc.Name, sc.Weight)
		}
		q.total += sc.Weight
	}
	return q, nil
}

// DDL implements Workload: the scripts write the user's tables.
func (SQL) DDL() string { return "" }

// Seed implements Workload: nothing to seed.
func (SQL) Seed(context.Context, map[string]*pgx.Conn) error { return nil }

// pick chooses a script: script i with probability weight_i / total.
func (q SQL) pick(rnd *rand.Rand) int {
	n := rnd.IntN(q.total)
	for i, sc := range q.Scripts {
		if n < sc.Weight {
			return i
		}
		n -= sc.Weight
	}
	return len(q.Scripts) - 1
}

// Op implements Workload: one execution of one script.
func (q SQL) Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op {
	sc := q.Scripts[q.pick(w.Rand)]
	op := w.begin()
	op.Script = sc.Name
	err, sent := runScript(ctx, conn, sc.Script, w.Rand, &op.ServedBy)
	w.finish(&op, err, sent)
	var ee *sqlscript.EvalError
	if errors.As(err, &ee) {
		op.Class = ClassScript
	}
	return op
}

// runScript executes s once as one transaction. sent tells whether the
// statement that could commit may have reached the server (Classify).
// Statements are prepared once per connection under a name derived from
// their SQL, and variables go as bind parameters, never spliced in.
func runScript(ctx context.Context, conn *pgx.Conn, s *sqlscript.Script, rnd *rand.Rand, servedBy *string) (err error, sent bool) {
	vars := make([]int64, len(s.Vars))
	var args []any
	last := -1 // the last statement: a wrapped script commits after it
	for i, st := range s.Steps {
		if st.Kind == sqlscript.Statement {
			last = i
		}
	}
	ended := false // the transaction is over, as the script wrote
	defer func() {
		if err != nil && !ended {
			rollbackOpen(ctx, conn)
		}
	}()
	at := func(st *sqlscript.Step, err error) error { return fmt.Errorf("%s:%d: %w", s.File, st.Line, err) }
	if s.Wrapped {
		if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
			return fmt.Errorf("begin: %w", err), false
		}
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		switch st.Kind {
		case sqlscript.Set:
			v, err := st.Expr.Eval(vars, rnd)
			if err != nil {
				return at(st, err), false
			}
			vars[st.Var] = v
		case sqlscript.Sleep:
			if !sleep(ctx, st.SleepFor(vars)) && !ended {
				return at(st, ctx.Err()), false
			}
		case sqlscript.Statement:
			switch st.Control {
			case sqlscript.Begin:
				if _, err := conn.Exec(ctx, st.SQL); err != nil {
					return at(st, err), false
				}
			case sqlscript.Commit, sqlscript.Rollback:
				ended = true
				by, err := endTxn(ctx, conn, st.SQL)
				if err != nil {
					return at(st, err), st.Control == sqlscript.Commit
				}
				*servedBy = by
			default:
				if _, err := conn.Prepare(ctx, st.Name, st.SQL); err != nil {
					return at(st, fmt.Errorf("prepare: %w", err)), false
				}
				args = args[:0]
				for _, slot := range st.Args {
					args = append(args, param(vars[slot]))
				}
				if _, err := conn.Exec(ctx, st.Name, args...); err != nil {
					return at(st, err), false
				}
			}
			if i == last && s.Wrapped {
				ended = true
				by, err := endTxn(ctx, conn, "COMMIT")
				if err != nil {
					return fmt.Errorf("commit: %w", err), true
				}
				*servedBy = by
			}
		}
	}
	return nil, true
}

const servedBySQL = `SELECT current_setting('cluster_name')`

// endTxn sends the node's name query and the transaction's end (COMMIT or
// ROLLBACK) in one round trip.
func endTxn(ctx context.Context, conn *pgx.Conn, end string) (string, error) {
	var b pgx.Batch
	b.Queue(servedBySQL)
	b.Queue(end)
	br := conn.SendBatch(ctx, &b)
	var by string
	err := br.QueryRow().Scan(&by)
	if _, eerr := br.Exec(); err == nil {
		err = eerr
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return by, err
}

// rollbackOpen rolls back a transaction a failed script left open, so the
// connection is clean for the next op; a broken connection is left to the
// worker, which drops it.
func rollbackOpen(ctx context.Context, conn *pgx.Conn) {
	if conn.IsClosed() || conn.PgConn().TxStatus() == 'I' {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_, _ = conn.Exec(rctx, "ROLLBACK")
}

// param is a script variable as a bind parameter. A variable is an
// integer, but the server may infer any type for its parameter (an
// integer column, numeric, text for 'x' || :id): param encodes into each.
type param int64

// Int64Value lets param encode into int2, int4, int8 and numeric.
func (p param) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(p), Valid: true}, nil
}

// Float64Value lets param encode into float4 and float8.
func (p param) Float64Value() (pgtype.Float8, error) {
	return pgtype.Float8{Float64: float64(p), Valid: true}, nil
}

// TextValue lets param encode into text and varchar.
func (p param) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: strconv.FormatInt(int64(p), 10), Valid: true}, nil
}

// check prepares every statement of every script on conn (the server
// parses and plans it, nothing runs), so a statement the server refuses
// stops the run before any workload starts, at its file:line, instead of
// failing every execution. A refusal is bad input (exit 2); a lost
// connection is not.
func (q SQL) check(ctx context.Context, node string, conn *pgx.Conn) error {
	var bad []error
	for _, sc := range q.Scripts {
		for _, st := range sc.Script.Steps {
			if st.Kind != sqlscript.Statement {
				continue
			}
			_, err := conn.Prepare(ctx, "", st.SQL)
			if err == nil {
				continue
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				return fmt.Errorf("workload %q: check %s:%d on %s: %w", q.Name, sc.Script.File, st.Line, node, err)
			}
			bad = append(bad, fmt.Errorf("%s:%d: %s refused this statement of workload %q: %s (SQLSTATE %s): fix the statement (pgchaos prepares every statement once before the workloads start)",
				sc.Script.File, st.Line, node, q.Name, pe.Message, pe.Code))
		}
	}
	return exitcode.BadInputErr(errors.Join(bad...))
}

// checker is a workload that checks its statements on a node after setup.
type checker interface {
	check(ctx context.Context, node string, conn *pgx.Conn) error
}
