#!/usr/bin/env bash
# A/B of client builds on one running lab: each argument is a bench-insert
# binary (built from any revision: go build -o /tmp/new ./bench/insert) or
# the word pgbench. Rounds run them in turn and print, per run, the
# throughput, the client's CPU per op, and the whole machine's CPU per op
# and idle share (from /proc/stat, iowait counted as idle): on a 2-core
# machine the CPU per op shows a change's cost even when throughput noise
# hides it, and the idle share shows whether a client leaves the servers
# waiting on it (2026-11-27, 6 rounds of 30 s: 8-11% idle for pgchaos and
# pgbench alike). Round r starts with the r-th argument
# and wraps around, so no client always runs right after the same other one:
# with a fixed order, the same code built with Go 1.26.8 and 1.27.3 came out
# 3% apart over 12 rounds, and 1.3% the other way with the order balanced.
# At the end, each client's mean and its paired ratio to the last argument.
#
#   PGCHAOS_BENCH_DSN=postgres://...5442... PGCHAOS_BENCH_PEER_DSN=postgres://...5443... \
#     bench/insert/ab.sh /tmp/old /tmp/new pgbench
#
# Knobs: DURATION (15, seconds), ROUNDS (4), CLIENTS (8).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-4}
CLIENTS=${CLIENTS:-8}
dsn=${PGCHAOS_BENCH_DSN:?set PGCHAOS_BENCH_DSN to a lab primary (pgchaos lab status shows the ports)}
peer=${PGCHAOS_BENCH_PEER_DSN:?set PGCHAOS_BENCH_PEER_DSN to the other primary of the lab}
(($# > 0)) || {
	echo "usage: $0 BINARY|pgbench ..." >&2
	exit 2
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# As run.sh (prepare.sh): the table exists on both nodes, without
# autovacuum, and every run starts from an empty table, a caught-up peer and
# fresh checkpoints.
first=""
for c in "$@"; do [[ $c != pgbench ]] && first=$c && break; done
[[ -n $first ]] || {
	echo "give at least one bench-insert binary: it creates the table" >&2
	exit 2
}
"$first" -dsn "$dsn" -peer-dsn "$peer" -clients 1 -duration 1s -dir "$work" >/dev/null 2>&1
# shellcheck source=bench/insert/prepare.sh
. "$here/prepare.sh"
no_autovacuum
pgbench_args prepared "$CLIENTS" "$DURATION"
# busy idle: user nice system irq softirq, and idle iowait, in ticks
ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
hz=$(getconf CLK_TCK)

args=("$@")
n=${#args[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	for ((i = 0; i < n; i++)); do
		k=$(((i + r - 1) % n))
		c=${args[k]}
		settle
		read -r b0 i0 < <(ticks)
		if [[ $c == pgbench ]]; then
			ops=$(/usr/bin/time -f "%U %S" -o "$work/cpu" "${pgbench_cmd[@]}" 2>/dev/null | awk '/^tps = / { print $3 }')
		else
			ops=$(/usr/bin/time -f "%U %S" -o "$work/cpu" "$c" -dsn "$dsn" -clients "$CLIENTS" -duration "${DURATION}s" -dir "$work" 2>/dev/null)
		fi
		read -r b1 i1 < <(ticks)
		read -r u s <"$work/cpu"
		echo "$ops" >>"$work/ops.$k"
		awk -v c="$c" -v o="$ops" -v u="$u" -v s="$s" -v d="$DURATION" -v m=$((b1 - b0)) -v idle=$((i1 - i0)) -v hz="$hz" 'BEGIN {
			n = o * d
			printf "%-24s %8.1f ops/s   client user %4.1f sys %4.1f µs/op   machine %4.0f µs/op, %4.1f%% idle\n", c, o, u / n * 1e6, s / n * 1e6, m / hz / n * 1e6, 100 * idle / (m + idle)
		}'
	done
done

# Per client: mean ops/s, and each round's figure over the last argument's.
last=$((n - 1))
for ((k = 0; k < n; k++)); do
	mean=$(awk '{ s += $1 } END { printf "%.1f", s / NR }' "$work/ops.$k")
	if ((k == last)); then
		printf '%-24s %8s ops/s (mean)\n' "${args[k]}" "$mean"
	else
		printf '%-24s %8s ops/s (mean), over %s: %s\n' "${args[k]}" "$mean" "${args[last]}" "$(paste "$work/ops.$k" "$work/ops.$last" | paired_ratio)"
	fi
done
