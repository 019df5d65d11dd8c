package procs

import "testing"

func TestForLeavesTheLabMostCores(t *testing.T) {
	for ncpu, want := range map[int]int{1: 1, 2: 1, 4: 1, 8: 2, 16: 4, 64: 16} {
		if got := For(ncpu); got != want {
			t.Errorf("For(%d) = %d, want %d", ncpu, got, want)
		}
	}
}
