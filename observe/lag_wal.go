package observe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// WALSampler samples, on each publisher, how many bytes of WAL the peer's
// subscription is behind. It is safe for concurrent use; the caller drives
// it with Sample.
type WALSampler struct {
	// SlotOn names the slot, on a publisher, that serves a subscriber; it
	// varies by engine and with the node count (lab.Engine.SlotOn). Nil:
	// a two-node native lab's, the subscription's name.
	SlotOn  func(subscriber, publisher string) string
	start   time.Time
	mu      sync.Mutex
	samples map[walDirKey][]WALSample
}

type walDirKey struct{ from, to string }

// WALSample is one reading of one direction on its publisher.
type WALSample struct {
	At time.Time
	// SlotBytes is pg_current_wal_lsn() − confirmed_flush_lsn of the slot:
	// what the publisher keeps for the subscriber.
	SlotBytes int64
	// Connected says a walsender serves the slot; SentBytes and ReplayBytes
	// (current − sent_lsn, current − replay_lsn from pg_stat_replication)
	// are meaningful only then.
	Connected   bool
	SentBytes   int64
	ReplayBytes int64
	WALStatus   string // pg_replication_slots.wal_status
}

// Behind is the distance a report shows: replay_lsn while connected (it
// catches up first; confirmed_flush_lsn trails behind it), else the slot's.
func (w WALSample) Behind() int64 {
	if w.Connected {
		return w.ReplayBytes
	}
	return w.SlotBytes
}

// NewWALSampler returns a sampler whose timelines count seconds from start.
func NewWALSampler(start time.Time) *WALSampler {
	return &WALSampler{start: start, samples: map[walDirKey][]WALSample{}}
}

// ErrNoSlot means the publisher has no slot for the subscriber (yet).
var ErrNoSlot = errors.New("no replication slot for the subscription")

// Sample reads direction from→to on from's server: the slot that serves
// to's subscription to from (SlotOn(to, from); by default
// lab.SubscriptionFrom(from), as a native subscription's slot takes its
// name) and the walsender serving it.
func (s *WALSampler) Sample(ctx context.Context, from, to string, pool *pgxpool.Pool) error {
	slot := lab.SubscriptionFrom(from)
	if s.SlotOn != nil {
		slot = s.SlotOn(to, from)
	}
	var w WALSample
	var sent, replay *int64
	var status *string
	err := pool.QueryRow(ctx, `SELECT now(),
	      coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn), 0)::bigint,
	      r.pid IS NOT NULL,
	      pg_wal_lsn_diff(pg_current_wal_lsn(), r.sent_lsn)::bigint,
	      pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint,
	      s.wal_status
	    FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
	    WHERE s.slot_name = $1`, slot).Scan(&w.At, &w.SlotBytes, &w.Connected, &sent, &replay, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("bytes behind %s->%s: %w %q on %s", from, to, ErrNoSlot, slot, from)
	}
	if err != nil {
		return fmt.Errorf("bytes behind %s->%s: read slot %q on %s: %w", from, to, slot, from, err)
	}
	if sent != nil {
		w.SentBytes = *sent
	}
	if replay != nil {
		w.ReplayBytes = *replay
	} else {
		w.Connected = false // a walsender without a reply yet has no replay position
	}
	if status != nil {
		w.WALStatus = *status
	}
	s.add(from, to, w)
	return nil
}

func (s *WALSampler) add(from, to string, w WALSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := walDirKey{from, to}
	s.samples[k] = append(s.samples[k], w)
}

// Samples returns the readings of one direction in sampling order.
func (s *WALSampler) Samples(from, to string) []WALSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WALSample(nil), s.samples[walDirKey{from, to}]...)
}

// MaxBehind is the largest slot distance from→to sampled between start
// and end (inclusive): the WAL a stalled subscription left piling up.
func (s *WALSampler) MaxBehind(from, to string, start, end time.Time) int64 {
	var m int64
	for _, w := range s.Samples(from, to) {
		if w.At.Before(start) || w.At.After(end) {
			continue
		}
		m = max(m, w.SlotBytes)
	}
	return m
}

// walStatusRank orders pg_replication_slots.wal_status from healthy to gone.
var walStatusRank = map[string]int{"": 0, "reserved": 1, "extended": 2, "unreserved": 3, "lost": 4}

// Fill sets BytesMax, Bytes and SlotWALStatus on lag's directions, adding
// a direction that only WAL samples know of.
func (s *WALSampler) Fill(lag *reports.Lag) {
	s.mu.Lock()
	keys := make([]walDirKey, 0, len(s.samples))
	for k := range s.samples {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].from < keys[j].from || keys[i].from == keys[j].from && keys[i].to < keys[j].to
	})
	for _, k := range keys {
		i := -1
		for j, d := range lag.Directions {
			if d.From == k.from && d.To == k.to {
				i = j
			}
		}
		if i < 0 {
			lag.Directions = append(lag.Directions, reports.LagDirection{From: k.from, To: k.to})
			i = len(lag.Directions) - 1
		}
		walFillDirection(&lag.Directions[i], s.start, s.Samples(k.from, k.to))
	}
}

// walFillDirection is Fill's pure part.
func walFillDirection(d *reports.LagDirection, start time.Time, samples []WALSample) {
	d.Bytes = d.Bytes[:0]
	for _, w := range samples {
		b := w.Behind()
		d.BytesMax = max(d.BytesMax, b)
		d.Bytes = append(d.Bytes, reports.BytesPoint{T: w.At.Sub(start).Seconds(), Bytes: b})
		if walStatusRank[w.WALStatus] > walStatusRank[d.SlotWALStatus] {
			d.SlotWALStatus = w.WALStatus
		}
	}
	if len(d.Bytes) == 0 {
		d.Bytes = nil
	}
}
