package faults_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/scenario"
)

// In a three-node mesh primary1 has two subscribers. Natively both
// subscriptions are called sub_from_primary1 (so are their walsenders'
// application_name); pglogical's are named per pair. A delay on
// primary1->primary2 must reconnect only primary2's subscription through
// the proxy: primary3's walsender on primary1 keeps its process and its
// direct connection through inject and heal.
func TestLinkDelayInAMeshReconnectsOnlyItsLink(t *testing.T) {
	for _, engine := range []string{lab.EngineNative, lab.EnginePglogical} {
		t.Run(engine, func(t *testing.T) { linkDelayInAMesh(t, engine) })
	}
}

func linkDelayInAMesh(t *testing.T, engine string) {
	l := labtest.Start(t, lab.WithNodes(3), lab.WithEngine(engine, ""))
	e := l.Replication()
	primary3 := node.Primary(3)
	// walsender is the pid and client address of the walsender on primary1
	// streaming to sub ("" when none streams).
	walsender := func(sub string) (pid, addr string) {
		t.Helper()
		s, err := query(l, lab.Primary1, 5*time.Second, `SELECT r.pid::text || ' ' || host(r.client_addr)
FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
WHERE s.slot_name = $1 AND r.state = 'streaming'`, e.SlotOn(sub, lab.Primary1))
		if errors.Is(err, pgx.ErrNoRows) {
			return "", ""
		}
		if err != nil {
			t.Fatal(err)
		}
		pid, addr, _ = strings.Cut(s, " ")
		return pid, addr
	}
	// waitFrom waits until primary1's walsender for sub connects from addr.
	waitFrom := func(sub, addr string) {
		t.Helper()
		deadline := time.Now().Add(arrival)
		for {
			if _, got := walsender(sub); got == addr {
				return
			}
			if time.Now().After(deadline) {
				_, got := walsender(sub)
				t.Fatalf("walsender on primary1 for %s connects from %q, want %q", sub, got, addr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	p1, p2, p3 := labIP(t, l, lab.Primary1), labIP(t, l, lab.Primary2), labIP(t, l, primary3)
	waitFrom(primary3, p3)
	pid3, _ := walsender(primary3)

	f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultDelay, Between: []string{lab.Primary1, lab.Primary2},
		Direction: scenario.Dir(lab.Primary1, lab.Primary2), Delay: 100 * time.Millisecond})
	inject(t, f)
	if _, addr := walsender(lab.Primary2); addr != p1 {
		t.Errorf("after inject primary2 streams from primary1 via %q, want the proxy (%s)", addr, p1)
	}
	if pid, addr := walsender(primary3); pid != pid3 || addr != p3 {
		t.Errorf("after inject primary3's walsender on primary1 is pid %q from %q, want the same pid %s, direct from %s: the delay on primary1->primary2 cut primary1->primary3",
			pid, addr, pid3, p3)
	}

	heal(t, f)
	waitFrom(lab.Primary2, p2)
	if pid, addr := walsender(primary3); pid != pid3 || addr != p3 {
		t.Errorf("after heal primary3's walsender on primary1 is pid %q from %q, want the same pid %s, direct from %s", pid, addr, pid3, p3)
	}
	name := "mesh-" + uniq()
	write(t, l, lab.Primary1, name)
	mustArrive(t, l, lab.Primary2, name)
	mustArrive(t, l, primary3, name)
	if swept, err := faults.HealLab(ctxT(t, 2*time.Minute), l, t.TempDir()); err != nil || len(swept) != 0 {
		t.Errorf("after heal the sweep still found %q (%v), want nothing", swept, err)
	}
}
