package observe

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
)

func stallReadLog(t *testing.T, file string) []pglog.Event {
	t.Helper()
	f, err := os.Open("../pglog/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ev, err := pglog.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func stallAt(hms string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.000", "2026-11-26 "+hms)
	if err != nil {
		panic(err)
	}
	return t
}

// The real logs (see pglog/testdata): every stall there was skipped with
// ALTER SUBSCRIPTION … SKIP at the logged LSN, so each is resolved.
func TestDetectStallsRealLogs(t *testing.T) {
	cases := []struct {
		file string
		want []reports.Stall
	}{
		{"pg18-conflicts-primary1.log", []reports.Stall{
			{Node: "n", Subscription: "sub_from_b", Since: stallAt("14:18:44.335"), SkipLSN: "0/17BA580", Resolved: true,
				Error: `conflict detected on relation "public.test_table": conflict=insert_exists (key (id)=(300))`},
			{Node: "n", Subscription: "sub_from_b", Since: stallAt("14:19:02.057"), SkipLSN: "0/17C2A28", Resolved: true,
				Error: `conflict detected on relation "public.test_table": conflict=insert_exists (key (id)=(401))`},
			{Node: "n", Subscription: "sub_from_b", Since: stallAt("14:19:07.051"), SkipLSN: "0/17C2C98", Resolved: true,
				Error: `conflict detected on relation "public.u": conflict=insert_exists (key (id)=(5))`},
		}},
		{"pg18-conflicts-primary2.log", []reports.Stall{
			{Node: "n", Subscription: "sub_from_a", Since: stallAt("14:18:44.395"), SkipLSN: "0/17BA2E0", Resolved: true,
				Error: `conflict detected on relation "public.test_table": conflict=insert_exists (key (id)=(300))`},
			{Node: "n", Subscription: "sub_from_a", Since: stallAt("14:19:02.128"), SkipLSN: "0/17C2780", Resolved: true,
				Error: `conflict detected on relation "public.test_table": conflict=update_exists (key (id)=(401))`},
			{Node: "n", Subscription: "sub_from_a", Since: stallAt("14:19:07.125"), SkipLSN: "0/17C2930", Resolved: true,
				Error: `conflict detected on relation "public.u": conflict=multiple_unique_conflicts (key (id)=(5); (code)=(6))`},
		}},
		{"pg17-conflicts-primary1.log", []reports.Stall{
			{Node: "n", Subscription: "sub_from_b", Since: stallAt("14:19:25.499"), SkipLSN: "0/1546BF8", Resolved: true,
				Error: `duplicate key value violates unique constraint "test_table_pkey" (key (id)=(300))`},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ev := stallReadLog(t, c.file)
			got := DetectStalls(StallInput{Logs: map[string][]pglog.Event{"n": ev}, End: ev[len(ev)-1].Time.Add(5 * time.Second)})
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("DetectStalls =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

func TestDetectStallsCases(t *testing.T) {
	t0 := stallAt("14:00:00.000")
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	fail := func(ms int, lsn string) pglog.Event {
		return pglog.Event{Time: at(ms), Level: "ERROR", Type: pglog.Conflict, Kind: pglog.KindInsertExists,
			Subscription: "s", FinishLSN: lsn, Message: "conflict detected", Key: "(id)=(1)"}
	}
	start := func(ms int) pglog.Event {
		return pglog.Event{Time: at(ms), Level: "LOG", Type: pglog.WorkerStarted, Worker: "apply worker", Subscription: "s"}
	}
	sample := func(ms int, running bool, errs int64) SubSample {
		return SubSample{Node: "p2", Subscription: "s", At: at(ms), Enabled: true, WorkerRunning: running, ApplyErrors: errs}
	}
	stalled := reports.Stall{Node: "p2", Subscription: "s", Since: at(0), SkipLSN: "0/1", Error: "conflict detected (key (id)=(1))"}
	resolved := stalled
	resolved.Resolved = true
	cases := []struct {
		name string
		in   StallInput
		want []reports.Stall
	}{
		{"one error then success is no stall",
			StallInput{Logs: map[string][]pglog.Event{"p2": {fail(0, "0/1"), start(1000)}}, End: at(9000)}, nil},
		{"repeating and still failing at the end",
			StallInput{Logs: map[string][]pglog.Event{"p2": {fail(0, "0/1"), start(1000), fail(1010, "0/1"), start(2000)}}, End: at(2500)},
			[]reports.Stall{stalled}},
		{"repeating, then the worker ran long enough",
			StallInput{Logs: map[string][]pglog.Event{"p2": {fail(0, "0/1"), start(1000), fail(1010, "0/1"), start(2000)}}, End: at(4500)},
			[]reports.Stall{resolved}},
		{"samples show the worker running after the log ends",
			StallInput{Logs: map[string][]pglog.Event{"p2": {fail(0, "0/1"), fail(1010, "0/1")}},
				Subs: []SubSample{sample(500, false, 1), sample(1500, false, 2), sample(2500, true, 2), sample(3500, true, 2)}, End: at(3600)},
			[]reports.Stall{resolved}},
		{"a different transaction failing means it got past the first",
			StallInput{Logs: map[string][]pglog.Event{"p2": {fail(0, "0/1"), fail(1000, "0/1"), fail(2000, "0/2")}}, End: at(2100)},
			[]reports.Stall{resolved}},
		{"samples alone: errors rising, no log",
			StallInput{Subs: []SubSample{sample(0, true, 0), sample(1000, false, 1), sample(2000, false, 2), sample(3000, false, 3)}},
			[]reports.Stall{{Node: "p2", Subscription: "s", Since: at(0),
				Error: "apply_error_count rising while the apply worker restarts (no matching log entry)"}}},
		{"samples covered by the log are not reported twice",
			StallInput{Logs: map[string][]pglog.Event{"p2": {fail(0, "0/1"), fail(1010, "0/1")}},
				Subs: []SubSample{sample(0, true, 0), sample(1000, false, 1), sample(2000, false, 2)}, End: at(2100)},
			[]reports.Stall{stalled}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DetectStalls(c.in)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("DetectStalls =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

func TestLoggedConflictsRealLog(t *testing.T) {
	// pg_stat_subscription_stats on that node read, at the end:
	// apply_error_count 23, confl_insert_exists 23, update_origin_differs 1,
	// update_missing 2, delete_missing 1.
	got := LoggedConflicts("primary1", stallReadLog(t, "pg18-conflicts-primary1.log"))
	want := []reports.ConflictCount{
		{Node: "primary1", Kind: "apply_error", Count: 23},
		{Node: "primary1", Kind: "delete_missing", Count: 1},
		{Node: "primary1", Kind: "insert_exists", Count: 23},
		{Node: "primary1", Kind: "update_missing", Count: 2},
		{Node: "primary1", Kind: "update_origin_differs", Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoggedConflicts =\n%+v\nwant\n%+v", got, want)
	}
	samples := LogSamples("primary1", stallReadLog(t, "pg18-conflicts-primary1.log"), 2)
	var ins []string
	for _, s := range samples {
		if s.Kind == "insert_exists" {
			ins = append(ins, s.Key+"@"+s.LSN)
		}
	}
	// The stalled transaction repeats 5+ times in the log; samples show it once.
	if !reflect.DeepEqual(ins, []string{"(id)=(300)@0/17BA580", "(id)=(401)@0/17C2A28"}) {
		t.Errorf("insert_exists samples = %v", ins)
	}
}
