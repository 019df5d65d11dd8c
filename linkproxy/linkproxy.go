// Package linkproxy is a TCP proxy that adds one-way latency: bytes from the
// upstream server to the client are held back by a fixed delay (plus
// jitter), bytes from the client to the server pass straight through.
//
// pgchaos uses it for a delay fault on the replication link when the
// Docker host's kernel has no netem: it runs in the publisher's network
// namespace, an iptables REDIRECT sends the subscriber's connection to it,
// and it forwards to the publisher's PostgreSQL on the publisher's own lab
// address (not 127.0.0.1, which the official image trusts without a
// password) — so the changes the publisher streams arrive late, the
// subscriber's feedback does not. Unlike netem it delays the byte stream, not packets: TCP's
// own round trips (handshake, ACKs) are not delayed, which is what a
// replication lag measurement wants anyway.
//
// Bytes are never reordered: a chunk read at time t is released at
// max(t + delay ± jitter, release of the previous chunk), so jitter can
// only stretch gaps, as on a real link carrying one TCP stream.
package linkproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Config says where a proxy forwards to and how much it delays.
type Config struct {
	// Upstream is the server's address, host:port, dialled once per
	// accepted client connection.
	Upstream string
	// Delay is added to every byte flowing from Upstream to the client.
	Delay time.Duration
	// Jitter varies the delay of each chunk uniformly within
	// [Delay-Jitter, Delay+Jitter] (never below zero), like netem's
	// "delay D J"; order is kept, so late chunks hold back later ones.
	Jitter time.Duration
	// Seed seeds the jitter's generator, so a run can be repeated.
	Seed uint64
	// QueueBytes bounds the bytes held back per connection; when it is
	// full the proxy stops reading from upstream (TCP back-pressure).
	// 0 means DefaultQueueBytes.
	QueueBytes int
	// Logf, if set, is told about connections and errors.
	Logf func(format string, args ...any)
}

// DefaultQueueBytes holds a 200 ms delay of a ~300 MB/s stream: far more
// than replication in the lab produces, so the queue itself adds no delay.
const DefaultQueueBytes = 64 << 20

// readSize is the largest chunk read (and timestamped) at once.
const readSize = 64 << 10

// DialTimeout bounds the connection to upstream.
const DialTimeout = 10 * time.Second

// ListenAndServe listens on addr and serves until ctx ends; see Serve.
func ListenAndServe(ctx context.Context, addr string, cfg Config) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("linkproxy: listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, cfg)
}

// Serve accepts connections on ln and proxies each to cfg.Upstream until
// ctx ends; then it closes ln and every connection, waits for them, and
// returns nil. A failed upstream dial closes that client only. Serve owns
// ln.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.Upstream == "" {
		ln.Close()
		return errors.New("linkproxy: no upstream address")
	}
	if cfg.Delay < 0 || cfg.Jitter < 0 {
		ln.Close()
		return fmt.Errorf("linkproxy: delay (%s) and jitter (%s) must be >= 0", cfg.Delay, cfg.Jitter)
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	// Deferred in this order so that an accept error too cancels the
	// connections before Serve waits for them.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Closing the listener is what unblocks Accept when ctx ends.
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for n := uint64(0); ; n++ {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			ln.Close()
			return fmt.Errorf("linkproxy: accept on %s: %w", ln.Addr(), err)
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, n))
		wg.Go(func() { proxy(ctx, c, cfg, rng) })
	}
}

func (cfg Config) logf(format string, args ...any) {
	if cfg.Logf != nil {
		cfg.Logf(format, args...)
	}
}

// proxy forwards one client connection until both directions are done or
// ctx ends.
func proxy(ctx context.Context, client net.Conn, cfg Config, rng *rand.Rand) {
	defer client.Close()
	d := net.Dialer{Timeout: DialTimeout}
	up, err := d.DialContext(ctx, "tcp", cfg.Upstream)
	if err != nil {
		cfg.logf("linkproxy: %s: dial upstream %s: %v", client.RemoteAddr(), cfg.Upstream, err)
		return
	}
	defer up.Close()
	cfg.logf("linkproxy: %s -> %s via %s", client.RemoteAddr(), cfg.Upstream, up.LocalAddr())
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Any failure, or the end of Serve, closes both ends, which unblocks
	// every read and write of this connection.
	stop := context.AfterFunc(cctx, func() {
		client.Close()
		up.Close()
	})
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := forward(up, client); err != nil {
			cancel()
		}
	})
	wg.Go(func() {
		q := newQueue(cfg.QueueBytes)
		var inner sync.WaitGroup
		inner.Go(func() {
			if err := q.fill(cctx, up, cfg.Delay, cfg.Jitter, rng); err != nil {
				cancel()
			}
		})
		if err := q.drain(cctx, client); err != nil {
			cancel()
		}
		inner.Wait()
	})
	wg.Wait()
}

