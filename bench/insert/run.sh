#!/usr/bin/env bash
# Insert throughput: pgchaos's insert workload vs pgbench running the same
# INSERT, same client count, same primary, alternating rounds.
#
#   bench/insert/run.sh                      # brings up a lab "bench-insert" on free ports, removes it after
#   PGCHAOS_BENCH_DSN=postgres://... bench/insert/run.sh   # use an existing primary instead
#   (with PGCHAOS_BENCH_PEER_DSN, the other primary of its lab: the table is
#   made there too, so replication runs as in a pgchaos run)
#
# It prints each round's throughput and client CPU per op, the paired
# ratio over the rounds, and each tool's per-second throughput across all
# rounds (percentiles, and the spread within a round): whether one tool
# stalls now and then where the other does not.
#
# TOGETHER=1 runs the two side by side instead, each with CLIENTS clients
# against the same primary at the same time, and compares their ops per
# second over the seconds both ran through (the 3rd to the 3rd before the
# end). Taking turns, each round meets the machine in another state (round
# means here vary by a third for either tool, whole minutes at a time);
# side by side, both meet the same one every second, that noise cancels,
# and what is left is which client gets more of its ops through.
#
# Knobs: CLIENTS (8), DURATION (30, seconds; at least 8 with TOGETHER),
# ROUNDS (2), TOGETHER (0), PGBENCH_MODE (prepared: pgchaos also executes a
# prepared statement, so the protocols match but for the Describe that
# pgchaos leaves out; "simple" is pgbench's default).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CLIENTS=${CLIENTS:-8}
DURATION=${DURATION:-30}
ROUNDS=${ROUNDS:-2}
PGBENCH_MODE=${PGBENCH_MODE:-prepared}
TOGETHER=${TOGETHER:-0}
if ((TOGETHER && DURATION < 8)); then
	echo "TOGETHER=1 needs DURATION of at least 8 seconds: it compares the seconds from the 3rd to the 3rd before the end" >&2
	exit 2
fi

if ! command -v pgbench >/dev/null || ! command -v psql >/dev/null; then
	echo "installing postgresql-client (pgbench, psql)" >&2
	apt-get install -y postgresql-client >&2
fi

if [[ ! -x /usr/bin/time ]]; then
	echo "installing time (client CPU per op)" >&2
	apt-get install -y time >&2
fi

