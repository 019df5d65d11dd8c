package observe

import (
	"reflect"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

func TestWALFillDirection(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	cases := []struct {
		name    string
		samples []WALSample
		want    reports.LagDirection
	}{
		{"no samples", nil, reports.LagDirection{}},
		{
			name: "connected uses replay distance, disconnected the slot's; worst status kept",
			samples: []WALSample{
				{At: at(0), SlotBytes: 500, Connected: true, SentBytes: 0, ReplayBytes: 120, WALStatus: "reserved"},
				{At: at(1500), SlotBytes: 9000, Connected: false, WALStatus: "extended"},
				{At: at(3000), SlotBytes: 700, Connected: true, ReplayBytes: 0, WALStatus: "reserved"},
			},
			want: reports.LagDirection{
				BytesMax:      9000,
				Bytes:         []reports.BytesPoint{{T: 0, Bytes: 120}, {T: 1.5, Bytes: 9000}, {T: 3, Bytes: 0}},
				SlotWALStatus: "extended",
			},
		},
		{
			name:    "lost outranks unreserved",
			samples: []WALSample{{At: at(0), WALStatus: "lost"}, {At: at(1000), WALStatus: "unreserved"}},
			want: reports.LagDirection{
				Bytes:         []reports.BytesPoint{{T: 0}, {T: 1}},
				SlotWALStatus: "lost",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d reports.LagDirection
			walFillDirection(&d, start, c.samples)
			if !reflect.DeepEqual(d, c.want) {
				t.Errorf("got %+v\nwant %+v", d, c.want)
			}
		})
	}
}

func TestWALSamplerFillAndMaxBehind(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	s := NewWALSampler(start)
	s.add("primary1", "primary2", WALSample{At: start.Add(time.Second), SlotBytes: 10})
	s.add("primary1", "primary2", WALSample{At: start.Add(2 * time.Second), SlotBytes: 5000})
	s.add("primary1", "primary2", WALSample{At: start.Add(3 * time.Second), SlotBytes: 20})
	s.add("primary2", "primary1", WALSample{At: start.Add(time.Second), SlotBytes: 7, Connected: true, ReplayBytes: 3})
	lag := &reports.Lag{Directions: []reports.LagDirection{{From: "primary2", To: "primary1", Samples: 4}}}
	s.Fill(lag)
	if len(lag.Directions) != 2 || lag.Directions[0].Samples != 4 || lag.Directions[0].BytesMax != 3 {
		t.Fatalf("existing direction not filled in place: %+v", lag.Directions)
	}
	if d := lag.Directions[1]; d.From != "primary1" || d.BytesMax != 5000 || len(d.Bytes) != 3 {
		t.Errorf("added direction = %+v", d)
	}
	if got := s.MaxBehind("primary1", "primary2", start.Add(3*time.Second), start.Add(time.Hour)); got != 20 {
		t.Errorf("MaxBehind after the peak = %d, want 20", got)
	}
	if got := s.MaxBehind("primary1", "primary2", start, start.Add(2*time.Second)); got != 5000 {
		t.Errorf("MaxBehind over the peak = %d, want 5000", got)
	}
}