// forward copies client->upstream without delay; at the client's EOF it
// half-closes upstream so the server sees the end too. A non-nil error
// means the connection is broken and must be torn down.
func forward(dst, src net.Conn) error {
	_, err := io.Copy(dst, src)
	if err != nil {
		return err
	}
	return closeWrite(dst)
}

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// chunk is bytes read from upstream and the time they may go to the
// client; eof marks the end of the stream (data is then empty) and err a
// broken one.
type chunk struct {
	data    []byte
	release time.Time
	eof     bool
	err     error
}

// queue holds chunks between the goroutine reading upstream and the one
// writing to the client. A mutex and condition rather than a channel so
// that the bound is in bytes, not chunks.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []chunk
	bytes  int
	limit  int
	closed bool // the reader side gave up (ctx ended)
}

func newQueue(limit int) *queue {
	q := &queue{limit: limit}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// jittered is delay varied uniformly in [delay-jitter, delay+jitter],
// never negative.
func jittered(delay, jitter time.Duration, rng *rand.Rand) time.Duration {
	if jitter <= 0 {
		return delay
	}
	d := delay - jitter + time.Duration(rng.Int64N(int64(2*jitter)+1))
	return max(d, 0)
}

// releaseAt is when a chunk read at readAt goes out: its own delay, but
// never before the chunk ahead of it (no reordering).
func releaseAt(readAt time.Time, delay time.Duration, prev time.Time) time.Time {
	t := readAt.Add(delay)
	if t.Before(prev) {
		return prev
	}
	return t
}

// fill reads src (upstream) and queues what it reads with its release
// time, until EOF or an error, which it queues too.
func (q *queue) fill(ctx context.Context, src net.Conn, delay, jitter time.Duration, rng *rand.Rand) error {
	var prev time.Time
	buf := make([]byte, readSize)
	for {
		n, err := src.Read(buf)
		now := time.Now()
		if n > 0 {
			prev = releaseAt(now, jittered(delay, jitter, rng), prev)
			if !q.push(ctx, chunk{data: append([]byte(nil), buf[:n]...), release: prev}) {
				return ctx.Err()
			}
		}
		if err != nil {
			c := chunk{release: releaseAt(now, jittered(delay, jitter, rng), prev), eof: true}
			if !errors.Is(err, io.EOF) {
				c.err = err
			}
			q.push(ctx, c)
			return nil // the writer delivers the end, in order
		}
	}
}

// closeOn closes the queue when ctx ends, waking its waiters; call the
// returned func to stop watching.
func (q *queue) closeOn(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		q.cond.Broadcast()
	})
}

// push appends c, waiting while the queue is over its byte limit; false
// when ctx ended first.
func (q *queue) push(ctx context.Context, c chunk) bool {
	defer q.closeOn(ctx)()
	q.mu.Lock()
	defer q.mu.Unlock()
	// An oversized chunk still goes in when the queue is empty.
	for !q.closed && q.bytes > 0 && q.bytes+len(c.data) > q.limit {
		q.cond.Wait()
	}
	if q.closed {
		return false
	}
	q.items = append(q.items, c)
	q.bytes += len(c.data)
	q.cond.Broadcast()
	return true
}

// pop takes the oldest chunk, waiting for one; false when ctx ended.
func (q *queue) pop(ctx context.Context) (chunk, bool) {
	defer q.closeOn(ctx)()
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.closed && len(q.items) == 0 {
		q.cond.Wait()
	}
	if q.closed {
		return chunk{}, false
	}
	c := q.items[0]
	q.items[0] = chunk{}
	q.items = q.items[1:]
	q.bytes -= len(c.data)
	q.cond.Broadcast()
	return c, true
}

// drain writes each chunk to dst (the client) at its release time; at the
// end of the stream it half-closes dst, or for a broken upstream reports
// the error so the caller tears the connection down.
func (q *queue) drain(ctx context.Context, dst net.Conn) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		c, ok := q.pop(ctx)
		if !ok {
			return ctx.Err()
		}
		if wait := time.Until(c.release); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer.C:
			}
		}
		if c.eof {
			if c.err != nil {
				return c.err
			}
			return closeWrite(dst)
		}
		if _, err := dst.Write(c.data); err != nil {
			return err
		}
	}
}
