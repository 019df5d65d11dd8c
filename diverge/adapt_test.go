package diverge

import "testing"

func TestNextChunkFollowsTheShareOfPartsThatDiffered(t *testing.T) {
	const total = 1000 // parts in the pass: the first chunk is 63
	tests := []struct {
		name        string
		m           method
		size, dirty int
		want        method
		wantSize    int
	}{
		{"identical chunk hashed: hash all the rest at once", byHash, 63, 0, byHash, total},
		{"few parts differ: hash all the rest at once", byHash, 126, 62, byHash, total},
		{"half the parts differ: stream, starting small", byHash, 126, 63, byRows, 63},
		{"every part differs: stream", byHash, 63, 63, byRows, 63},
		{"streamed chunk mostly differs: keep streaming, twice the size", byRows, 63, 40, byRows, 126},
		{"streamed chunk clean: back to hashing, starting small", byRows, 252, 3, byHash, 63},
		{"single-part chunk that differs: stream", byHash, 1, 1, byRows, 63},
		{"single-part chunk that is the same: hash", byRows, 1, 0, byHash, 63},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, size := nextChunk(tt.m, tt.size, tt.dirty, total)
			if m != tt.want || size != tt.wantSize {
				t.Errorf("nextChunk(%v, %d, %d, %d) = %v, %d, want %v, %d", tt.m, tt.size, tt.dirty, total, m, size, tt.want, tt.wantSize)
			}
		})
	}
}

func TestFirstChunkIsASixteenthAndNeverEmpty(t *testing.T) {
	for _, tt := range []struct{ total, want int }{{1, 1}, {15, 1}, {16, 1}, {17, 2}, {976, 61}, {4096, 256}} {
		if got := firstChunk(tt.total); got != tt.want {
			t.Errorf("firstChunk(%d) = %d, want %d", tt.total, got, tt.want)
		}
	}
}

func TestNextMethodStreamsFromHalfThePartsDiffering(t *testing.T) {
	for _, tt := range []struct {
		dirty, parts int
		want         method
	}{{0, 10, byHash}, {4, 10, byHash}, {5, 10, byRows}, {10, 10, byRows}, {0, 1, byHash}, {1, 1, byRows}, {30, 61, byHash}, {31, 61, byRows}} {
		if got := nextMethod(tt.dirty, tt.parts); got != tt.want {
			t.Errorf("nextMethod(%d, %d) = %v, want %v", tt.dirty, tt.parts, got, tt.want)
		}
	}
}
