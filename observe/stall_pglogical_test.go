package observe

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/pglog"
)

// A pglogical lab under the error resolver: both apply workers fail on the
// same remote transaction and are restarted (testdata from a real lab, see
// pglog/pglogical_test.go). Each subscriber is stalled, with the LSN
// past which the subscriber's replication origin is advanced to skip it.
func TestDetectStallsOnPglogicalErrorResolver(t *testing.T) {
	logs := map[string][]pglog.Event{}
	var last time.Time
	for node, file := range map[string]string{"primary1": "pglogical-conflicts-primary1.log", "primary2": "pglogical-conflicts-primary2.log"} {
		f, err := os.Open("../pglog/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := pglog.Parse(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		logs[node] = evs
		if tm := evs[len(evs)-1].Time; tm.After(last) {
			last = tm
		}
	}
	stalls := DetectStalls(StallInput{Logs: logs, End: last.Add(time.Second)})
	want := map[string]string{"primary1": "sub_from_primary2", "primary2": "sub_from_primary1"}
	// The commit LSN of each peer's update, as the CONTEXT lines name it.
	lsn := map[string]string{"primary1": "0/188C0A8", "primary2": "0/188C088"}
	if len(stalls) != 2 {
		t.Fatalf("got %d stalls, want one per node: %+v", len(stalls), stalls)
	}
	for _, s := range stalls {
		if want[s.Node] != s.Subscription || s.SkipLSN != lsn[s.Node] || s.Resolved || s.Error != "cannot apply conflicting row" {
			t.Errorf("stall %+v: want %s stuck at %s on \"cannot apply conflicting row\", unresolved", s, want[s.Node], lsn[s.Node])
		}
	}
}

// pglogical's manager may leave a failed apply worker down for minutes: one
// failure with no worker started since is a stall once a retry would have
// come; a failure followed by a worker that runs is not.
func TestDetectStallsOneFailureNotRetried(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 1, 23, 18, 0, time.UTC)
	failing := []pglog.Event{
		{Time: t0, Type: pglog.WorkerStarted, Worker: "pglogical apply worker", Subscription: "s", PID: 9},
		{Time: t0.Add(80 * time.Millisecond), Type: pglog.ApplyError, Kind: pglog.KindApplyError, Level: "ERROR", Subscription: "s", PID: 9,
			Message: "cannot apply conflicting row", FinishLSN: "0/188B808"},
		{Time: t0.Add(100 * time.Millisecond), Type: pglog.WorkerExited, Worker: "pglogical apply worker", Subscription: "s", WorkerPID: 9, ExitCode: 1},
	}
	for _, tc := range []struct {
		name   string
		events []pglog.Event
		end    time.Duration
		want   int
	}{
		{"down longer than a retry", failing, 30 * time.Second, 1},
		{"just failed", failing, time.Second, 0},
		{"restarted and running", append(slices.Clone(failing),
			pglog.Event{Time: t0.Add(5 * time.Second), Type: pglog.WorkerStarted, Worker: "pglogical apply worker", Subscription: "s", PID: 10}), 30 * time.Second, 0},
	} {
		got := DetectStalls(StallInput{Logs: map[string][]pglog.Event{"primary1": tc.events}, End: t0.Add(tc.end)})
		if len(got) != tc.want {
			t.Errorf("%s: %d stalls, want %d: %+v", tc.name, len(got), tc.want, got)
		}
		if tc.want == 1 && (got[0].SkipLSN != "0/188B808" || got[0].Resolved) {
			t.Errorf("%s: %+v: want unresolved at 0/188B808", tc.name, got[0])
		}
	}
}
