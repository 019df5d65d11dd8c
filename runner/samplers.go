package runner

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/observe"
)

// samplers watch the servers during the run: heartbeats for lag,
// pg_stat_subscription_stats for conflicts and stalls, WAL distance for
// bytes behind.
type samplers struct {
	stats *observe.StatsSampler
	wal   *observe.WALSampler
	wg    sync.WaitGroup
	beats observe.HeartbeatCounts

	// retention: only when the lab's subscriptions retain dead tuples.
	retention *observe.RetentionSampler
}

// heartbeatEvery is the heartbeat period: ten points a second per node,
// each received by every other node (a point per ordered pair).
const heartbeatEvery = 100 * time.Millisecond

// sampleEvery is the period of the statistics and WAL samplers.
const sampleEvery = time.Second

func startSamplers(ctx context.Context, pools map[string]*pgxpool.Pool, l *lab.Lab, t0 time.Time, hotTable string) *samplers {
	s := &samplers{stats: observe.NewStatsSampler(), wal: observe.NewWALSampler(t0)}
	if l.RetainDeadTuples {
		s.retention = observe.NewRetentionSampler(t0, hotTable)
	}
	s.wal.SlotOn = l.SlotOn
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.beats = observe.Heartbeat(ctx, pools, heartbeatEvery)
	}()
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			for _, n := range l.Nodes {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				// A node that is down or cut off does not answer: a missing
				// sample, expected during faults.
				_ = s.stats.Sample(cctx, n.Name, pools[n.Name])
				for _, to := range node.Others(l.Primaries(), n.Name) {
					if !l.HasLink(to, n.Name) {
						continue // a partial mesh: no slot serves to
					}
					_ = s.wal.Sample(cctx, n.Name, to, pools[n.Name])
				}
				if s.retention != nil {
					_ = s.retention.Sample(cctx, n.Name, pools[n.Name])
				}
				cancel()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *samplers) wait() { s.wg.Wait() }
