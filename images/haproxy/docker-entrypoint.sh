#!/bin/sh
# Entrypoint with the interface of the official haproxy image: flags pass
# through to haproxy, which runs in master-worker mode in the foreground.
set -e

if [ "${1#-}" != "$1" ]; then
	set -- haproxy "$@"
fi

if [ "$1" = 'haproxy' ]; then
	shift
	set -- haproxy -W -db "$@"
fi

exec "$@"
