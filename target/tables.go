package target

import (
	"context"
	"fmt"
)

// UserTable is what a read-only look at one of the user's tables found:
// whether it exists, and whether the target's user may lock its rows.
type UserTable struct {
	Exists bool
	// Lockable: UPDATE privilege on it, which SELECT … FOR UPDATE and
	// LOCK TABLE … IN EXCLUSIVE MODE both need.
	Lockable bool
}

// LookUpTable looks table ("schema.table") up on node, read-only, for a
// fault the scenario asks on it (lock-rows on a user's table).
func LookUpTable(ctx context.Context, t *Target, node, table string) (UserTable, error) {
	n, ok := t.Node(node)
	if !ok {
		return UserTable{}, fmt.Errorf("no node %s in %s", node, t.File)
	}
	conn, err := connect(ctx, n, true)
	if err != nil {
		return UserTable{}, fmt.Errorf("%s: %s", node, t.Scrub(err.Error()))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var u UserTable
	err = conn.QueryRow(ctx, `SELECT r IS NOT NULL, coalesce(has_table_privilege(r, 'UPDATE'), false)
FROM (SELECT to_regclass($1) AS r) x`, table).Scan(&u.Exists, &u.Lockable)
	if err != nil {
		return UserTable{}, fmt.Errorf("%s: look up %s: %s", node, table, t.Scrub(err.Error()))
	}
	return u, nil
}
