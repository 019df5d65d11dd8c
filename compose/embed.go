// Package compose holds the lab as plain files a person can run without
// pgchaos (docker-compose-primary-primary.yml, setup-replication.sh), and
// embeds the pieces pgchaos itself uses, so there is one source of truth for
// the HAProxy configuration and the replication SQL.
package compose

import _ "embed"

// HAProxyConfig is haproxy.cfg, as the compose lab mounts it.
//
//go:embed haproxy.cfg
var HAProxyConfig []byte

// SQL files, run with psql-style variables (see Interpolate).
var (
	//go:embed sql/test_table-serial.sql
	TestTableSerial string
	//go:embed sql/test_table-uuid.sql
	TestTableUUID string
	//go:embed sql/sequences-interleaved.sql
	SequencesInterleaved string
	//go:embed sql/heartbeat.sql
	Heartbeat string
	//go:embed sql/publication.sql
	Publication string
	//go:embed sql/subscription.sql
	Subscription string
	// SubscriptionRetainDeadTuples is Subscription with retain_dead_tuples
	// (PostgreSQL 19): lab: { retain_dead_tuples: true }.
	//go:embed sql/subscription-retain-dead-tuples.sql
	SubscriptionRetainDeadTuples string
)

// SQL for engine: pglogical (the lab's pglogical replication).
var (
	//go:embed sql/pglogical-node.sql
	PglogicalNode string
	//go:embed sql/pglogical-subscription.sql
	PglogicalSubscription string
)
