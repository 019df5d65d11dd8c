#!/usr/bin/env bash
# Soak reliability: a long run with a fault every minute (or a max-rate run
# with no fault), sampling pgchaos's RSS every 10 s, then checking what a
# soak must leave behind: no leaked container, every fault healed, the
# history on disk complete (every op the report counts is a line of it).
#
#   bench/soak/run.sh faults 30m     # a fault a minute for 30 minutes
#   bench/soak/run.sh maxrate 10m    # inserts as fast as they go, no faults
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mode=${1:-faults}
dur=${2:-30m}
export PATH="$PATH:/usr/local/go/bin"
go build -o bin/pgchaos ./cmd/pgchaos
out=$(mktemp -d /tmp/pgchaos-soak.XXXX)
scen=$out/scenario.yaml
mins=$(python3 -c "import re,sys; d='$dur'; m=re.fullmatch(r'(\d+)m',d); print(int(m.group(1)) if m else 0)")

if [ "$mode" = maxrate ]; then
	cat >"$scen" <<YAML
name: soak-maxrate
duration: $dur
workloads:
  - kind: insert
    targets: [primary1, primary2, haproxy]
    concurrency: 8
assert:
  lost_writes: 0
  converged: true
YAML
else
	{
		echo "name: soak-faults"
		echo "duration: $dur"
		echo "seed: 1"
		echo "workloads:"
		echo "  - { kind: insert, targets: [primary1, primary2, haproxy], concurrency: 4, rate: 200/s }"
		echo "  - { kind: bank, targets: [primary1], concurrency: 2, rows: 20, rate: 50/s }"
		echo "faults:"
		kinds=("kill primary1" "partition" "pause primary2" "stop primary2" "loss" "isolate primary1" "failover primary1" "kill primary2" "restart primary1" "pause primary1")
		for ((i = 0; i < mins - 1; i++)); do
			set -- ${kinds[$((i % ${#kinds[@]}))]}
			at="$((i + 1))m"
			case "$1" in
			partition) echo "  - { kind: partition, at: $at, for: 20s, between: [primary1, primary2] }" ;;
			loss) echo "  - { kind: loss, at: $at, for: 20s, between: [primary1, primary2], loss: 30% }" ;;
			failover) echo "  - { kind: failover, at: $at, for: 20s, from: $2 }" ;;
			restart) echo "  - { kind: restart, at: $at, node: $2 }" ;;
			*) echo "  - { kind: $1, at: $at, for: 15s, node: $2 }" ;;
			esac
		done
		echo "assert: { lost_writes: 0, divergent_rows: 0, converged: true, stalls: 0, bank_invariant: true }"
	} >"$scen"
fi
bin/pgchaos validate "$scen" >/dev/null

bin/pgchaos run "$scen" --report-dir "$out" --format none --quiet 2>"$out/stderr.log" &
pid=$!
echo "soak $mode $dur: pid $pid, output in $out" >&2
echo "t_s,rss_mib" >"$out/rss.csv"
t0=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
	rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || true)
	[ -n "$rss" ] && echo "$(($(date +%s) - t0)),$((rss / 1024))" >>"$out/rss.csv"
	sleep 10
done
code=0
wait "$pid" || code=$?

echo
echo "exit code: $code (0 pass, 1 an assertion failed)"
python3 - "$out" <<'PY'
import csv, json, sys, subprocess
out = sys.argv[1]
rows = [(int(r["t_s"]), int(r["rss_mib"])) for r in csv.DictReader(open(f"{out}/rss.csv"))]
if rows:
    n = len(rows)
    first, mid, last = rows[min(6, n - 1)], rows[n // 2], rows[-1]
    print(f"RSS MiB: min {min(r[1] for r in rows)}, max {max(r[1] for r in rows)}; at 1 min {first[1]}, half-way {mid[1]}, at the end {last[1]}")
    step = max(1, n // 12)
    print("RSS curve (t s: MiB): " + ", ".join(f"{t}: {m}" for t, m in rows[::step]))
rep = json.load(open(f"{out}/report.json"))
faults = rep.get("faults", [])
unhealed = [f for f in faults if f.get("healed_at_ms") is None or f.get("heal_error")]
print(f"faults: {len(faults)} injected, {len(unhealed)} not healed")
ops = sum(w["ops"] for w in rep["workloads"])
lines = sum(1 for _ in open(f"{out}/history.jsonl"))
print(f"history: {lines} lines on disk, report counts {ops} ops -> {'complete' if lines == ops else 'MISMATCH'}")
print(f"verdict: {rep['verdict']}; " + ", ".join(f"{a['name']} {a['actual']} ({'ok' if a['pass'] else 'FAIL'})" for a in rep["assertions"]))
left = subprocess.run(["docker", "ps", "-aq", "--filter", "label=pgchaos.role=helper"], capture_output=True, text=True).stdout.split()
name = rep["lab"]["name"]
labs = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=pgchaos.lab={name}"], capture_output=True, text=True).stdout.split()
nets = subprocess.run(["docker", "network", "ls", "-q", "--filter", f"label=pgchaos.lab={name}"], capture_output=True, text=True).stdout.split()
print(f"leaked helper containers: {len(left)}; the run's lab {name} left {len(labs)} containers and {len(nets)} networks")
PY
