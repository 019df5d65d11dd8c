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

# paired_ratio reads "a b" lines (one round's figures for two clients) and
# prints the geometric mean of the rounds' ratios a/b with a 95% confidence
# interval (Student's t on the logs): it says whether a gap is bigger than
# this machine's round-to-round noise. Geometric, because a round at 2x and
# one at 0.5x are even: the plain mean of ratios leans high (20 rounds on
# 2026-11-27, with one round at 2.23x: plain mean 1.027x, geometric 0.995x).
paired_ratio() {
	awk '
	BEGIN { split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26 2.23 2.20 2.18 2.16 2.14 2.13 2.12 2.11 2.10 2.09 2.09", t, " ") }
	{ x[NR] = log($1 / $2); s += x[NR]; if ($1 > $2) ahead++ }
	END {
		n = NR; m = s / n
		if (n < 2) { printf "%.3fx (one round: no interval)\n", exp(m); exit }
		for (i = 1; i <= n; i++) v += (x[i] - m) ^ 2
		# Beyond 20 degrees of freedom t is 1.96 + 2.4/df, within 0.3%.
		half = ((n - 1 <= 20) ? t[n - 1] : 1.96 + 2.4 / (n - 1)) * sqrt(v / (n - 1) / n)
		printf "%.3fx, 95%% interval %.3f to %.3f, ahead in %d of %d rounds\n", exp(m), exp(m - half), exp(m + half), ahead, n
	}'
}
