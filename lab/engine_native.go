package lab

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"
)

// native is PostgreSQL's own logical replication: a publication FOR ALL
// TABLES on each node and a subscription to the peer WITH (origin = none).
type native struct{}

func (native) Name() string { return EngineNative }

func (native) Settings(string) []string { return nil }

func (native) CheckImage(context.Context, *client.Client, string, string, string) error { return nil }

func (native) Setup(ctx context.Context, l *Lab) error { return setupReplication(ctx, l) }

func (native) UncountedConflicts() string { return "" }

// A subscription's slot takes the subscription's name.
func (native) SlotOn(node string) string { return SubscriptionOn(node) }

func (native) Subscription(ctx context.Context, conn *pgx.Conn, node string) (*Subscription, error) {
	s := &Subscription{}
	err := conn.QueryRow(ctx, `
		SELECT s.subname, s.subenabled, st.pid IS NOT NULL, st.last_msg_receipt_time,
		       coalesce(ss.apply_error_count, 0)
		FROM pg_subscription s
		LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL AND st.worker_type = 'apply'
		LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
		WHERE s.subname = $1`, SubscriptionOn(node)).Scan(&s.Name, &s.Enabled, &s.WorkerRunning, &s.LastMessage, &s.ApplyErrors)
	if err == pgx.ErrNoRows {
		return nil, nil // replication not set up (yet)
	}
	if err != nil {
		return nil, fmt.Errorf("read subscription: %w", err)
	}
	return s, nil
}
