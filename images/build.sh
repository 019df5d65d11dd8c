#!/usr/bin/env bash
# Builds the lab's images from Debian's packages, for machines that cannot
# reach a container registry. Same interface as the official images:
#
#   pgchaos-local/postgres:18   Debian forky,  postgresql-18 (like postgres:18),
#                               plus postgresql-18-pglogical (engine: pglogical)
#   pgchaos-local/postgres:17   Debian trixie, postgresql-17 (like postgres:17),
#                               plus postgresql-17-pglogical
#   pgchaos-local/postgres:19   Debian sid + experimental, postgresql-19 (19~rc1
#                               when written; no pglogical for 19). Opt-in: only
#                               built when named (images/build.sh postgres19)
#   pgchaos-local/haproxy:3.2   Debian forky,  haproxy 3.2   (like haproxy:3.2)
#   pgchaos-local/nettools:2    iproute2 + iptables + pgchaos-linkproxy, for
#                               network faults (the proxy is built with Go)
#
# Usage: images/build.sh [postgres18] [postgres17] [postgres19] [haproxy] [nettools]
#        (no argument: all of them but postgres19). Images already present are not rebuilt;
#        FORCE=1 rebuilds them. MIRROR overrides the Debian mirror.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mirror=${MIRROR:-http://deb.debian.org/debian}
repo=${PGCHAOS_IMAGE_REPO:-pgchaos-local}
start_all=$(date +%s)

say() { printf '[images %3ss] %s\n' "$(($(date +%s) - start_all))" "$*" >&2; }
die() { printf 'images: %s\n' "$*" >&2; exit 1; }

have_image() { [ -z "${FORCE:-}" ] && docker image inspect "$1" >/dev/null 2>&1; }

# has_package IMAGE PACKAGE: the Debian package is installed in the image.
# Images built before pglogical was added lack it: they are rebuilt, and
# so is the root filesystem under them.
has_package() { docker run --rm --entrypoint dpkg-query "$1" -W -f='${Status}' "$2" 2>/dev/null | grep -q 'install ok installed'; }

# have_postgres IMAGE MAJOR: present and carrying pglogical (Debian has no
# pglogical for 19: that image is only checked for the server).
have_postgres() {
	if [ "$2" = 19 ]; then
		have_image "$1" && has_package "$1" postgresql-19
		return
	fi
	have_image "$1" && has_package "$1" "postgresql-$2-pglogical"
}

preflight() {
	command -v docker >/dev/null || die "the docker CLI is not installed; install docker.io (Debian) or Docker Engine"
	docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (is the daemon running? is DOCKER_HOST right?)"
	if ! command -v mmdebstrap >/dev/null; then
		[ "$(id -u)" = 0 ] || die "mmdebstrap is missing: run 'sudo apt-get install -y mmdebstrap'"
		say "installing mmdebstrap from Debian's packages"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
	fi
	[ "$(id -u)" = 0 ] || die "building a root filesystem needs root (mmdebstrap in root mode): run 'sudo make images'"
}

# rootfs SUITE PACKAGES... -> imports a trimmed Debian root filesystem as
# $repo/rootfs:SUITE (kept, so later builds of other images reuse it).
rootfs() {
	local suite=$1; shift
	local tag="$repo/rootfs:$suite"
	local pkg
	for pkg in "$@"; do
		case "$pkg" in *-pglogical) ;; *) continue ;; esac
		if have_image "$tag" && ! has_package "$tag" "$pkg"; then
			say "$tag lacks $pkg: rebuilding it"
			local FORCE=1
		fi
	done
	if have_image "$tag"; then
		say "$tag present"
		return
	fi
	local sources="deb $mirror $suite main" base=$suite
	if [ "$suite" = trixie ]; then
		sources+=$'\n'"deb ${mirror%/debian}/debian-security trixie-security main"
	fi
	# experimental is not a whole suite: it holds only the packages newer
	# than sid's, so it is sid plus experimental. apt gives experimental
	# priority 1 (NotAutomatic), so only what exists nowhere else (the
	# postgresql-19 packages) comes from it; the rest is sid's. Except
	# libpq5: postgresql-client-19 needs libpq5 >= 19~rc1, which sid (18.x)
	# lacks and apt's solver will not take from a priority-1 suite by
	# itself, so a pin raises experimental's libpq5 to sid's priority.
	local extra=()
	if [ "$suite" = experimental ]; then
		base=sid
		sources="deb $mirror sid main"$'\n'"deb $mirror experimental main"
		extra+=(--setup-hook='mkdir -p "$1"/etc/apt/preferences.d && printf "Package: libpq5\nPin: release a=experimental\nPin-Priority: 500\n" > "$1"/etc/apt/preferences.d/pgchaos-libpq5')
	fi
	local t0=$(date +%s)
	say "building root filesystem for Debian $suite ($*)"
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	# Check-Valid-Until=false: testing's Release file can carry an expired
	# Valid-Until; signatures are still verified with the host's keyring.
	# One retry: a mirror hiccup should not fail a whole CI run.
	local attempt
	for attempt in 1 2; do
		if printf '%s\n' "$sources" | mmdebstrap --quiet --variant=minbase \
			--aptopt='Acquire::Check-Valid-Until "false"' \
			--aptopt='APT::Install-Recommends "false"' \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/info/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--include="$(IFS=,; echo "$*")" \
			--customize-hook='for v in $(chroot "$1" sh -c "ls /etc/postgresql 2>/dev/null"); do chroot "$1" pg_dropcluster "$v" main; done' \
			"${extra[@]}" \
			--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log' \
			"$base" "$tmp/rootfs.tar" - >&2; then
			break
		fi
		[ "$attempt" = 2 ] && die "mmdebstrap of Debian $suite failed twice (is the Debian mirror $mirror reachable?)"
		say "mmdebstrap failed; retrying once"
	done
	say "importing $tag ($(du -h "$tmp/rootfs.tar" | cut -f1) tar)"
	docker import --message "pgchaos rootfs $suite" "$tmp/rootfs.tar" "$tag" >/dev/null
	say "$tag done in $(($(date +%s) - t0))s"
}

