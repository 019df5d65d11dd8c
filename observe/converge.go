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

// WaitConverged waits until each node has applied everything its peer had
// committed when the call began. It writes a heartbeat marker on each node
// and waits for the peer to show it: apply runs in commit order, so the
// marker's arrival means every earlier commit has arrived too. pools holds
// exactly the two primaries; peer maps a node to the other.
func WaitConverged(ctx context.Context, pools map[string]*pgxpool.Pool, peer func(string) string, slotOn func(subscriber string) string, timeout time.Duration) Convergence {
	start := time.Now()
	deadline := start.Add(timeout)
	type marker struct {
		from string
		seq  int64
		sent bool
	}
	var markers []*marker
	for from := range pools {
		markers = append(markers, &marker{from: from})
	}
	sort.Slice(markers, func(i, j int) bool { return markers[i].from < markers[j].from })
	pending := len(markers)
	done := map[string]bool{}
	for time.Now().Before(deadline) && pending > 0 && ctx.Err() == nil {
		for _, m := range markers {
			if done[m.from] {
				continue
			}
			if !m.sent {
				m.seq = time.Now().UnixNano()
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := pools[m.from].Exec(cctx, "INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ($1, $2)", m.from, m.seq)
				cancel()
				m.sent = err == nil
				if !m.sent {
					continue
				}
			}
			var n int
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := pools[peer(m.from)].QueryRow(cctx, "SELECT count(*) FROM pgchaos_heartbeat WHERE origin = $1 AND seq = $2", m.from, m.seq).Scan(&n)
			cancel()
			if err == nil && n == 1 {
				done[m.from] = true
				pending--
			}
		}
		if pending > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
	c := Convergence{Converged: pending == 0, Took: time.Since(start)}
	if c.Converged {
		return c
	}
	c.Behind = map[string]int64{}
	for _, m := range markers {
		if done[m.from] {
			continue
		}
		to := peer(m.from)
		var behind int64 = -1
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		_ = pools[m.from].QueryRow(cctx, `
			SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(r.replay_lsn, s.confirmed_flush_lsn)), -1)::bigint
			FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
			WHERE s.slot_name = $1`, slotOn(to)).Scan(&behind)
		cancel()
		c.Behind[m.from+"->"+to] = behind
	}
	return c
}
