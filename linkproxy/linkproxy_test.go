package linkproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// startProxy serves cfg on a loopback port and returns its address; the
// proxy stops (and must return nil) when the test ends.
func startProxy(t *testing.T, cfg Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of cancel")
		}
	})
	return ln.Addr().String()
}

// startUpstream runs handle for every connection to a loopback listener.
func startUpstream(t *testing.T, handle func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c.(*net.TCPConn))
			})
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c.(*net.TCPConn)
}

// A message is a header (sequence number, send time as nanoseconds since
// the test's base, payload length) and a payload derived from the
// sequence number, so corruption, loss and reordering all show.
const headerLen = 20

func payload(seq uint64, n int) []byte {
	p := make([]byte, n)
	r := mrand.New(mrand.NewPCG(seq, 7))
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

func writeMsg(w io.Writer, base time.Time, seq uint64, size int) error {
	b := make([]byte, headerLen, headerLen+size)
	binary.BigEndian.PutUint64(b[0:], seq)
	binary.BigEndian.PutUint32(b[16:], uint32(size))
	b = append(b, payload(seq, size)...)
	// Stamped last, just before the write: the proxy cannot read these
	// bytes earlier than this.
	binary.BigEndian.PutUint64(b[8:], uint64(time.Since(base)))
	_, err := w.Write(b)
	return err
}

type received struct {
	seq      uint64
	sent     time.Duration // since base
	lateness time.Duration // arrival of the last byte minus sent
}

// readMsgs reads n messages, checking that sequence numbers count up from
// 0 and that payloads are intact.
func readMsgs(t *testing.T, r io.Reader, base time.Time, n int) []received {
	t.Helper()
	var out []received
	hdr := make([]byte, headerLen)
	for i := range n {
		if _, err := io.ReadFull(r, hdr); err != nil {
			t.Fatalf("message %d: read header: %v", i, err)
		}
		seq := binary.BigEndian.Uint64(hdr[0:])
		sent := time.Duration(binary.BigEndian.Uint64(hdr[8:]))
		size := int(binary.BigEndian.Uint32(hdr[16:]))
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("message %d: read %d payload bytes: %v", i, size, err)
		}
		at := time.Since(base)
		if seq != uint64(i) {
			t.Fatalf("message %d arrived with sequence number %d: reordered or lost", i, seq)
		}
		if !bytes.Equal(body, payload(seq, size)) {
			t.Fatalf("message %d: payload corrupted", i)
		}
		out = append(out, received{seq: seq, sent: sent, lateness: at - sent})
	}
	return out
}

// sizes mixes small messages (like replication keepalives and single-row
// changes) with ones larger than a read, which the proxy splits.
func sizes(n int) []int {
	out := make([]int, n)
	for i := range out {
		switch i % 5 {
		case 0:
			out[i] = 0
		case 3:
			out[i] = 3*readSize + 17
		default:
			out[i] = 100 * i
		}
	}
	return out
}

func TestUpstreamToClientIsDelayedIntactAndInOrder(t *testing.T) {
	const delay = 100 * time.Millisecond
	const n = 25
	base := time.Now()
	up := startUpstream(t, func(c *net.TCPConn) {
		for i, size := range sizes(n) {
			if err := writeMsg(c, base, uint64(i), size); err != nil {
				t.Errorf("upstream write %d: %v", i, err)
				return
			}
			time.Sleep(7 * time.Millisecond)
		}
		c.CloseWrite()
		io.Copy(io.Discard, c)
	})
	c := dial(t, startProxy(t, Config{Upstream: up, Delay: delay}))
	got := readMsgs(t, c, base, n)
	for _, m := range got {
		if m.lateness < delay {
			t.Errorf("message %d arrived %s after it was sent, before the %s delay", m.seq, m.lateness, delay)
		}
		// Not a speed goal: a proxy that adds the delay per chunk (or
		// per message) instead of once would be seconds late by the end.
		if m.lateness > delay+time.Second {
			t.Errorf("message %d arrived %s after it was sent: the delay accumulates", m.seq, m.lateness)
		}
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("after the last message: %v, want EOF (upstream's close forwarded)", err)
	}
}

