package faults_test

import (
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/scenario"
)

// In a three-node mesh each node has two subscriptions and serves two
// walsenders: an SQL fault on a link (peer:) acts on that link only, and
// the node's other link keeps its process and its subscription enabled.
func TestSQLFaultsActOnTheLinkTheyName(t *testing.T) {
	l := labtest.Start(t, lab.WithNodes(3))
	p1, p2, p3 := lab.Primary1, lab.Primary2, node.Primary(3)
	walsender := func(subscriber string) string {
		t.Helper()
		pid, err := query(l, p1, 5*time.Second, `SELECT coalesce((SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = $1 AND active), '')`, l.SlotOn(subscriber, p1))
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	applyWorker := func(on, publisher string) string {
		t.Helper()
		name := ""
		for _, k := range l.Links() {
			if k.Subscriber == on && k.Publisher == publisher {
				name = k.Name
			}
		}
		pid, err := query(l, on, 5*time.Second, `SELECT coalesce((SELECT st.pid::text FROM pg_stat_subscription st JOIN pg_subscription s ON s.oid = st.subid
WHERE s.subname = $1 AND st.worker_type = 'apply' AND st.pid IS NOT NULL), '')`, name)
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	enabled := func(on, publisher string) string {
		t.Helper()
		for _, k := range l.Links() {
			if k.Subscriber == on && k.Publisher == publisher {
				v, err := query(l, on, 5*time.Second, `SELECT subenabled::text FROM pg_subscription WHERE subname = $1`, k.Name)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
		}
		t.Fatalf("no link %s <- %s", on, publisher)
		return ""
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(arrival)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, arrival)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("both walsenders on primary1 streaming", func() bool { return walsender(p2) != "" && walsender(p3) != "" })

	// kill-walsender on primary1 for primary3: primary2's walsender stays.
	w2, w3 := walsender(p2), walsender(p3)
	f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultKillWalsender, Node: p1, Peer: p3})
	inject(t, f)
	heal(t, f) // waits for the new walsender
	if got := walsender(p2); got != w2 {
		t.Errorf("primary2's walsender on primary1 is %q after a kill of primary3's, want the same pid %s", got, w2)
	}
	waitFor("primary3's walsender back with a new pid", func() bool { got := walsender(p3); return got != "" && got != w3 })

	// kill-apply-worker on primary2 for its subscription to primary3.
	waitFor("primary2's apply workers running", func() bool { return applyWorker(p2, p1) != "" && applyWorker(p2, p3) != "" })
	a1, a3 := applyWorker(p2, p1), applyWorker(p2, p3)
	f = mustNew(t, l, scenario.Fault{Kind: scenario.FaultKillApplyWorker, Node: p2, Peer: p3})
	inject(t, f)
	heal(t, f)
	if got := applyWorker(p2, p1); got != a1 {
		t.Errorf("primary2's apply worker for primary1 is %q after a kill of the one for primary3, want the same pid %s", got, a1)
	}
	waitFor("primary2's apply worker for primary3 back with a new pid", func() bool { got := applyWorker(p2, p3); return got != "" && got != a3 })

	// disable-subscription on primary3 of its subscription to primary1:
	// rows of primary1 stop arriving there, primary2's still arrive.
	f = mustNew(t, l, scenario.Fault{Kind: scenario.FaultDisableSubscription, Node: p3, Peer: p1})
	inject(t, f)
	if enabled(p3, p1) != "false" || enabled(p3, p2) != "true" {
		t.Errorf("after the disable: primary3 <- primary1 enabled %s, <- primary2 enabled %s; want false and true", enabled(p3, p1), enabled(p3, p2))
	}
	from1, from2 := "peer-1-"+uniq(), "peer-2-"+uniq()
	write(t, l, p1, from1)
	write(t, l, p2, from2)
	mustArrive(t, l, p3, from2)
	mustNotArrive(t, l, p3, from1)
	heal(t, f)
	if enabled(p3, p1) != "true" {
		t.Errorf("after the heal primary3 <- primary1 is not enabled")
	}
	mustArrive(t, l, p3, from1)
}
