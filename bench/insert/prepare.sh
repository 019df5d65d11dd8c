# Sourced by run.sh and ab.sh, with $here (this folder), $dsn (the primary
# written to) and $peer (the other primary of the lab, may be empty) set.

# No autovacuum on the table while measuring. The launcher visits each
# database once a minute (autovacuum_naptime), and a pair of rounds takes
# about a minute too, so the vacuum and analyze of the rows just inserted
# (half a second on each node) fell in the same tool's rounds again and
# again. The table is emptied before every run, so there is nothing for
# vacuum to do. (pgbench itself vacuums its standard tables before a run,
# so that runs start alike.)
no_autovacuum() {
	local node
	for node in "$dsn" $peer; do
		psql "$node" -qAtc "ALTER TABLE pgchaos_insert SET (autovacuum_enabled = off)" >/dev/null
	done
}

# Every measured run starts from the same state: the table empty, the peer
# caught up (its apply worker must not be busy with the previous run's
# rows) and a fresh checkpoint on each node (so no run pays for another's
# full-page writes).
settle() {
	psql "$dsn" -qAtc "TRUNCATE pgchaos_insert" >/dev/null
	local behind
	for _ in $(seq 1 300); do
		behind=$(psql "$dsn" -qAtc "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0) FROM pg_replication_slots")
		[[ ${behind%.*} -lt 65536 ]] && break
		sleep 0.2
	done
	psql "$dsn" -qAtc "CHECKPOINT" >/dev/null
	if [[ -n "$peer" ]]; then psql "$peer" -qAtc "CHECKPOINT" >/dev/null; fi
}

# pgbench_args MODE CLIENTS SECONDS sets the array pgbench_cmd: pgbench
# running insert.sql against $dsn with two threads, each client's key
# counter starting at 0 (the table is empty).
pgbench_args() {
	pgbench_cmd=(pgbench -n -M "$1" -D seq=0 -c "$2" -j 2 -T "$3" -f "$here/insert.sql" "$dsn")
}