func TestJitterVariesDelayWithinBoundsWithoutReordering(t *testing.T) {
	const delay, jitter = 60 * time.Millisecond, 40 * time.Millisecond
	const n = 60
	base := time.Now()
	up := startUpstream(t, func(c *net.TCPConn) {
		for i := range n {
			if err := writeMsg(c, base, uint64(i), 10); err != nil {
				t.Errorf("upstream write %d: %v", i, err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		io.Copy(io.Discard, c)
	})
	c := dial(t, startProxy(t, Config{Upstream: up, Delay: delay, Jitter: jitter, Seed: 1}))
	got := readMsgs(t, c, base, n) // fails on reordering
	var ls []time.Duration
	for _, m := range got {
		if m.lateness < delay-jitter {
			t.Errorf("message %d arrived %s after it was sent, before delay-jitter %s", m.seq, m.lateness, delay-jitter)
		}
		ls = append(ls, m.lateness)
	}
	// Without jitter the latenesses would all be ~60ms; with ±40ms they
	// spread over tens of milliseconds.
	if spread := slices.Max(ls) - slices.Min(ls); spread < 30*time.Millisecond {
		t.Errorf("lateness spread %s (min %s, max %s): jitter has no effect", spread, slices.Min(ls), slices.Max(ls))
	}
}

func TestClientToUpstreamIsNotDelayed(t *testing.T) {
	const delay = 500 * time.Millisecond
	const n = 20
	base := time.Now()
	got := make(chan []received, 1)
	up := startUpstream(t, func(c *net.TCPConn) { got <- readMsgs(t, c, base, n) })
	c := dial(t, startProxy(t, Config{Upstream: up, Delay: delay}))
	for i, size := range sizes(n) {
		if err := writeMsg(c, base, uint64(i), size); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var ls []time.Duration
	for _, m := range <-got {
		ls = append(ls, m.lateness)
	}
	slices.Sort(ls)
	// The median, so one scheduling hiccup on a busy machine does not
	// decide; a delayed direction would be at 500ms.
	if med := ls[len(ls)/2]; med >= delay/2 {
		t.Errorf("client->upstream median lateness %s, want far below the %s delay (that direction is not delayed)", med, delay)
	}
}

func TestClosePropagation(t *testing.T) {
	const delay = 80 * time.Millisecond
	t.Run("client half-close reaches upstream at once and the reply still flows back", func(t *testing.T) {
		eofAt := make(chan time.Duration, 1)
		base := time.Now()
		up := startUpstream(t, func(c *net.TCPConn) {
			req, err := io.ReadAll(c) // until the client's half-close
			if err != nil {
				t.Errorf("upstream read: %v", err)
				return
			}
			eofAt <- time.Since(base)
			c.Write(append([]byte("reply to "), req...))
			c.CloseWrite()
		})
		c := dial(t, startProxy(t, Config{Upstream: up, Delay: delay}))
		c.Write([]byte("ping"))
		sent := time.Since(base)
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		reply, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if string(reply) != "reply to ping" {
			t.Errorf("reply %q, want %q", reply, "reply to ping")
		}
		if at := <-eofAt; at-sent >= delay {
			t.Errorf("upstream saw the client's EOF %s after it was sent: the client->upstream direction was delayed", at-sent)
		}
	})
	t.Run("upstream close reaches the client after the data, no earlier than the delay", func(t *testing.T) {
		var closedAt time.Time
		ready := make(chan struct{})
		up := startUpstream(t, func(c *net.TCPConn) {
			c.Write([]byte("last words"))
			closedAt = time.Now()
			c.Close()
			close(ready)
		})
		c := dial(t, startProxy(t, Config{Upstream: up, Delay: delay}))
		b, err := io.ReadAll(c)
		eof := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		<-ready
		if string(b) != "last words" {
			t.Errorf("client read %q, want %q", b, "last words")
		}
		if d := eof.Sub(closedAt); d < delay {
			t.Errorf("client saw EOF %s after upstream closed, before the %s delay: the end overtook the data's delay", d, delay)
		}
	})
	t.Run("client full close makes upstream see EOF", func(t *testing.T) {
		done := make(chan error, 1)
		up := startUpstream(t, func(c *net.TCPConn) {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			_, err := io.ReadAll(c)
			done <- err
		})
		c := dial(t, startProxy(t, Config{Upstream: up, Delay: delay}))
		c.Write([]byte("bye"))
		c.Close()
		if err := <-done; err != nil {
			t.Errorf("upstream: %v, want a clean EOF", err)
		}
	})
	t.Run("unreachable upstream closes the client", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := ln.Addr().String()
		ln.Close()
		c := dial(t, startProxy(t, Config{Upstream: dead, Delay: delay}))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("client read succeeded although upstream is unreachable")
		}
	})
}

func TestManyConcurrentConnectionsEchoIntact(t *testing.T) {
	const conns = 40
	up := startUpstream(t, func(c *net.TCPConn) {
		io.Copy(c, c)
		c.CloseWrite()
	})
	// A small queue also exercises back-pressure: 200 KB per connection
	// through 32 KB of queue.
	addr := startProxy(t, Config{Upstream: up, Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond, QueueBytes: 32 << 10})
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("conn %d: dial: %v", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			want := make([]byte, 200<<10)
			rand.Read(want)
			werr := make(chan error, 1)
			go func() {
				_, err := c.Write(want)
				if err == nil {
					err = c.(*net.TCPConn).CloseWrite()
				}
				werr <- err
			}()
			got, err := io.ReadAll(c)
			if err != nil {
				t.Errorf("conn %d: read: %v", i, err)
			}
			if err := <-werr; err != nil {
				t.Errorf("conn %d: write: %v", i, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("conn %d: echoed %d bytes, want the %d sent, intact", i, len(got), len(want))
			}
		})
	}
	wg.Wait()
}

func TestServeCancelClosesOpenConnections(t *testing.T) {
	up := startUpstream(t, func(c *net.TCPConn) { io.Copy(io.Discard, c) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Config{Upstream: up, Delay: time.Second}) }()
	c := dial(t, ln.Addr().String())
	c.Write([]byte("x"))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("client connection still open after Serve returned")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still accepts after Serve returned")
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Delay: time.Second},
		{Upstream: "127.0.0.1:1", Delay: -time.Second},
		{Upstream: "127.0.0.1:1", Jitter: -time.Second},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := Serve(context.Background(), ln, cfg); err == nil {
			t.Errorf("Serve(%+v) = nil, want an error", cfg)
		}
	}
}

