package lab

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"
)

// native is PostgreSQL's own logical replication: a publication FOR ALL
// TABLES on each node and a subscription to each peer WITH (origin =
// none). mesh: the lab has more than two nodes (see Engine).
type native struct{ mesh bool }

func (native) Name() string { return EngineNative }

func (native) Settings(string) []string { return nil }

func (native) CheckImage(context.Context, *client.Client, string, string, string) error { return nil }

func (native) Setup(ctx context.Context, l *Lab) error { return setupReplication(ctx, l) }

func (native) UncountedConflicts() string { return "" }

func (native) SubscriptionName(_, publisher string) string { return SubscriptionFrom(publisher) }

// A subscription's slot takes the subscription's name, and in a mesh its
// subscriber's too.
func (e native) SlotOn(subscriber, publisher string) string {
	if e.mesh {
		return meshName(subscriber, publisher)
	}
	return e.SubscriptionName(subscriber, publisher)
}

func (e native) Subscription(ctx context.Context, conn *pgx.Conn, subscriber, publisher string) (*Subscription, error) {
	s := &Subscription{From: publisher}
	err := conn.QueryRow(ctx, `
		SELECT s.subname, s.subenabled, st.pid IS NOT NULL, st.last_msg_receipt_time,
		       coalesce(ss.apply_error_count, 0)
		FROM pg_subscription s
		LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL AND st.worker_type = 'apply'
		LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
		WHERE s.subname = $1`, e.SubscriptionName(subscriber, publisher)).Scan(&s.Name, &s.Enabled, &s.WorkerRunning, &s.LastMessage, &s.ApplyErrors)
	if err == pgx.ErrNoRows {
		return nil, nil // replication not set up (yet)
	}
	if err != nil {
		return nil, fmt.Errorf("read subscription: %w", err)
	}
	return s, nil
}
