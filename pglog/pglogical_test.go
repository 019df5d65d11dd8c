package pglog

import (
	"os"
	"strings"
	"testing"
)

// The testdata/pglogical-*.log files are the logs of a real two-node
// pglogical 2.4.8 lab on PostgreSQL 18.6: one row updated on both nodes with
// the subscriptions disabled, then enabled, once each under keep_local,
// apply_remote and error (where both apply workers then fail and retry).
func TestParsePglogicalLogsFindsConflictsResolutionsAndTheStall(t *testing.T) {
	for _, tc := range []struct {
		file, sub string
	}{
		{"pglogical-conflicts-primary1.log", "sub_from_primary2"},
		{"pglogical-conflicts-primary2.log", "sub_from_primary1"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			evs, err := Parse(f)
			if err != nil {
				t.Fatal(err)
			}
			var resolutions []string
			var applyErrs, started, exited int
			for _, e := range evs {
				switch e.Type {
				case Conflict:
					if e.Kind != KindUpdateUpdate || e.Relation != "public.test_table" || e.Subscription != tc.sub || e.Level != "LOG" {
						t.Errorf("conflict %+v: want update_update on public.test_table by %s at LOG", e, tc.sub)
					}
					if e.Stops() {
						t.Errorf("a resolved conflict does not stop the worker: %s", e.Raw)
					}
					resolutions = append(resolutions, e.Resolution)
				case ApplyError:
					applyErrs++
					if !e.Stops() || e.Subscription != tc.sub || e.Message != "cannot apply conflicting row" {
						t.Errorf("apply error %+v: want a stopping error of %s", e, tc.sub)
					}
					if e.FinishLSN == "" || e.Relation != "public.test_table" || e.RemoteXID == 0 {
						t.Errorf("apply error lacks its context: lsn %q relation %q xid %d", e.FinishLSN, e.Relation, e.RemoteXID)
					}
				case WorkerStarted:
					started++
					if e.Subscription != tc.sub {
						t.Errorf("worker started for %q, want %q", e.Subscription, tc.sub)
					}
				case WorkerExited:
					exited++
					if e.Subscription != tc.sub || e.ExitCode != 1 {
						t.Errorf("worker exit %+v: want %s with code 1", e, tc.sub)
					}
				}
			}
			if got := strings.Join(resolutions, ","); got != "keep_local,apply_remote" {
				t.Errorf("resolutions %q, want keep_local,apply_remote", got)
			}
			if applyErrs != 2 || exited != 2 || started < 4 {
				t.Errorf("apply errors %d, worker exits %d, starts %d: want 2, 2, at least 4", applyErrs, exited, started)
			}
		})
	}
}

// Kinds by remote action and local row, on pglogical's own wording.
func TestParsePglogicalConflictKinds(t *testing.T) {
	for _, tc := range []struct{ line, kind, resolution string }{
		{"CONFLICT: remote INSERT on relation public.t (local index t_pkey). Resolution: apply_remote.", KindInsertInsert, "apply_remote"},
		{"CONFLICT: remote UPDATE on relation public.t (local index t_pkey). Resolution: keep_local.", KindUpdateUpdate, "keep_local"},
		{"CONFLICT: remote UPDATE on relation public.t replica identity index t_pkey (tuple not found). Resolution: skip.", KindUpdateDelete, "skip"},
		{"CONFLICT: remote DELETE on relation public.t replica identity index t_pkey (tuple not found). Resolution: skip.", KindDeleteDelete, "skip"},
	} {
		evs, err := Parse(strings.NewReader("2026-12-06 01:01:38.168 UTC [91] LOG:  " + tc.line + "\n"))
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %d events, %v", tc.line, len(evs), err)
		}
		if e := evs[0]; e.Type != Conflict || e.Kind != tc.kind || e.Resolution != tc.resolution || e.Relation != "public.t" {
			t.Errorf("%s: got %s/%s/%s/%s", tc.line, e.Type, e.Kind, e.Resolution, e.Relation)
		}
	}
}
