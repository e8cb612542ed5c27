#!/bin/sh
# Installs what keeper's build, tests and demo need and are missing:
#  - Debian packages (compiler, pkg-config, the -dev libraries, node/npm),
#    with apt-get as root after `apt-get update`;
#  - anvil, cast and solc from npm into .deps/ (ignored by git), pinned.
# Idempotent and quiet when everything is there already.
set -eu
cd "$(dirname "$0")/.."

PKGS="make gcc libc6-dev pkg-config libsecp256k1-dev libconfig-dev \
libwebsockets-dev libcurl4-openssl-dev libssl-dev libjansson-dev libjsmn-dev zlib1g-dev \
ca-certificates systemd"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing="$missing $p"
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages:$missing" >&2
		echo "deps: run as root, or: sudo apt-get install -y$missing" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

NPM_PKGS="@foundry-rs/anvil@1.7.1 @foundry-rs/cast@1.7.1 solc@0.8.37"
if [ ! -x .deps/node_modules/.bin/anvil ] || [ ! -x .deps/node_modules/.bin/cast ] \
	|| [ ! -x .deps/node_modules/.bin/solcjs ]; then
	echo "deps: installing $NPM_PKGS into .deps/"
	mkdir -p .deps
	# shellcheck disable=SC2086
	npm install --prefix .deps --no-audit --no-fund --loglevel=error $NPM_PKGS >/dev/null
fi
.deps/node_modules/.bin/cast --version >/dev/null
.deps/node_modules/.bin/anvil --version >/dev/null
