package workload

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lazyPool is a pool for a DSN on 127.0.0.1:port; it connects only when a
// connection is acquired.
func lazyPool(t *testing.T, port int) *pgxpool.Pool {
	t.Helper()
	pc, err := pgxpool.ParseConfig("postgres://postgres:postgres@127.0.0.1:" + strconv.Itoa(port) + "/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestWarmReportsTargetsItCouldNotOpen covers what the runner tells the
// user when second 0 starts without every connection (the integration
// test covers every connection opening). One target refuses connections at
// once; the other accepts them and never answers, so only the timeout ends
// the wait.
func TestWarmReportsTargetsItCouldNotOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn // open, never answered
		for {
			c, err := silent.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()

	pools := map[string]*pgxpool.Pool{
		"primary2": lazyPool(t, refused),
		"haproxy":  lazyPool(t, silent.Addr().(*net.TCPAddr).Port),
	}
	const timeout = 300 * time.Millisecond
	got := warm(context.Background(), pools, map[string]int{"primary2": 3, "haproxy": 2}, timeout)
	if len(got) != 2 {
		t.Fatalf("warm reported %d targets, want 2: %+v", len(got), got)
	}
	hp, p2 := got[0], got[1] // in name order
	if hp.target != "haproxy" || hp.opened != 0 || hp.want != 2 {
		t.Errorf("haproxy: %+v, want 0 of 2 opened", hp)
	}
	if !errors.Is(hp.err, context.DeadlineExceeded) && !isTimeout(hp.err) {
		t.Errorf("haproxy: error %v, want the timeout", hp.err)
	}
	if p2.target != "primary2" || p2.opened != 0 || p2.want != 3 || p2.err == nil {
		t.Errorf("primary2: %+v, want 0 of 3 opened with the refusal", p2)
	}
	if hp.waited < timeout {
		t.Errorf("waited %s, shorter than the timeout %s that ended the silent target's connects", hp.waited, timeout)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
