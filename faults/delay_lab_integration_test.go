package faults_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/observe"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
)

// TestLinkDelayKnownAnswer is the lag known-answer test (issue 5) for the
// link delay, which works without netem: the delayed direction's measured
// p50 sits just above the delay, the other direction is untouched, and
// after the heal replication is direct again with nothing left behind.
func TestLinkDelayKnownAnswer(t *testing.T) {
	l := labtest.Start(t)
	pools := map[string]*pgxpool.Pool{}
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		p, err := pgxpool.New(ctxT(t, 10*time.Second), l.MustDSN(n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[n] = p
	}

	t.Run("200ms on primary1->primary2: p50 there in 200-240ms, primary2->primary1 below 50ms", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultDelay, Between: linkBoth, Direction: scenario.DirOneToTwo, Delay: 200 * time.Millisecond})
		inject(t, f)
		// Inject returned: the subscription streams through the proxy.
		wantWalsender(t, l, lab.Primary1, true)
		wantWalsender(t, l, lab.Primary2, false)
		lag := measureLag(t, l, pools, 6*time.Second, 200*time.Millisecond)
		slow, fast := direction(t, lag, lab.Primary1, lab.Primary2), direction(t, lag, lab.Primary2, lab.Primary1)
		t.Logf("primary1->primary2: p50 %s p95 %s max %s (%d samples); primary2->primary1: p50 %s p95 %s (%d samples)",
			slow.P50.D(), slow.P95.D(), slow.Max.D(), slow.Samples, fast.P50.D(), fast.P95.D(), fast.Samples)
		if p50 := slow.P50.D(); p50 < 200*time.Millisecond || p50 > 240*time.Millisecond {
			t.Errorf("primary1->primary2 p50 = %s, want within 200-240ms", p50)
		}
		if p50 := fast.P50.D(); p50 >= 50*time.Millisecond {
			t.Errorf("primary2->primary1 p50 = %s, want below 50ms (that direction is not delayed)", p50)
		}
		heal(t, f)
		healedDirect(t, l)
	})

	t.Run("jitter varies the delay around its mean", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultDelay, Between: linkBoth, Direction: scenario.DirTwoToOne,
			Delay: 100 * time.Millisecond, Jitter: 50 * time.Millisecond})
		inject(t, f)
		lag := measureLag(t, l, pools, 4*time.Second, 150*time.Millisecond)
		slow, fast := direction(t, lag, lab.Primary2, lab.Primary1), direction(t, lag, lab.Primary1, lab.Primary2)
		t.Logf("primary2->primary1: p50 %s p95 %s max %s; primary1->primary2: p50 %s", slow.P50.D(), slow.P95.D(), slow.Max.D(), fast.P50.D())
		// Each chunk waits 50-150ms, never reordered: the median lies near
		// the mean, and the spread shows (without jitter p95-p50 is ~1ms).
		if p50 := slow.P50.D(); p50 < 75*time.Millisecond || p50 > 150*time.Millisecond {
			t.Errorf("primary2->primary1 p50 = %s, want near 100ms (75-150ms)", p50)
		}
		if spread := slow.P95.D() - slow.P50.D(); spread < 15*time.Millisecond {
			t.Errorf("primary2->primary1 p95-p50 = %s: the jitter has no effect", spread)
		}
		if p50 := fast.P50.D(); p50 >= 50*time.Millisecond {
			t.Errorf("primary1->primary2 p50 = %s, want below 50ms", p50)
		}
		heal(t, f)
		healedDirect(t, l)
	})

	t.Run("both ways delays both directions", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultDelay, Between: linkBoth, Delay: 150 * time.Millisecond})
		inject(t, f)
		wantWalsender(t, l, lab.Primary1, true)
		wantWalsender(t, l, lab.Primary2, true)
		lag := measureLag(t, l, pools, 4*time.Second, 150*time.Millisecond)
		for _, d := range lag.Directions {
			t.Logf("%s->%s: p50 %s", d.From, d.To, d.P50.D())
			if p50 := d.P50.D(); p50 < 150*time.Millisecond || p50 > 190*time.Millisecond {
				t.Errorf("%s->%s p50 = %s, want within 150-190ms", d.From, d.To, p50)
			}
		}
		heal(t, f)
		healedDirect(t, l)
	})

	t.Run("a killed pgchaos's link delay is healed from its ledger, or swept without one", func(t *testing.T) {
		defer restore(t, l)
		spec := scenario.Fault{Kind: scenario.FaultDelay, Between: linkBoth, Direction: scenario.DirOneToTwo, Delay: 100 * time.Millisecond}
		dir := t.TempDir()
		g, err := faults.OpenLedger(l, faults.WithStateDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Inject(ctxT(t, time.Minute), mustNew(t, l, spec)); err != nil {
			t.Fatal(err)
		}
		wantWalsender(t, l, lab.Primary1, true)
		healed, err := faults.HealLab(ctxT(t, 2*time.Minute), l, dir) // a new fault from the spec heals it
		if err != nil {
			t.Fatal(err)
		}
		if len(healed) != 1 || healed[0] != "delay primary1->primary2 delay=100ms (ledger)" {
			t.Errorf("HealLab healed %q, want only the ledger's delay (nothing left for the sweep)", healed)
		}
		healedDirect(t, l)

		inject(t, mustNew(t, l, spec)) // no ledger: only the sweep can find it
		swept, err := faults.HealLab(ctxT(t, 2*time.Minute), l, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var proxy, chain bool
		for _, s := range swept {
			proxy = proxy || strings.HasPrefix(s, "removed helper container ")
			chain = chain || s == "removed iptables nat chain "+faults.DelayChain+" on primary1"
		}
		if !proxy || !chain {
			t.Errorf("sweep did %q, want the proxy container and the %s chain on primary1 removed", swept, faults.DelayChain)
		}
		healedDirect(t, l)
	})

	t.Run("node-wide delay needs netem and says the link delay does not", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultDelay, Node: lab.Primary1, Delay: 50 * time.Millisecond})
		err := f.Inject(ctxT(t, time.Minute))
		heal(t, f)
		if err == nil {
			t.Skip("this kernel has netem: nothing to check")
		}
		if !errors.Is(err, faults.ErrNoNetem) {
			t.Fatalf("node-wide delay without netem: %v, want ErrNoNetem", err)
		}
	})
}

