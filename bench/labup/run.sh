#!/usr/bin/env bash
# lab up, pgchaos's way vs the tutorial's way, on this machine.
#
#   pgchaos:  `pgchaos lab up` until it says ready (replication proven both
#             ways with a marker row, HAProxy serving both backends)
#   tutorial: `docker-compose up -d` (waits for both primaries healthy),
#             `./setup-replication.sh`, then a row inserted on primary1 until
#             it is seen on primary2
# Each ROUNDS times (default 5), alternating; prints median/min/max, and the
# time of `lab down` / `docker-compose down -v`. Needs the images (make images).
#
# ENGINES="native pglogical" times `pgchaos lab up --engine E` for each
# engine (default: native); PGLOGICAL_IMAGE names the PostgreSQL image for
# pglogical (default: the lab's choice). TUTORIAL=0 skips the tutorial way.
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
read -r -a engines <<<"${ENGINES:-native}"
tutorial=${TUTORIAL:-1}
declare -A up_e down_e
up_t=(); down_t=()
for i in $(seq "$rounds"); do
	line="round $i:"
	for engine in "${engines[@]}"; do
		p1=$(free_port); p2=$(free_port); hp=$(free_port); st=$(free_port)
		extra=(--engine "$engine")
		[ "$engine" = pglogical ] && [ -n "${PGLOGICAL_IMAGE:-}" ] && extra+=(--postgres-image "$PGLOGICAL_IMAGE")
		t0=$(now)
		bin/pgchaos lab up --name bench-labup "${extra[@]}" --port-primary1 "$p1" --port-primary2 "$p2" --port-haproxy "$hp" --port-stats "$st" >/dev/null 2>&1
		t1=$(now)
		bin/pgchaos lab down --name bench-labup >/dev/null 2>&1
		t2=$(now)
		up_e[$engine]+="$(ms "$t0" "$t1") "; down_e[$engine]+="$(ms "$t1" "$t2") "
		line+=" pgchaos $engine up $(ms "$t0" "$t1") ms, down $(ms "$t1" "$t2") ms |"
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
echo "lab up until replication proven both ways ($rounds rounds, $(nproc) cores)"
for engine in "${engines[@]}"; do
	# shellcheck disable=SC2086 # the values are space-separated numbers
	printf '  pgchaos lab up %-10s %s\n' "$engine" "$(stats ${up_e[$engine]})"
done
[ "$tutorial" = 0 ] || echo "  tutorial compose+setup    $(stats "${up_t[@]}")"
echo "lab down"
for engine in "${engines[@]}"; do
	# shellcheck disable=SC2086
	printf '  pgchaos lab down %-8s %s\n' "$engine" "$(stats ${down_e[$engine]})"
done
[ "$tutorial" = 0 ] || echo "  compose down -v           $(stats "${down_t[@]}")"
