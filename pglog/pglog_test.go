package pglog

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The testdata logs come from a real two-node lab (scratch containers of
// pgchaos-local/postgres:18 and :17, subscriptions both ways, origin =
// none): concurrent updates and deletes with the subscriptions disabled,
// the same id inserted on both, a key changed into one the peer has, a
// row hitting two unique indexes, each stall skipped with the logged LSN,
// then a wrong publisher port and finally the peer killed. The counts below
// are what pg_stat_subscription_stats reported on those nodes (18) and what
// grep counts in the files.
func TestParseRealLogs(t *testing.T) {
	type first struct {
		kind, level, sub, rel, key, lsn string
		xid                             uint32
		time                            string
	}
	cases := []struct {
		file  string
		count map[string]int // Type/Kind → events
		first []first        // the first event of each kind
	}{
		{
			file: "pg18-conflicts-primary1.log",
			count: map[string]int{
				"conflict/insert_exists": 23, "conflict/update_origin_differs": 1,
				"conflict/update_missing": 2, "conflict/delete_missing": 1,
				"publisher_unreachable/": 10, "worker_started/": 39, "worker_exited/": 33,
			},
			first: []first{
				{KindUpdateOriginDiffers, "LOG", "sub_from_b", "public.test_table", "(id)=(100)", "0/17B9908", 762, "14:18:25.348"},
				{KindUpdateMissing, "LOG", "sub_from_b", "public.test_table", "(id)=(101)", "0/17B9998", 763, "14:18:25.348"},
				{KindDeleteMissing, "LOG", "sub_from_b", "public.test_table", "(id)=(102)", "0/17B9A08", 764, "14:18:25.348"},
				{KindInsertExists, "ERROR", "sub_from_b", "public.test_table", "(id)=(300)", "0/17BA580", 776, "14:18:44.335"},
			},
		},
		{
			file: "pg18-conflicts-primary2.log",
			count: map[string]int{
				"conflict/insert_exists": 12, "conflict/update_origin_differs": 1,
				"conflict/delete_origin_differs": 2, "conflict/delete_missing": 1,
				"conflict/update_exists": 5, "conflict/multiple_unique_conflicts": 6,
				"worker_started/": 29, "worker_exited/": 23,
			},
			first: []first{
				{KindUpdateOriginDiffers, "LOG", "sub_from_a", "public.test_table", "(id)=(100)", "0/17B98C8", 762, "14:18:25.422"},
				{KindDeleteOriginDiffers, "LOG", "sub_from_a", "public.test_table", "(id)=(101)", "0/17B9938", 763, "14:18:25.422"},
				{KindUpdateExists, "ERROR", "sub_from_a", "public.test_table", "(id)=(401)", "0/17C2780", 798, "14:19:02.128"},
				{KindMultipleUniqueConflicts, "ERROR", "sub_from_a", "public.u", "(id)=(5); (code)=(6)", "0/17C2930", 799, "14:19:07.125"},
			},
		},
		{
			file: "pg17-conflicts-primary1.log",
			count: map[string]int{
				"apply_error/apply_error": 7, "publisher_unreachable/": 3,
				"worker_started/": 13, "worker_exited/": 10,
			},
			first: []first{
				{KindApplyError, "ERROR", "sub_from_b", "public.test_table", "(id)=(300)", "0/1546BF8", 750, "14:19:25.499"},
			},
		},
		{
			file: "pg17-conflicts-primary2.log",
			count: map[string]int{
				"apply_error/apply_error": 7, "worker_started/": 9, "worker_exited/": 7,
			},
			first: []first{
				{KindApplyError, "ERROR", "sub_from_a", "public.test_table", "(id)=(300)", "0/1546B98", 750, "14:19:25.569"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			evs, err := Parse(f)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			seen := map[string]Event{}
			for _, e := range evs {
				got[string(e.Type)+"/"+e.Kind]++
				if _, ok := seen[e.Kind]; !ok && e.Kind != "" {
					seen[e.Kind] = e
				}
				if e.Subscription == "" {
					t.Errorf("event without subscription: %s", e.Raw)
				}
			}
			for k, n := range c.count {
				if got[k] != n {
					t.Errorf("%s: %d events, want %d", k, got[k], n)
				}
			}
			for k, n := range got {
				if _, ok := c.count[k]; !ok {
					t.Errorf("unexpected %s: %d events", k, n)
				}
			}
			for _, w := range c.first {
				e, ok := seen[w.kind]
				if !ok {
					t.Errorf("no %s event", w.kind)
					continue
				}
				if e.Level != w.level || e.Subscription != w.sub || e.Relation != w.rel || e.Key != w.key || e.FinishLSN != w.lsn || e.RemoteXID != w.xid {
					t.Errorf("first %s = level %s sub %q rel %q key %q lsn %q xid %d\nwant level %s sub %q rel %q key %q lsn %q xid %d",
						w.kind, e.Level, e.Subscription, e.Relation, e.Key, e.FinishLSN, e.RemoteXID,
						w.level, w.sub, w.rel, w.key, w.lsn, w.xid)
				}
				want, _ := time.Parse("2006-01-02 15:04:05.000", "2026-11-26 "+w.time)
				if !e.Time.Equal(want) {
					t.Errorf("first %s at %s, want %s", w.kind, e.Time, want)
				}
				if e.Stops() != (w.level == "ERROR") {
					t.Errorf("first %s: Stops() = %v at level %s", w.kind, e.Stops(), w.level)
				}
			}
		})
	}
}

func TestParseEntries(t *testing.T) {
	cases := []struct {
		name string
		log  string
		want []Event // only the fields set are compared
	}{
		{
			name: "detail continuation lines and context attach to the entry",
			log: `2026-11-26 14:18:25.337 UTC [157] LOG:  logical replication apply worker for subscription "s1" has started
2026-11-26 14:18:25.348 UTC [157] LOG:  conflict detected on relation "public.t": conflict=update_origin_differs
2026-11-26 14:18:25.348 UTC [157] DETAIL:  Updating the row that was modified locally in transaction 762 at 2026-11-26 14:18:24.552937+00.
	Existing local row (100, a); remote row (100, b); replica identity (id)=(100).
2026-11-26 14:18:25.348 UTC [157] CONTEXT:  processing remote data for replication origin "pg_16409" during message type "UPDATE" for replication target relation "public.t" in transaction 762, finished at 0/17B9908
`,
			want: []Event{
				{Type: WorkerStarted, Subscription: "s1", Worker: "apply worker", WorkerPID: 157},
				{Type: Conflict, Kind: KindUpdateOriginDiffers, Level: "LOG", Subscription: "s1", Relation: "public.t", Key: "(id)=(100)", FinishLSN: "0/17B9908", RemoteXID: 762},
			},
		},
		{
			name: "replica identity full names the whole row",
			log: `2026-11-26 14:18:25.348 UTC [157] LOG:  conflict detected on relation "public.t": conflict=delete_missing
2026-11-26 14:18:25.348 UTC [157] DETAIL:  Could not find the row to be deleted.
	Replica identity full (7, x).
`,
			want: []Event{{Type: Conflict, Kind: KindDeleteMissing, Relation: "public.t", Key: "(7, x)"}},
		},
		{
			name: "a client's duplicate key is not an apply error",
			log: `2026-11-26 14:18:36.535 UTC [194] ERROR:  duplicate key value violates unique constraint "test_table_pkey"
2026-11-26 14:18:36.535 UTC [194] DETAIL:  Key (id)=(200) already exists.
2026-11-26 14:18:36.535 UTC [194] STATEMENT:  insert into test_table(id,name) values (200,'a')
`,
			want: nil,
		},
		{
			name: "an apply error is found by its context even without the start line",
			log: `2026-11-26 14:19:25.569 UTC [128] ERROR:  duplicate key value violates unique constraint "test_table_pkey"
2026-11-26 14:19:25.569 UTC [128] DETAIL:  Key (id)=(300) already exists.
2026-11-26 14:19:25.569 UTC [128] CONTEXT:  processing remote data for replication origin "pg_16405" during message type "INSERT" for replication target relation "public.test_table" in transaction 750, finished at 0/1546b98
`,
			want: []Event{{Type: ApplyError, Kind: KindApplyError, Level: "ERROR", Relation: "public.test_table", Key: "(id)=(300)", FinishLSN: "0/1546B98", RemoteXID: 750}},
		},
		{
			name: "postgres 17 connect error and exit take the subscription from the pid",
			log: `2026-11-26 14:19:33.862 UTC [177] LOG:  logical replication apply worker for subscription "sub_from_b" has started
2026-11-26 14:19:33.864 UTC [177] ERROR:  could not connect to the publisher: connection to server at "b" (172.20.0.3), port 5999 failed: Connection refused
		Is the server running on that host and accepting TCP/IP connections?
2026-11-26 14:19:33.867 UTC [1] LOG:  background worker "logical replication apply worker" (PID 177) exited with exit code 1
`,
			want: []Event{
				{Type: WorkerStarted, Subscription: "sub_from_b"},
				{Type: PublisherUnreachable, Level: "ERROR", Subscription: "sub_from_b"},
				{Type: WorkerExited, Subscription: "sub_from_b", Worker: "apply worker", WorkerPID: 177, ExitCode: 1},
			},
		},
		{
			name: "postgres 18 connect error names the subscription",
			log:  "2026-11-26 14:19:14.611 UTC [384] ERROR:  apply worker for subscription \"sub_from_b\" could not connect to the publisher: connection refused\r\n",
			want: []Event{{Type: PublisherUnreachable, Subscription: "sub_from_b"}},
		},
		{
			name: "a restart forgets worker pids",
			log: `2026-11-26 14:19:33.862 UTC [77] LOG:  logical replication apply worker for subscription "s1" has started
2026-11-26 14:20:00.000 UTC [1] LOG:  starting PostgreSQL 18.1 (Debian 18.1-1) on x86_64-pc-linux-gnu
2026-11-26 14:20:01.000 UTC [1] LOG:  background worker "logical replication apply worker" (PID 77) exited with exit code 1
`,
			want: []Event{
				{Type: WorkerStarted, Subscription: "s1"},
				{Type: WorkerExited, Subscription: "", WorkerPID: 77, ExitCode: 1},
			},
		},
		{
			name: "entrypoint chatter and a tablesync start",
			log: `PostgreSQL init process complete; ready for start up.

2026-11-26 14:18:59.000 UTC [90] LOG:  logical replication table synchronization worker for subscription "s2", table "u" has started
`,
			want: []Event{{Type: WorkerStarted, Subscription: "s2", Worker: "table synchronization worker"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(c.log))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%d events, want %d: %+v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				g := got[i]
				check := func(field string, gv, wv any, zero bool) {
					if !zero && gv != wv {
						t.Errorf("event %d %s = %v, want %v", i, field, gv, wv)
					}
				}
				check("Type", g.Type, w.Type, false)
				check("Kind", g.Kind, w.Kind, false)
				check("Subscription", g.Subscription, w.Subscription, false)
				check("Level", g.Level, w.Level, w.Level == "")
				check("Relation", g.Relation, w.Relation, w.Relation == "")
				check("Key", g.Key, w.Key, w.Key == "")
				check("FinishLSN", g.FinishLSN, w.FinishLSN, w.FinishLSN == "")
				check("RemoteXID", g.RemoteXID, w.RemoteXID, w.RemoteXID == 0)
				check("Worker", g.Worker, w.Worker, w.Worker == "")
				check("WorkerPID", g.WorkerPID, w.WorkerPID, w.WorkerPID == 0)
				check("ExitCode", g.ExitCode, w.ExitCode, w.ExitCode == 0)
			}
		})
	}
}

func TestParseKeepsRawEntry(t *testing.T) {
	log := "2026-11-26 14:18:25.348 UTC [157] ERROR:  conflict detected on relation \"public.t\": conflict=insert_exists\n" +
		"2026-11-26 14:18:25.348 UTC [157] DETAIL:  Key already exists in unique index \"t_pkey\", modified locally in transaction 1 at 2026-11-26 14:18:24+00.\n" +
		"\tKey (id)=(3); existing local row (3, a); remote row (3, b).\n" +
		"2026-11-26 14:18:25.348 UTC [157] CONTEXT:  processing remote data for replication origin \"pg_1\" during message type \"INSERT\" for replication target relation \"public.t\" in transaction 9, finished at 0/17A5B18\n"
	evs, err := Parse(strings.NewReader(log))
	if err != nil || len(evs) != 1 {
		t.Fatalf("Parse = %v, %v", evs, err)
	}
	e := evs[0]
	if e.Raw != strings.TrimSuffix(log, "\n") {
		t.Errorf("Raw = %q", e.Raw)
	}
	if !strings.HasSuffix(e.Detail, "remote row (3, b).") || e.Key != "(id)=(3)" || e.FinishLSN != "0/17A5B18" {
		t.Errorf("Detail %q Key %q LSN %q", e.Detail, e.Key, e.FinishLSN)
	}
}
