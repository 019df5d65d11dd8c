package observe

import (
	"os"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/pglog"
)

// A pglogical lab under the error resolver: both apply workers fail on the
// same remote transaction and are restarted (testdata from a real lab, see
// pglog/pglogical_test.go). Each subscriber is stalled, with the LSN
// pglogical.alter_subscription_skip_changes_upto takes.
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