// measureLag runs heartbeats for d with the fault in place, waits for the
// last ones to cross the delay, and computes the lag from runStart = now.
func measureLag(t *testing.T, l *lab.Lab, pools map[string]*pgxpool.Pool, d, delay time.Duration) *reports.Lag {
	t.Helper()
	runStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	counts := observe.Heartbeat(ctx, pools, 100*time.Millisecond)
	cancel()
	for n, e := range counts.Errors {
		if e > 0 {
			t.Errorf("%d heartbeats failed on %s", e, n)
		}
	}
	// Still under the fault, so the last heartbeats arrive delayed too
	// rather than through a reconnect after the heal.
	time.Sleep(delay + time.Second)
	lag, err := observe.LagFromHeartbeats(ctxT(t, 30*time.Second), pools, runStart, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range lag.Directions {
		if dir.Missing > 0 || dir.Samples < 20 {
			t.Errorf("%s->%s: %d samples, %d missing: replication is not flowing under the delay", dir.From, dir.To, dir.Samples, dir.Missing)
		}
	}
	return lag
}

func direction(t *testing.T, lag *reports.Lag, from, to string) reports.LagDirection {
	t.Helper()
	for _, d := range lag.Directions {
		if d.From == from && d.To == to {
			return d
		}
	}
	t.Fatalf("no lag for %s->%s in %+v", from, to, lag)
	return reports.LagDirection{}
}

// walsenderAddr is the client address of the walsender on publisher that
// serves the peer's subscription ("" when there is none).
func walsenderAddr(l *lab.Lab, publisher string) (string, error) {
	addr, err := query(l, publisher, 5*time.Second,
		"SELECT host(client_addr) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'",
		lab.SubscriptionOn(lab.Peer(publisher)))
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return addr, err
}

// labIP is a node's address on the lab network.
func labIP(t *testing.T, l *lab.Lab, node string) string {
	t.Helper()
	n, _ := l.Node(node)
	ci, err := l.Docker().ContainerInspect(ctxT(t, 10*time.Second), n.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ci.NetworkSettings.Networks[l.Network].IPAddress
}

// wantWalsender checks whether replication from publisher runs through
// the proxy (client: the publisher's own lab address) or directly (client: the peer's address).
func wantWalsender(t *testing.T, l *lab.Lab, publisher string, proxied bool) {
	t.Helper()
	want := labIP(t, l, lab.Peer(publisher))
	if proxied {
		// The proxy forwards to the publisher's own lab address, never to
		// 127.0.0.1 (which the official image trusts without a password).
		want = labIP(t, l, publisher)
	}
	got, err := walsenderAddr(l, publisher)
	if err != nil || got != want {
		t.Fatalf("walsender on %s serves %s from %q (%v), want %q", publisher, lab.Peer(publisher), got, err, want)
	}
}

// healedDirect waits until both subscriptions stream directly again (the
// heal ended the proxied connections), then checks that no helper
// container, proxy included, is left and that the sweep finds nothing.
func healedDirect(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, pub := range []string{lab.Primary1, lab.Primary2} {
		want := labIP(t, l, lab.Peer(pub))
		deadline := time.Now().Add(arrival)
		for {
			got, err := walsenderAddr(l, pub)
			if err == nil && got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after heal the walsender on %s serves %s from %q (%v), want directly from %s", pub, lab.Peer(pub), got, err, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	hs, err := l.Docker().ContainerList(ctxT(t, 10*time.Second), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", lab.LabelLab+"="+l.Name), filters.Arg("label", lab.LabelRole+"="+lab.RoleHelper))})
	if err != nil || len(hs) != 0 {
		t.Errorf("helper containers left after heal: %d (%v)", len(hs), err)
	}
	if swept, err := faults.HealLab(ctxT(t, 2*time.Minute), l, t.TempDir()); err != nil || len(swept) != 0 {
		t.Errorf("after heal the sweep still found %q (%v), want nothing", swept, err)
	}
}
