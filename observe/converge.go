package observe

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Convergence is the outcome of WaitConverged.
type Convergence struct {
	Converged bool
	Took      time.Duration
	// Behind says, per direction ("primary1->primary2") that did not catch
	// up, how many WAL bytes the subscriber still lacked when time ran out
	// (-1: unknown, the publisher did not answer).
	Behind map[string]int64
}

// String says in plain words how far apart the nodes are.
func (c Convergence) String() string {
	if c.Converged {
		return fmt.Sprintf("converged in %s", c.Took.Round(time.Millisecond))
	}
	dirs := make([]string, 0, len(c.Behind))
	for d := range c.Behind {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	parts := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if c.Behind[d] < 0 {
			parts = append(parts, d+" unknown (publisher unreachable)")
		} else {
			parts = append(parts, fmt.Sprintf("%s %d bytes behind", d, c.Behind[d]))
		}
	}
	return fmt.Sprintf("did not converge within %s: %s", c.Took.Round(time.Millisecond), strings.Join(parts, ", "))
}

// WaitConverged waits until each node has applied everything every other
// node had committed when the call began. It writes a heartbeat marker on
// each node and waits for every other node to show it: apply runs in
// commit order and every node subscribes to every other (origin = none:
// straight from its origin), so a marker's arrival means every earlier
// commit of its node has arrived too. pools holds the primaries, two or
// more; slotOn names the slot on a publisher that serves a subscriber.
func WaitConverged(ctx context.Context, pools map[string]*pgxpool.Pool, slotOn func(subscriber, publisher string) string, timeout time.Duration) Convergence {
	return WaitConvergedLinks(ctx, pools, slotOn, nil, timeout)
}

// WaitConvergedLinks is WaitConverged on the links that exist: it waits
// for from's marker on to only when linked(to, from) says to subscribes to
// from (nil: every pair, a full mesh). In a partial mesh a node's changes
// reach only its subscribers, so those are all there is to wait for.
func WaitConvergedLinks(ctx context.Context, pools map[string]*pgxpool.Pool, slotOn func(subscriber, publisher string) string,
	linked func(subscriber, publisher string) bool, timeout time.Duration) Convergence {
	start := time.Now()
	deadline := start.Add(timeout)
	nodes := make([]string, 0, len(pools))
	for n := range pools {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	type marker struct {
		seq  int64
		sent bool
	}
	markers := map[string]*marker{}
	for _, n := range nodes {
		markers[n] = &marker{}
	}
	// pending[from->to]: to has not shown from's marker yet.
	type pair struct{ from, to string }
	pending := map[pair]bool{}
	for _, from := range nodes {
		for _, to := range nodes {
			if from != to && (linked == nil || linked(to, from)) {
				pending[pair{from, to}] = true
			}
		}
	}
	for time.Now().Before(deadline) && len(pending) > 0 && ctx.Err() == nil {
		for _, from := range nodes {
			m := markers[from]
			if !m.sent {
				m.seq = time.Now().UnixNano()
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := pools[from].Exec(cctx, "INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ($1, $2)", from, m.seq)
				cancel()
				m.sent = err == nil
				if !m.sent {
					continue
				}
			}
			for _, to := range nodes {
				if !pending[pair{from, to}] {
					continue
				}
				var n int
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				err := pools[to].QueryRow(cctx, "SELECT count(*) FROM pgchaos_heartbeat WHERE origin = $1 AND seq = $2", from, m.seq).Scan(&n)
				cancel()
				if err == nil && n == 1 {
					delete(pending, pair{from, to})
				}
			}
		}
		if len(pending) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
	c := Convergence{Converged: len(pending) == 0, Took: time.Since(start)}
	if c.Converged {
		return c
	}
	c.Behind = map[string]int64{}
	for p := range pending {
		var behind int64 = -1
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		_ = pools[p.from].QueryRow(cctx, `
			SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(r.replay_lsn, s.confirmed_flush_lsn)), -1)::bigint
			FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
			WHERE s.slot_name = $1`, slotOn(p.to, p.from)).Scan(&behind)
		cancel()
		c.Behind[p.from+"->"+p.to] = behind
	}
	return c
}
