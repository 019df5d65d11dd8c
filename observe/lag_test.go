package observe

import (
	"reflect"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

func TestLagPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1 // 1..100 ms
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty is zero", nil, 50, 0},
		{"one value is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second (nearest rank)", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p95 of 1..100", ms(hundred...), 95, 95 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"max", ms(hundred...), 100, 100 * time.Millisecond},
		{"p99 of ten is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 1000), 99, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := lagPercentile(c.sorted, c.p); got != c.want {
				t.Errorf("lagPercentile(p%v) = %v, want %v", c.p, got, c.want)
			}
		})
	}
}

func TestLagDirection(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	d := func(ms int) reports.Duration { return reports.Duration(time.Duration(ms) * time.Millisecond) }
	// hb builds a heartbeat sent at sentMS and applied lagMS later (lagMS < 0: not stamped).
	hb := func(seq int64, sentMS, lagMS int) heartbeat {
		h := heartbeat{Seq: seq, Sent: at(sentMS)}
		if lagMS >= 0 {
			h.Applied = at(sentMS + lagMS)
		}
		return h
	}
	cases := []struct {
		name     string
		sent     []heartbeat
		received []heartbeat
		windows  []Window
		want     reports.LagDirection
	}{
		{
			name: "nothing sent",
			want: reports.LagDirection{From: "a", To: "b"},
		},
		{
			name:     "steady 2 ms over two seconds, one missing, one window",
			sent:     []heartbeat{hb(1, 0, -1), hb(2, 500, -1), hb(3, 1000, -1), hb(4, 1500, -1), hb(5, 1900, -1)},
			received: []heartbeat{hb(1, 0, 2), hb(2, 500, 3), hb(3, 1000, 2), hb(4, 1500, 400)},
			windows:  []Window{{Fault: 0, Start: at(1000), End: at(2000)}, {Fault: 1, Start: at(5000), End: at(6000)}},
			want: reports.LagDirection{
				From: "a", To: "b", Samples: 4, Missing: 1,
				P50: d(2), P95: d(400), P99: d(400), Max: d(400),
				Timeline: []reports.LagPoint{{T: 0, Max: d(3)}, {T: 1, Max: d(400)}},
				Windows: []reports.LagWindow{
					{Fault: 0, Samples: 2, P50: d(2), P99: d(400), Max: d(400)},
					{Fault: 1},
				},
			},
		},
		{
			name:     "a row that arrived unstamped is neither a sample nor missing",
			sent:     []heartbeat{hb(1, 0, -1), hb(2, 100, -1)},
			received: []heartbeat{hb(1, 0, -1), hb(2, 100, 5)},
			want: reports.LagDirection{
				From: "a", To: "b", Samples: 1,
				P50: d(5), P95: d(5), P99: d(5), Max: d(5),
				Timeline: []reports.LagPoint{{T: 0, Max: d(5)}},
			},
		},
		{
			name:     "window start is inclusive, end exclusive; heartbeats before the run go to negative seconds",
			sent:     []heartbeat{hb(1, -200, -1), hb(2, 1000, -1), hb(3, 2000, -1)},
			received: []heartbeat{hb(1, -200, 9), hb(2, 1000, 7), hb(3, 2000, 8)},
			windows:  []Window{{Fault: 2, Start: at(1000), End: at(2000)}},
			want: reports.LagDirection{
				From: "a", To: "b", Samples: 3,
				P50: d(8), P95: d(9), P99: d(9), Max: d(9),
				Timeline: []reports.LagPoint{{T: -1, Max: d(9)}, {T: 1, Max: d(7)}, {T: 2, Max: d(8)}},
				Windows:  []reports.LagWindow{{Fault: 2, Samples: 1, P50: d(7), P99: d(7), Max: d(7)}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := lagDirection("a", "b", c.sent, c.received, start, c.windows)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("lagDirection =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

// MarkUnlinked: a pair no subscription carries and no heartbeat crossed
// is unknown with its reason (not "every heartbeat missing"); a linked
// pair keeps its figures; a pair without a subscription that heartbeats
// crossed anyway (forwarded) keeps what was measured.
func TestMarkUnlinkedSaysNoSubscription(t *testing.T) {
	lag := &reports.Lag{Directions: []reports.LagDirection{
		{From: "east", To: "north", Samples: 50, P99: reports.Duration(time.Millisecond)},
		{From: "east", To: "west", Samples: 50},
		{From: "north", To: "east", Samples: 40, Missing: 1},
		{From: "north", To: "west", Samples: 3},
		{From: "west", To: "east", Samples: 50},
		{From: "west", To: "north", Missing: 50},
	}}
	links := map[[2]string]bool{{"north", "east"}: true, {"west", "east"}: true, {"east", "west"}: true, {"east", "north"}: true}
	MarkUnlinked(lag, func(sub, pub string) bool { return links[[2]string{sub, pub}] })
	got := map[string]reports.LagDirection{}
	for _, d := range lag.Directions {
		got[d.From+">"+d.To] = d
	}
	if d := got["west>north"]; d.Unknown != "no subscription from west to north" || d.Missing != 0 {
		t.Errorf("west->north %+v: want unknown, no subscription, nothing missing", d)
	}
	if d := got["north>west"]; d.Unknown != "" || d.Samples != 3 {
		t.Errorf("north->west %+v: heartbeats crossed (forwarded): want them kept", d)
	}
	if d := got["east>north"]; d.Unknown != "" || d.Samples != 50 || d.P99.D() != time.Millisecond {
		t.Errorf("east->north %+v: linked, want it as measured", d)
	}
	if len(lag.Directions) != 6 {
		t.Errorf("%d directions, want every ordered pair of 3 nodes", len(lag.Directions))
	}
	// A direction absent altogether is added, unknown.
	lag = &reports.Lag{Directions: []reports.LagDirection{{From: "a", To: "b", Samples: 1}, {From: "c", To: "a", Samples: 1}}}
	MarkUnlinked(lag, func(sub, pub string) bool { return sub == "b" && pub == "a" || sub == "a" && pub == "c" })
	if len(lag.Directions) != 6 || lag.Directions[1].From != "a" || lag.Directions[1].To != "c" || lag.Directions[1].Unknown == "" {
		t.Errorf("directions %+v: want 6, a->c unknown", lag.Directions)
	}
}
