#!/usr/bin/env bash
# Sets up bi-directional logical replication in the compose lab: the
# tutorial's test_table, a publication on each primary and a subscription on
# each to the other (origin = none, copy_data = false).
#
#   SEQUENCES=interleaved|serial|uuid ./setup-replication.sh
#
# interleaved (default): odd ids on primary1, even on primary2, never collide.
# serial: the tutorial's plain serial ids, which collide across the nodes.
# uuid: uuid keys. The SQL is in sql/, the same files pgchaos runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
seq=${SEQUENCES:-interleaved}
nodes=(primary1 primary2)

psql_on() { # psql_on NODE [psql args...] < sql
	local node=$1; shift
	docker exec -i -e PGOPTIONS="-c client_min_messages=warning" "postgres-$node" psql -q -v ON_ERROR_STOP=1 -U postgres -d postgres "$@"
}

for node in "${nodes[@]}"; do
	until docker exec "postgres-$node" pg_isready -q -U postgres; do sleep 0.5; done
done

i=0
for node in "${nodes[@]}"; do
	i=$((i + 1))
	case "$seq" in
	uuid) psql_on "$node" <sql/test_table-uuid.sql ;;
	serial) psql_on "$node" <sql/test_table-serial.sql ;;
	interleaved)
		psql_on "$node" <sql/test_table-serial.sql
		psql_on "$node" -v node_index=$i -v node_count=${#nodes[@]} <sql/sequences-interleaved.sql ;;
	*) echo "SEQUENCES must be interleaved, serial or uuid (got '$seq')" >&2; exit 2 ;;
	esac
	psql_on "$node" <sql/heartbeat.sql
	psql_on "$node" <sql/publication.sql
done

for node in "${nodes[@]}"; do
	peer=primary1
	[ "$node" = primary1 ] && peer=primary2
	psql_on "$node" -v subscription="sub_from_$peer" -v slot="sub_from_$peer" \
		-v conninfo="host=$peer port=5432 user=postgres password=postgres dbname=postgres" \
		<sql/subscription.sql
done
echo "replication set up both ways (sequences: $seq)"
