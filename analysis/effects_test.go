package analysis

import (
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

func ms(n int) reports.Duration { return reports.Duration(time.Duration(n) * time.Millisecond) }

func timeline(maxMs ...int) []reports.LagPoint {
	var ps []reports.LagPoint
	for i, m := range maxMs {
		ps = append(ps, reports.LagPoint{T: i, Max: ms(m)})
	}
	return ps
}

func TestLagEffect(t *testing.T) {
	d := func(tl []reports.LagPoint) reports.LagDirection {
		return reports.LagDirection{From: "primary1", To: "primary2", Timeline: tl}
	}
	cases := []struct {
		name     string
		tl       []reports.LagPoint
		base     time.Duration
		from, to time.Duration
		want     string
	}{
		{"a partition: behind, then caught up after the heal",
			timeline(3, 4, 3, 900, 1900, 2900, 3900, 5, 4), 3 * time.Millisecond, 3 * time.Second, 7 * time.Second,
			"replication primary1->primary2: lag above 100 ms from +3s (worst 3.9 s), back under it by +7s"},
		{"unaffected",
			timeline(3, 4, 3, 5, 4, 3), 3 * time.Millisecond, 2 * time.Second, 4 * time.Second,
			"replication primary1->primary2: not affected (lag stayed under 100 ms)"},
		{"threshold follows a high baseline",
			timeline(200, 210, 220, 500, 590, 210), 200 * time.Millisecond, 2 * time.Second, 5 * time.Second,
			"replication primary1->primary2: not affected (lag stayed under 600 ms)"},
		{"never caught up",
			timeline(3, 3, 800, 1800, 2800), 3 * time.Millisecond, 2 * time.Second, 4 * time.Second,
			"replication primary1->primary2: lag above 100 ms from +2s (worst 2.8 s), still above it when heartbeats ended"},
		{"a dead sender sends no heartbeats: said so, not 'not affected'",
			[]reports.LagPoint{{T: 0, Max: ms(3)}, {T: 1, Max: ms(3)}, {T: 5, Max: ms(4)}}, 3 * time.Millisecond, 2 * time.Second, 5 * time.Second,
			"replication primary1->primary2: no heartbeat sent and applied from +2s to +5s (the sender was down, frozen or unreachable)"},
		{"lag before the fault is not its effect",
			timeline(3, 900, 3, 3, 3), 3 * time.Millisecond, 3 * time.Second, 4 * time.Second,
			"replication primary1->primary2: not affected (lag stayed under 100 ms)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := lagEffect(d(c.tl), c.base, c.from, c.to); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestBaselineIsTheMedianBeforeTheFirstFault(t *testing.T) {
	d := reports.LagDirection{Timeline: timeline(5, 1, 3, 9000, 9000)}
	faults := []reports.Fault{{Injected: ms(3000)}}
	if got := baseline(d, faults); got != 3*time.Millisecond {
		t.Errorf("baseline %v, want 3ms (median of 5, 1, 3)", got)
	}
	if got := baseline(reports.LagDirection{}, faults); got != 0 {
		t.Errorf("empty timeline: %v", got)
	}
}

func TestErrorEffect(t *testing.T) {
	secs := []reports.Second{
		{T: 1, Target: "primary1", Errors: 50}, // before
		{T: 3, Target: "primary1", Errors: 7},
		{T: 4, Target: "haproxy", Errors: 2},
		{T: 4, Target: "primary1", Errors: 1},
		{T: 6, Target: "primary2", Errors: 9}, // after
	}
	got := errorEffect(secs, 3*time.Second, 5*time.Second)
	want := "failed or unknown operations while it held: primary1 8, haproxy 2"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := errorEffect(secs, 10*time.Second, 12*time.Second); got != "" {
		t.Errorf("no errors: got %q", got)
	}
}

// With more than two primaries every node's errors are counted, the
// primaries in number order and the load balancer last (the two-node
// names used to be the only ones looked up: primary3's errors vanished).
func TestErrorEffectNamesEveryPrimaryOfAMesh(t *testing.T) {
	secs := []reports.Second{
		{T: 3, Target: "haproxy", Errors: 2},
		{T: 3, Target: "primary5", Errors: 5},
		{T: 3, Target: "primary3", Errors: 3},
		{T: 4, Target: "primary3", Errors: 1},
	}
	got := errorEffect(secs, 3*time.Second, 5*time.Second)
	want := "failed or unknown operations while it held: primary3 4, primary5 5, haproxy 2"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
