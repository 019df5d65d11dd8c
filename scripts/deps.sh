#!/usr/bin/env bash
# Installs what pgchaos's build, images and tests need from Debian's
# packages, when missing: mmdebstrap (image builds) and the psql/pgbench
# client (tutorial checks and the insert benchmark), chromium (the HTML
# report's browser test), openssh-server (the ssh:// docker_host test runs
# its own sshd on 127.0.0.1; the package's service is not used). Go and a Docker engine
# are expected on the machine already.
set -euo pipefail
missing=()
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v chromium >/dev/null || missing+=(chromium) # the HTML report's real-browser test
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server) # the ssh:// docker_host test starts its own sshd
command -v pgbench >/dev/null || { [[ " ${missing[*]} " == *" postgresql-client "* ]] || missing+=(postgresql-client); }
command -v docker >/dev/null || { echo "deps: the docker CLI and a Docker engine are required (Debian: apt-get install docker.io)" >&2; exit 1; }
command -v go >/dev/null || { echo "deps: Go 1.26+ is required (https://go.dev/dl/; /usr/local/go/bin on PATH)" >&2; exit 1; }
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}'" >&2
	exit 1
fi
echo "deps: installing ${missing[*]} from Debian's packages" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
