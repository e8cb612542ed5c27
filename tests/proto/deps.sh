#!/bin/sh
# Installs what only the event-loop prototypes (make proto) need beyond
# tests/deps.sh: libuv's headers and lws's libuv event-lib plugin, which
# lws 4.1 loads at run time when a context asks for LWS_SERVER_OPTION_LIBUV.
# Same rules as tests/deps.sh: apt-get as root, quiet when all is there.
set -eu
PKGS="libuv1-dev libwebsockets-evlib-uv"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "proto deps: missing Debian packages:$missing" >&2
	echo "proto deps: run as root, or: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "proto deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
