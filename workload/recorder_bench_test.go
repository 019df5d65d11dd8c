package workload

import (
	"path/filepath"
	"testing"
	"time"
)

// chanRecorder is the design Recorder did not keep: workers hand ops to a
// buffered channel, one goroutine writes and aggregates. It stays here so
// BenchmarkRecorder can keep comparing the two.
type chanRecorder struct {
	r    *Recorder
	ch   chan Op
	done chan struct{}
}

func newChanRecorder(r *Recorder) *chanRecorder {
	c := &chanRecorder{r: r, ch: make(chan Op, 4096), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for op := range c.ch {
			c.r.Record(op)
		}
	}()
	return c
}

func (c *chanRecorder) Record(op Op) { c.ch <- op }

func (c *chanRecorder) Close() error {
	close(c.ch)
	<-c.done
	return c.r.Close()
}

func benchOp() Op {
	start := time.Now()
	return Op{Workload: "insert", Kind: "insert", Worker: 3, Target: "haproxy", ServedBy: "primary2",
		Keys: []string{"m5x1k2/insert/haproxy/3/123456"}, Start: start, End: start.Add(700 * time.Microsecond), Outcome: OK}
}

// BenchmarkRecorder measures Record from parallel workers (run with
// -cpu 1,2,8): "mutex" is the Recorder as shipped, "channel" the
// alternative design.
func BenchmarkRecorder(b *testing.B) {
	op := benchOp()
	b.Run("mutex", func(b *testing.B) {
		r, err := NewRecorder(filepath.Join(b.TempDir(), "h.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Record(op)
			}
		})
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("channel", func(b *testing.B) {
		r, err := NewRecorder(filepath.Join(b.TempDir(), "h.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		c := newChanRecorder(r)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Record(op)
			}
		})
		if err := c.Close(); err != nil { // the drain is part of the cost
			b.Fatal(err)
		}
	})
}
