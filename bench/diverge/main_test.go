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

func TestMismatch(t *testing.T) {
	tests := []struct {
		name      string
		got, want []string
		says      string
	}{
		{"one extra, one missed", []string{"a", "b", "d"}, []string{"a", "c", "d"},
			"got 3, want 3; 1 not changed but found (first: [b]), 1 changed but not found (first: [c])"},
		{"nothing found", nil, []string{"a", "b"},
			"got 0, want 2; 0 not changed but found (first: []), 2 changed but not found (first: [a b])"},
		{"only the first five are named", []string{"1", "2", "3", "4", "5", "6"}, nil,
			"got 6, want 0; 6 not changed but found (first: [1 2 3 4 5]), 0 changed but not found (first: [])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mismatch(tt.got, tt.want); got != tt.says {
				t.Errorf("mismatch(%v, %v) =\n%s\nwant\n%s", tt.got, tt.want, got, tt.says)
			}
		})
	}
}
