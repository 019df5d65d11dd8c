package scenario

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTimelineOrder(t *testing.T) {
	s := &Scenario{
		Duration: time.Minute,
		Faults: []Fault{
			{Kind: FaultStop, Node: Primary1, At: 10 * time.Second, For: 10 * time.Second},                                                // 0: 10s..20s
			{Kind: FaultPartition, Between: []string{Primary1, Primary2}, Direction: DirBoth, At: 20 * time.Second, For: 5 * time.Second}, // 1: 20s..25s
			{Kind: FaultFailover, From: Primary2, At: 5 * time.Second},                                                                    // 2: 5s..end
			{Kind: FaultRestart, Node: HAProxy, At: 20 * time.Second},                                                                     // 3: 20s, no heal
			{Kind: FaultPause, Node: Primary2, At: 15 * time.Second, For: 5 * time.Second},                                                // 4: 15s..20s
			{Kind: FaultKill, Node: Primary1, At: 30 * time.Second},                                                                       // 5: 30s..end
		},
	}
	type step struct {
		At    time.Duration
		Index int
		Heal  bool
		AtEnd bool
	}
	want := []step{
		{5 * time.Second, 2, false, false},
		{10 * time.Second, 0, false, false},
		{15 * time.Second, 4, false, false},
		// at 20s: heals first, last injected first; then injects in file order
		{20 * time.Second, 4, true, false},
		{20 * time.Second, 0, true, false},
		{20 * time.Second, 1, false, false},
		{20 * time.Second, 3, false, false},
		{25 * time.Second, 1, true, false},
		{30 * time.Second, 5, false, false},
		{time.Minute, 5, true, true},
		{time.Minute, 2, true, true},
	}
	steps := s.Timeline()
	got := make([]step, len(steps))
	for i, st := range steps {
		got[i] = step{st.At, st.Index, st.Heal, st.AtEnd}
		if !reflect.DeepEqual(st.Fault, s.Faults[st.Index]) {
			t.Errorf("step %d carries fault %+v, want faults[%d] %+v", i, st.Fault, st.Index, s.Faults[st.Index])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timeline:\n%v\nwant:\n%v", got, want)
	}
}

func TestTimelineNoFaults(t *testing.T) {
	s := &Scenario{Duration: time.Minute}
	if steps := s.Timeline(); len(steps) != 0 {
		t.Errorf("got %d steps for no faults", len(steps))
	}
}

func TestStepString(t *testing.T) {
	link := []string{Primary1, Primary2}
	tests := []struct {
		step Step
		want string
	}{
		{Step{At: 10 * time.Second, Index: 0, Fault: Fault{Kind: FaultStop, Node: Primary1}}, "10s inject faults[0] stop primary1"},
		{Step{At: 90 * time.Second, Index: 2, Heal: true, Fault: Fault{Kind: FaultPartition, Between: link, Direction: DirBoth}}, "1m30s heal faults[2] partition primary1<->primary2"},
		{Step{At: time.Minute, Index: 1, Heal: true, AtEnd: true, Fault: Fault{Kind: FaultFailover, From: Primary1}}, "end heal faults[1] failover from primary1"},
		{Step{Fault: Fault{Kind: FaultDelay, Node: Primary2, Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond}}, "0s inject faults[0] delay 100ms±10ms on primary2"},
		{Step{Fault: Fault{Kind: FaultLoss, Between: link, Direction: DirTwoToOne, Loss: 12.5}}, "0s inject faults[0] loss 12.5% on primary2->primary1"},
		{Step{Fault: Fault{Kind: FaultPartition, Between: link, Direction: DirOneToTwo}}, "0s inject faults[0] partition primary1->primary2"},
	}
	for _, tt := range tests {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestRunTimelineRunsInOrder runs a real schedule of a few tens of
// milliseconds and checks the order of calls, not their timing.
func TestRunTimelineRunsInOrder(t *testing.T) {
	ms := time.Millisecond
	s := &Scenario{
		Duration: 60 * ms,
		Faults: []Fault{
			{Kind: FaultStop, Node: Primary1, At: 20 * ms, For: 20 * ms},
			{Kind: FaultPause, Node: Primary2, At: 0, For: 20 * ms},
			{Kind: FaultFailover, From: Primary1, At: 10 * ms}, // heal AtEnd: skipped
		},
	}
	var mu sync.Mutex
	var got []string
	start := time.Now()
	err := RunTimeline(context.Background(), start, s.Timeline(), func(ctx context.Context, st Step) error {
		mu.Lock()
		defer mu.Unlock()
		if since := time.Since(start); since < st.At {
			t.Errorf("%s ran %v after start, before its time", st, since)
		}
		got = append(got, st.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0s inject faults[1] pause primary2",
		"10ms inject faults[2] failover from primary1",
		"20ms heal faults[1] pause primary2",
		"20ms inject faults[0] stop primary1",
		"40ms heal faults[0] stop primary1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRunTimelineCollectsErrorsAndContinues(t *testing.T) {
	boom := errors.New("boom")
	steps := []Step{
		{At: 0, Index: 0, Fault: Fault{Kind: FaultStop, Node: Primary1}},
		{At: time.Millisecond, Index: 1, Fault: Fault{Kind: FaultKill, Node: Primary2}},
		{At: 2 * time.Millisecond, Index: 0, Heal: true, Fault: Fault{Kind: FaultStop, Node: Primary1}},
	}
	var ran []int
	err := RunTimeline(context.Background(), time.Now(), steps, func(ctx context.Context, st Step) error {
		ran = append(ran, st.Index)
		if !st.Heal {
			return boom
		}
		return nil
	})
	if !reflect.DeepEqual(ran, []int{0, 1, 0}) {
		t.Errorf("ran %v, want every step despite errors", ran)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the step error", err)
	}
	want := "0s inject faults[0] stop primary1: boom\n1ms inject faults[1] kill primary2: boom"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err.Error(), want)
	}
}

func TestRunTimelineStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	steps := []Step{
		{At: 0, Index: 0, Fault: Fault{Kind: FaultStop, Node: Primary1}},
		{At: time.Hour, Index: 1, Fault: Fault{Kind: FaultKill, Node: Primary2}},
	}
	var ran []int
	err := RunTimeline(ctx, time.Now(), steps, func(ctx context.Context, st Step) error {
		ran = append(ran, st.Index)
		cancel() // the next step is an hour away: only cancellation ends the wait
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if !reflect.DeepEqual(ran, []int{0}) {
		t.Errorf("ran %v, want only the first step", ran)
	}
}

func TestRunTimelineSkipsEndHeals(t *testing.T) {
	steps := []Step{
		{At: 0, Index: 0, Fault: Fault{Kind: FaultFailover, From: Primary1}},
		{At: time.Hour, Index: 0, Heal: true, AtEnd: true, Fault: Fault{Kind: FaultFailover, From: Primary1}},
	}
	var ran []Step
	err := RunTimeline(context.Background(), time.Now(), steps, func(ctx context.Context, st Step) error {
		ran = append(ran, st)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 || ran[0].Heal {
		t.Errorf("ran %v, want only the inject (the end heal belongs to the runner)", ran)
	}
}

func TestRunTimelineAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := RunTimeline(ctx, time.Now(), []Step{{At: 0, Fault: Fault{Kind: FaultStop, Node: Primary1}}}, func(context.Context, Step) error {
		called = true
		return nil
	})
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("err %v, called %v; want context.Canceled and no call", err, called)
	}
}
