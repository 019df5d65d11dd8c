package analysis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/workload"
)

// Pools answers Nodes from a pgx pool per node name.
type Pools map[string]*pgxpool.Pool

// MissingInserts implements Nodes.
func (p Pools) MissingInserts(ctx context.Context, node string, keys []string) (missing []string, err error) {
	err = p.with(ctx, node, func(ctx context.Context, c *pgxpool.Conn) error {
		missing, err = workload.MissingInserts(ctx, c.Conn(), keys)
		return err
	})
	return missing, err
}

// CounterValues implements Nodes.
func (p Pools) CounterValues(ctx context.Context, node, wl string) (values map[string]int64, err error) {
	err = p.with(ctx, node, func(ctx context.Context, c *pgxpool.Conn) error {
		values, err = workload.CounterValues(ctx, c.Conn(), wl)
		return err
	})
	return values, err
}

// BankTotal implements Nodes.
func (p Pools) BankTotal(ctx context.Context, node, wl string, accounts int) (t reports.BankTotal, err error) {
	err = p.with(ctx, node, func(ctx context.Context, c *pgxpool.Conn) error {
		t, err = workload.BankTotal(ctx, c.Conn(), wl, node, accounts)
		return err
	})
	return t, err
}

// with runs fn on a connection of node's pool.
func (p Pools) with(ctx context.Context, node string, fn func(context.Context, *pgxpool.Conn) error) error {
	pool, ok := p[node]
	if !ok {
		return fmt.Errorf("no connection pool for node %q", node)
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return fn(ctx, c)
}