func TestJitteredStaysWithinBounds(t *testing.T) {
	tests := []struct {
		delay, jitter, lo, hi time.Duration
	}{
		{100 * time.Millisecond, 0, 100 * time.Millisecond, 100 * time.Millisecond},
		{100 * time.Millisecond, 20 * time.Millisecond, 80 * time.Millisecond, 120 * time.Millisecond},
		{10 * time.Millisecond, 30 * time.Millisecond, 0, 40 * time.Millisecond}, // clamped at zero
	}
	for _, tc := range tests {
		rng := mrand.New(mrand.NewPCG(1, 2))
		lo, hi := time.Duration(1<<62), time.Duration(-1)
		for range 10000 {
			d := jittered(tc.delay, tc.jitter, rng)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < tc.lo || hi > tc.hi {
			t.Errorf("jittered(%s, %s) ranged [%s, %s], want within [%s, %s]", tc.delay, tc.jitter, lo, hi, tc.lo, tc.hi)
		}
		// Uniform over the range: 10,000 draws come near both ends.
		if tc.jitter > 0 && (lo > tc.lo+time.Millisecond || hi < tc.hi-time.Millisecond) {
			t.Errorf("jittered(%s, %s) ranged [%s, %s], want to cover [%s, %s]", tc.delay, tc.jitter, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestReleaseAtNeverReorders(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		read  time.Duration // after t0
		delay time.Duration
		prev  time.Duration // after t0
		want  time.Duration
	}{
		{"own delay when the previous chunk went out earlier", 10 * time.Millisecond, 100 * time.Millisecond, 50 * time.Millisecond, 110 * time.Millisecond},
		{"waits for a previous chunk released later", 10 * time.Millisecond, 20 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond},
		{"first chunk", 0, 200 * time.Millisecond, -time.Hour, 200 * time.Millisecond},
	}
	for _, tc := range tests {
		got := releaseAt(t0.Add(tc.read), tc.delay, t0.Add(tc.prev))
		if want := t0.Add(tc.want); !got.Equal(want) {
			t.Errorf("%s: releaseAt = +%s, want +%s", tc.name, got.Sub(t0), tc.want)
		}
	}
}
