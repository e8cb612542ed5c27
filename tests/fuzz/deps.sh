#!/bin/sh
# Installs what `make fuzz` needs and is missing: Debian's clang, and the
# compiler-rt package that holds libFuzzer (libclang_rt.fuzzer) and the
# sanitizer runtimes for clang.  Idempotent and quiet when both are there.
set -eu
PKGS="clang libclang-rt-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "fuzz: missing Debian packages:$missing" >&2
	echo "fuzz: run as root, or: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "fuzz: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
