package faults_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// TestSQLFaultsUnderALiveWorkload runs kill-sessions and lock-rows against
// a real insert workload (two workers on primary1) and reads their effect
// from the workload's own history, by cause rather than by timing:
//
//   - kill-sessions: the workers' sessions end, so ops fail after the
//     kill and none before it; the workers reconnect and write again; no
//     acknowledged row is lost, on either node.
//   - lock-rows (mode table): an insert sent while the lock is held (from
//     the moment Inject returned to the moment Heal was called) does not
//     commit before it is released, and the inserts that waited commit
//     once it is.
func TestSQLFaultsUnderALiveWorkload(t *testing.T) {
	l := labtest.Start(t)
	ctx := t.Context()
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.jsonl")
	rec, err := workload.NewRecorder(hist)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan time.Time, 1)
	stop := make(chan struct{})
	cfg := workload.Config{
		DSN:  map[string]string{lab.Primary1: l.MustDSN(lab.Primary1), lab.Primary2: l.MustDSN(lab.Primary2)},
		Seed: 1, Stop: stop, OnStart: func(t time.Time) { started <- t },
		Workloads: []workload.Spec{{Name: "ins", Kind: scenario.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 2, Rate: 40}},
	}
	done := make(chan error, 1)
	go func() { done <- workload.Run(ctx, cfg, rec) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("workload ended before it started: %v", err)
	}
	time.Sleep(time.Second)

	kill, err := faults.New(l, scenario.Fault{Kind: scenario.FaultKillSessions, Node: lab.Primary1})
	if err != nil {
		t.Fatal(err)
	}
	killAt := time.Now()
	if err := kill.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if err := kill.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	effects := strings.Join(kill.(faults.Measured).Effects(), "; ")
	t.Logf("kill-sessions: %s", effects)
	var ended, of int
	if _, err := fmt.Sscanf(effects, "ended %d of the workloads' %d sessions", &ended, &of); err != nil || ended < 1 {
		t.Errorf("kill-sessions effects %q: want at least one workload session ended (%v)", effects, err)
	}
	time.Sleep(1500 * time.Millisecond)

	lock, err := faults.New(l, scenario.Fault{Kind: scenario.FaultLockRows, Node: lab.Primary1, Table: "pgchaos_insert", Mode: scenario.LockTable})
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	lockedFrom := time.Now() // the lock is held from before this instant
	time.Sleep(1500 * time.Millisecond)
	lockedTo := time.Now() // … until after this one
	if err := lock.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	var okAfterKill, failedAfterKill, waited, okOps, unknown int
	err = workload.ReadHistory(hist, func(op workload.Op) error {
		switch op.Outcome {
		case workload.OK:
			okOps++
			if op.Start.After(killAt) {
				okAfterKill++
			}
			// An insert sent while the lock was held cannot commit
			// before it is released. (One whose answer arrives just
			// after lockedFrom may have committed before the lock.)
			if op.Start.After(lockedFrom) && op.End.Before(lockedTo) {
				t.Errorf("an insert sent at %s committed at %s, while the table lock was held (%s to %s)", op.Start.Format(time.StampMicro),
					op.End.Format(time.StampMicro), lockedFrom.Format(time.StampMicro), lockedTo.Format(time.StampMicro))
			}
			if op.Start.Before(lockedTo) && op.End.After(lockedTo) && op.End.Sub(op.Start) > 100*time.Millisecond {
				waited++
			}
		case workload.Unknown:
			unknown++
			fallthrough
		default:
			if op.End.Before(killAt) {
				t.Errorf("op failed before any fault: %s %s %s", op.Outcome, op.SQLState, op.Error)
			} else {
				failedAfterKill++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ok %d (after the kill %d), failed or unknown after the kill %d (unknown %d), waited for the lock %d", okOps, okAfterKill, failedAfterKill, unknown, waited)
	if failedAfterKill == 0 {
		t.Error("no op failed after kill-sessions ended the workload's sessions")
	}
	if okAfterKill == 0 {
		t.Error("the workers never wrote again after kill-sessions")
	}
	if waited == 0 {
		t.Error("no insert waited for the table lock and committed after its release")
	}
	// Every acknowledged insert is on both nodes; an unknown one may be.
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		c, err := pgx.Connect(ctx, l.MustDSN(n))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		var rows int
		for {
			if err := c.QueryRow(ctx, "SELECT count(*) FROM pgchaos_insert").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows >= okOps || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close(context.WithoutCancel(ctx))
		if rows < okOps || rows > okOps+unknown {
			t.Errorf("%s holds %d rows of pgchaos_insert; %d inserts were acknowledged and %d unknown", n, rows, okOps, unknown)
		}
	}
}