work=$(mktemp -d)
lab_name=""
cleanup() {
	if [[ -n "$lab_name" ]]; then
		"$work/pgchaos" lab down --name "$lab_name" >&2 || echo "lab down failed: run pgchaos lab down --name $lab_name" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
go build -o "$work/pgchaos" ./cmd/pgchaos
go build -o "$work/bench-insert" ./bench/insert

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

dsn=${PGCHAOS_BENCH_DSN:-}
peer=${PGCHAOS_BENCH_PEER_DSN:-}
if [[ -z "$dsn" ]]; then
	lab_name=bench-insert
	p1=$(free_port) p2=$(free_port) ph=$(free_port) ps=$(free_port)
	"$work/pgchaos" lab up --name "$lab_name" --port-primary1 "$p1" --port-primary2 "$p2" \
		--port-haproxy "$ph" --port-stats "$ps" >&2
	dsn="postgres://postgres:postgres@127.0.0.1:$p1/postgres?sslmode=disable"
	peer="postgres://postgres:postgres@127.0.0.1:$p2/postgres?sslmode=disable"
fi

# The table comes from the workload's own setup: a 1-second run creates it.
"$work/bench-insert" -dsn "$dsn" -peer-dsn "$peer" -clients 1 -duration 1s -dir "$work" >/dev/null

# shellcheck source=bench/insert/prepare.sh
. "$here/prepare.sh"
no_autovacuum
pgbench_args "$PGBENCH_MODE" "$CLIENTS" "$DURATION"
# Measured runs also print each second's tps (-P 1), as bench-insert
# writes each second's ops (-per-second).
pgbench_progress=("${pgbench_cmd[0]}" -P 1 "${pgbench_cmd[@]:1}")

# Client CPU (user + sys) per op, in µs: on a small machine the client
# competes with the servers for the same cores, so this explains a gap.
cpu_per_op() { awk -v ops="$2" -v d="$DURATION" '{ printf "%.1f", ($1 + $2) / (ops * d) * 1e6 }' "$1"; }

# Each tool's measured run, timed for its CPU.
ours_cmd=(/usr/bin/time -f "%U %S" -o "$work/cpu.ours" "$work/bench-insert" -dsn "$dsn" -clients "$CLIENTS"
	-duration "${DURATION}s" -dir "$work" -per-second "$work/sec")
theirs_cmd=(/usr/bin/time -f "%U %S" -o "$work/cpu.theirs" "${pgbench_progress[@]}")

# ours_done keeps bench-insert's seconds of round r.
ours_done() { awk -v r="$r" '{ print r, $1 }' "$work/sec" >>"$work/sec.ours"; }
# theirs_done STATUS stops the benchmark if pgbench failed, else keeps its
# seconds of round r and sets t to its tps.
theirs_done() {
	if (($1)); then
		cat "$work/pgbench.out" >&2
		exit 1
	fi
	awk -v r="$r" '/^progress: / { print r, $4 }' "$work/pgbench.out" >>"$work/sec.theirs"
	t=$(awk '/^tps = / { print $3; exit }' "$work/pgbench.out")
}

run_ours() {
	settle
	o=$("${ours_cmd[@]}")
	ours_done
	ours+=("$o")
	ours_cpu+=("$(cpu_per_op "$work/cpu.ours" "$o")")
	echo "round $r pgchaos: $o ops/s" >&2
}
run_theirs() {
	settle
	local rc=0
	"${theirs_cmd[@]}" >"$work/pgbench.out" 2>&1 || rc=$?
	theirs_done "$rc"
	theirs+=("$t")
	theirs_cpu+=("$(cpu_per_op "$work/cpu.theirs" "$t")")
	echo "round $r pgbench: $t tps" >&2
}

# Side by side: both start at once; each round's figure is the mean of the
# seconds both surely ran through, from each tool's own per-second counts.
# Client CPU per op is over each tool's whole run.
run_together() {
	settle
	"${theirs_cmd[@]}" >"$work/pgbench.out" 2>&1 &
	local pb=$! whole rc=0
	whole=$("${ours_cmd[@]}")
	wait "$pb" || rc=$?
	theirs_done "$rc"
	ours_done
	ours_cpu+=("$(cpu_per_op "$work/cpu.ours" "$whole")")
	theirs_cpu+=("$(cpu_per_op "$work/cpu.theirs" "$t")")
	o=$(awk -v d="$DURATION" 'NR > 2 && NR <= d - 3 { s += $1; n++ } END { printf "%.1f", s / n }' "$work/sec")
	t=$(awk -v d="$DURATION" '/^progress: / && ++n > 2 && n <= d - 3 { s += $4; k++ } END { printf "%.1f", s / k }' "$work/pgbench.out")
	ours+=("$o")
	theirs+=("$t")
	echo "round $r side by side: pgchaos $o ops/s, pgbench $t tps" >&2
}

# One unmeasured run first: a new lab's first minute of inserts also
# creates WAL segment files that later runs recycle.
r=0
settle
"${pgbench_cmd[@]}" >/dev/null 2>&1
echo "warm-up run done" >&2

# Rounds alternate which tool goes first, so a drift over the run (the
# table's files growing, the disk's caches) does not favour either. Round 1
# starts with pgbench, the tool of the warm-up run: then, over an even
# number of rounds, each tool runs as often right after itself as right
# after the other. (Starting with pgchaos, its first run came after
# pgbench's warm-up, one more run after the other tool than pgbench had;
# in 12 rounds on 2026-11-27 either tool ran 6-8% slower after the other's
# run than after its own, if within noise.)
declare -a ours theirs ours_cpu theirs_cpu
for ((r = 1; r <= ROUNDS; r++)); do
	if ((TOGETHER)); then
		run_together
	elif ((r % 2)); then
		run_theirs
		run_ours
	else
		run_ours
		run_theirs
	fi
done

printf '%-6s %14s %14s %8s %18s\n' round "pgchaos ops/s" "pgbench tps" ratio "client µs/op p/b"
for ((i = 0; i < ROUNDS; i++)); do
	awk -v r=$((i + 1)) -v a="${ours[i]}" -v b="${theirs[i]}" -v ca="${ours_cpu[i]}" -v cb="${theirs_cpu[i]}" \
		'BEGIN { printf "%-6s %14.1f %14.1f %7.2fx %9s/%s\n", r, a, b, a / b, ca, cb }'
done
printf '%s\n' "${ours[@]}" >"$work/ours"
printf '%s\n' "${theirs[@]}" >"$work/theirs"
awk 'NR == FNR { a += $1; n++; next } { b += $1 } END { printf "%-6s %14.1f %14.1f %7.2fx\n", "mean", a / n, b / n, a / b }' "$work/ours" "$work/theirs"
paste "$work/ours" "$work/theirs" | awk '{ print $1 / $2 }' | sort -g |
	awk '{ r[NR] = $1 } END { m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2; printf "%-6s %14s %14s %7.2fx\n", "median", "", "", m }'
printf '%-6s %14s %14s  %s\n' ratio "" "" "$(paste "$work/ours" "$work/theirs" | paired_ratio)"
# Each second of every round: a client that stalls now and then shows a
# fatter low tail, and a bigger spread within its rounds, than the other.
for who in ours theirs; do
	name=pgchaos
	[[ $who == theirs ]] && name=pgbench
	sort -k2,2g "$work/sec.$who" | awk -v n="$name" '
	{ v[NR] = $2; s[$1] += $2; ss[$1] += $2 * $2; c[$1]++ }
	END {
		for (r in c) { m = s[r] / c[r]; sd += sqrt(ss[r] / c[r] - m * m); rounds++ }
		printf "%-8s per second: p5 %.0f, p25 %.0f, p50 %.0f, p75 %.0f, p95 %.0f; spread within a round (sd) %.0f\n",
			n, v[int(NR * .05) + 1], v[int(NR * .25) + 1], v[int(NR * .5) + 1], v[int(NR * .75) + 1], v[int(NR * .95) + 1], sd / rounds
	}'
done
how="alternating"
((TOGETHER)) && how="side by side, each compared over seconds 3 to $((DURATION - 3))"
echo "($CLIENTS clients each, ${DURATION}s per round, $how, pgbench -M $PGBENCH_MODE -j 2)"
