#!/usr/bin/env bash
# Entrypoint with the interface of the official postgres image, for images
# built from Debian's packages (see images/build.sh):
#   - POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#     POSTGRES_USER (default postgres), POSTGRES_DB (default $POSTGRES_USER),
#     POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD;
#   - initdb on an empty $PGDATA, then /docker-entrypoint-initdb.d/*.sh|*.sql;
#   - arguments pass through: "postgres -c wal_level=logical", or just
#     "-c wal_level=logical";
#   - started as root, it fixes ownership and drops to the postgres user.
set -Eeuo pipefail

log() { echo "docker-entrypoint: $*" >&2; }

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
	exec "$@"
fi

if [ "$(id -u)" = '0' ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 00700 "$PGDATA"
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	# setpriv (util-linux, always present) plays the part of gosu.
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_USER:=postgres}"
	: "${POSTGRES_DB:=$POSTGRES_USER}"
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		cat >&2 <<-'EOM'
			Error: Database is uninitialized and superuser password is not specified.
			       Set POSTGRES_PASSWORD to a non-empty value for the superuser,
			       e.g. "-e POSTGRES_PASSWORD=password", or POSTGRES_HOST_AUTH_METHOD=trust.
		EOM
		exit 1
	fi
	log "initializing database in $PGDATA"
	pwfile=$(mktemp)
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is word-split on purpose, as upstream does.
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --locale=C.UTF-8 \
		--auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
		${POSTGRES_INITDB_ARGS:-} -D "$PGDATA" >/dev/null
	rm -f "$pwfile"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	echo "host all all all $POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

	# A socket-only server for the init scripts, like upstream's.
	pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -p 5432" start >/dev/null
	export PGUSER="$POSTGRES_USER" PGDATABASE=postgres
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		psql -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$POSTGRES_DB\""
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
		*.sh) log "running $f"; . "$f" ;;
		*.sql) log "running $f"; psql -v ON_ERROR_STOP=1 -q -d "$POSTGRES_DB" -f "$f" ;;
		*) log "ignoring $f" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	unset PGUSER PGDATABASE
	log "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
