package workload

import (
	"testing"
	"time"
)

func TestSlotTimeDoesNotDrift(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rate float64
		n    int64
		want time.Duration
	}{
		{1, 0, 0},
		{1, 1, time.Second},
		{500, 1, 2 * time.Millisecond},
		{500, 500, time.Second},
		{3, 1, 333333333 * time.Nanosecond},
		{3, 2, 666666667 * time.Nanosecond},
		// A million slots at 3/s end exactly where they should: no rounding carried along.
		{3, 3_000_000, 1_000_000 * time.Second},
		{7, 7 * 3600 * 24, 24 * time.Hour},
		{0.5, 3, 6 * time.Second},
	}
	for _, tt := range tests {
		if got := slotTime(start, tt.rate, tt.n).Sub(start); got != tt.want {
			t.Errorf("slotTime(rate %v, n %d) = %v, want %v", tt.rate, tt.n, got, tt.want)
		}
	}
}

func TestSlotAtIsFirstSlotNotBefore(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rate  float64
		after time.Duration
		want  int64
	}{
		{10, -time.Second, 0},
		{10, 0, 0},
		{10, time.Nanosecond, 1},
		{10, 100 * time.Millisecond, 1},
		{10, 100*time.Millisecond + 1, 2},
		{3, time.Second, 3},
		{3, 333333333, 1},
		{3, 333333334, 2},
	}
	for _, tt := range tests {
		got := slotAt(start, tt.rate, start.Add(tt.after))
		if got != tt.want {
			t.Errorf("slotAt(rate %v, +%v) = %d, want %d", tt.rate, tt.after, got, tt.want)
		}
	}
}

func TestPacerClaimsConsecutiveSlots(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPacer(start, 100)
	// Claimed early (workers ahead of schedule): slots 0, 10ms, 20ms ...
	for i := range 5 {
		got := p.claim(start).Sub(start)
		if want := time.Duration(i) * 10 * time.Millisecond; got != want {
			t.Fatalf("claim %d = %v, want %v", i, got, want)
		}
	}
	// Slightly late: still the next slot in order (catch up, no skip).
	if got := p.claim(start.Add(500 * time.Millisecond)).Sub(start); got != 50*time.Millisecond {
		t.Fatalf("late claim = %v, want 50ms", got)
	}
	// More than maxBehind late (an outage): missed slots are given up.
	now := start.Add(10 * time.Second)
	if got := p.claim(now).Sub(start); got != 9*time.Second {
		t.Fatalf("claim after outage = %v, want 9s (now - maxBehind)", got)
	}
	if got := p.claim(now).Sub(start); got != 9*time.Second+10*time.Millisecond {
		t.Fatalf("next claim = %v, want 9.01s", got)
	}
}
