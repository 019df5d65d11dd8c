#!/usr/bin/env bash
# lab up, pgchaos's way vs the tutorial's way, on this machine.
#
#   pgchaos:  `pgchaos lab up` until it says ready (replication proven in
#             every direction with a marker row, HAProxy serving every backend)
#   tutorial: `docker-compose up -d` (waits for both primaries healthy),
#             `./setup-replication.sh`, then a row inserted on primary1 until
#             it is seen on primary2
# Each ROUNDS times (default 5), alternating; prints median/min/max, and the
# time of `lab down` / `docker-compose down -v`. Needs the images (make images).
#
# VARIANTS="native pglogical native:3 native:5" times `pgchaos lab up
# --engine E --nodes N` for each ENGINE[:NODES] (NODES 2 to 5, default 2;
# every primary gets a free port); ENGINES="native pglogical" is the older
# spelling of two-node variants, used when VARIANTS is unset (default:
# native). PGLOGICAL_IMAGE names the PostgreSQL image for pglogical
# (default: the lab's choice). TUTORIAL=0 skips the tutorial way. LAB_NAME
# names the lab (default bench-labup). The 1-minute load average is read
# before each lab up and summed up at the end: on a shared machine it says
# more about the spread than the code does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rounds=${ROUNDS:-5}
export PATH="$PATH:/usr/local/go/bin"
go build -o bin/pgchaos ./cmd/pgchaos
compose_cmd=(docker-compose)
command -v docker-compose >/dev/null || compose_cmd=(docker compose)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
ms() { python3 -c "print(round(($2-$1)*1000))"; }

export POSTGRES_IMAGE=${POSTGRES_IMAGE:-pgchaos-local/postgres:18} HAPROXY_IMAGE=${HAPROXY_IMAGE:-pgchaos-local/haproxy:3.2}
read -r -a variants <<<"${VARIANTS:-${ENGINES:-native}}"
for v in "${variants[@]}"; do
	case "$v" in
	native | pglogical | native:[2-5] | pglogical:[2-5]) ;;
	*) echo "variant $v: want ENGINE[:NODES], ENGINE native or pglogical, NODES 2 to 5" >&2; exit 2 ;;
	esac
done
tutorial=${TUTORIAL:-1}
name=${LAB_NAME:-bench-labup}
declare -A up_e down_e
up_t=(); down_t=(); loads=()
for i in $(seq "$rounds"); do
	line="round $i:"
	for v in "${variants[@]}"; do
		engine=${v%%:*} nodes=2
		[ "$v" = "$engine" ] || nodes=${v#*:}
		ports=()
		for n in $(seq "$nodes"); do ports+=(--port-primary"$n" "$(free_port)"); done
		hp=$(free_port); st=$(free_port)
		extra=(--engine "$engine" --nodes "$nodes")
		[ "$engine" = pglogical ] && [ -n "${PGLOGICAL_IMAGE:-}" ] && extra+=(--postgres-image "$PGLOGICAL_IMAGE")
		loads+=("$(cut -d' ' -f1 /proc/loadavg)")
		t0=$(now)
		if ! bin/pgchaos lab up --name "$name" "${extra[@]}" "${ports[@]}" --port-haproxy "$hp" --port-stats "$st" >/tmp/bench-labup.log 2>&1; then
			echo "lab up $v failed (round $i):" >&2; tail -5 /tmp/bench-labup.log >&2
			bin/pgchaos lab down --name "$name" >/dev/null 2>&1 || true
			exit 1
		fi
		t1=$(now)
		bin/pgchaos lab down --name "$name" >/dev/null 2>&1
		t2=$(now)
		up_e[$v]+="$(ms "$t0" "$t1") "; down_e[$v]+="$(ms "$t1" "$t2") "
		line+=" $v up $(ms "$t0" "$t1") ms, down $(ms "$t1" "$t2") ms (load ${loads[-1]}) |"
	done
	if [ "$tutorial" = 0 ]; then
		echo "$line" >&2
		continue
	fi

	export PRIMARY1_PORT=$(free_port) PRIMARY2_PORT=$(free_port) HAPROXY_PORT=$(free_port) STATS_PORT=$(free_port)
	t0=$(now)
	(cd compose && "${compose_cmd[@]}" -p benchtutorial -f docker-compose-primary-primary.yml up -d >/dev/null 2>&1 && ./setup-replication.sh >/dev/null)
	docker exec postgres-primary1 psql -qAt -U postgres -c "INSERT INTO test_table (name) VALUES ('bench')" >/dev/null
	until [ "$(docker exec postgres-primary2 psql -qAt -U postgres -c "SELECT count(*) FROM test_table WHERE name = 'bench'")" = 1 ]; do sleep 0.02; done
	t1=$(now)
	(cd compose && "${compose_cmd[@]}" -p benchtutorial -f docker-compose-primary-primary.yml down -v >/dev/null 2>&1)
	t2=$(now)
	up_t+=("$(ms "$t0" "$t1")"); down_t+=("$(ms "$t1" "$t2")")
	echo "$line tutorial up ${up_t[-1]} ms, down ${down_t[-1]} ms" >&2
done

stats() { python3 -c 'import sys,statistics as s; v=[int(x) for x in sys.argv[1:]]; print(f"{s.median(v)/1000:6.2f} s  (min {min(v)/1000:.2f}, max {max(v)/1000:.2f})")' "$@"; }
echo
echo "lab up until replication proven in every direction ($rounds rounds, $(nproc) cores)"
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086 # the values are space-separated numbers
	printf '  pgchaos lab up %-12s %s\n' "$v" "$(stats ${up_e[$v]})"
done
[ "$tutorial" = 0 ] || echo "  tutorial compose+setup      $(stats "${up_t[@]}")"
echo "lab down"
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086
	printf '  pgchaos lab down %-10s %s\n' "$v" "$(stats ${down_e[$v]})"
done
[ "$tutorial" = 0 ] || echo "  compose down -v             $(stats "${down_t[@]}")"
python3 -c 'import sys,statistics as s; v=[float(x) for x in sys.argv[1:]]; print(f"load average (1 min) before each lab up: median {s.median(v):.1f}, min {min(v):.1f}, max {max(v):.1f}")' "${loads[@]}"
