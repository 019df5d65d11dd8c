package main

import (
	"testing"
	"time"
)

func TestMinMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name    string
		in      []time.Duration
		lo, med time.Duration
	}{
		{"one run", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"odd, unsorted", ms(30, 10, 20), 10 * time.Millisecond, 20 * time.Millisecond},
		{"even: mean of the middle two", ms(40, 10, 20, 30), 10 * time.Millisecond, 25 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			lo, med := minMedian(in)
			if lo != tt.lo || med != tt.med {
				t.Errorf("minMedian(%v) = %v, %v, want %v, %v", tt.in, lo, med, tt.lo, tt.med)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("minMedian reordered its input: %v", in)
				}
			}
		})
	}
}