# build TAG DIR BUILD-ARGS...: DIR is under images/, or an absolute path.
build() {
	local tag=$1 dir=$2; shift 2
	if have_image "$tag" && { [[ $tag != */postgres:* ]] || have_postgres "$tag" "${tag##*:}"; }; then
		say "$tag present, not rebuilt"
		return
	fi
	[[ $dir = /* ]] || dir=$here/$dir
	local t0=$(date +%s) tmpl
	tmpl=$(mktemp)
	DOCKER_BUILDKIT=0 docker build --quiet --label org.pgchaos.built-by=images/build.sh -t "$tag" "$@" "$dir" >"$tmpl" 2>&1 || { cat "$tmpl" >&2; die "docker build of $tag failed"; }
	rm -f "$tmpl"
	say "$tag built in $(($(date +%s) - t0))s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# nettools_context -> prints a temporary build context: the nettools
# Dockerfile and pgchaos-linkproxy built from this checkout (static, so it
# runs on any base). The caller removes it.
nettools_context() {
	command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
	command -v go >/dev/null || die "Go is needed to build pgchaos-linkproxy for the nettools image: install it (https://go.dev/dl) or put it on PATH"
	local ctx
	ctx=$(mktemp -d)
	cp "$here/nettools/Dockerfile" "$ctx/"
	(cd "$here/.." && CGO_ENABLED=0 go build -trimpath -o "$ctx/pgchaos-linkproxy" ./cmd/pgchaos-linkproxy) >&2 ||
		{ rm -rf "$ctx"; die "go build of pgchaos-linkproxy failed"; }
	echo "$ctx"
}

want=("$@")
# postgres19 is opt-in: a third root filesystem (sid + experimental) costs
# CI a minute and ~300 MB for a release candidate.
[ ${#want[@]} -gt 0 ] || want=(postgres18 postgres17 haproxy nettools)

needed=()
for w in "${want[@]}"; do
	case "$w" in
	postgres18) have_postgres "$repo/postgres:18" 18 || needed+=("$w") ;;
	postgres17) have_postgres "$repo/postgres:17" 17 || needed+=("$w") ;;
	postgres19) have_postgres "$repo/postgres:19" 19 || needed+=("$w") ;;
	haproxy) have_image "$repo/haproxy:3.2" || needed+=("$w") ;;
	nettools) have_image "$repo/nettools:2" || needed+=("$w") ;;
	*) die "unknown image '$w' (known: postgres18 postgres17 postgres19 haproxy nettools)" ;;
	esac
done
if [ ${#needed[@]} -eq 0 ]; then
	say "all requested images present (${want[*]}); FORCE=1 rebuilds"
	exit 0
fi
preflight

for w in "${needed[@]}"; do
	case "$w" in
	postgres18|haproxy|nettools)
		# One forky root filesystem serves three images, so they share a layer.
		rootfs forky postgresql-18 postgresql-18-pglogical haproxy iproute2 iptables procps ;;
	postgres17)
		rootfs trixie postgresql-17 postgresql-17-pglogical procps ;;
	postgres19)
		rootfs experimental postgresql-19 procps ;;
	esac
	case "$w" in
	postgres18) build "$repo/postgres:18" postgres --build-arg BASE="$repo/rootfs:forky" \
		--build-arg PG_MAJOR=18 --build-arg PGDATA_DIR=/var/lib/postgresql/18/docker ;;
	postgres17) build "$repo/postgres:17" postgres --build-arg BASE="$repo/rootfs:trixie" \
		--build-arg PG_MAJOR=17 --build-arg PGDATA_DIR=/var/lib/postgresql/data ;;
	postgres19) build "$repo/postgres:19" postgres --build-arg BASE="$repo/rootfs:experimental" \
		--build-arg PG_MAJOR=19 --build-arg PGDATA_DIR=/var/lib/postgresql/19/docker ;;
	haproxy) build "$repo/haproxy:3.2" haproxy --build-arg BASE="$repo/rootfs:forky" ;;
	nettools)
		ctx=$(nettools_context)
		build "$repo/nettools:2" "$ctx" --build-arg BASE="$repo/rootfs:forky"
		rm -rf "$ctx" ;;
	esac
done
say "done in $(($(date +%s) - start_all))s"
