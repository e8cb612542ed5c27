# t_service.sh: etc/keeper.service is a unit systemd accepts, with the
# hardening issue 8 asks for, and the config shape its header documents is
# one keeper accepts.  Uses systemd-analyze (package systemd, installed by
# make deps) offline: nothing is started.
. tests/lib.sh

U=etc/keeper.service
if ! command -v systemd-analyze >/dev/null 2>&1; then
	t_fail systemd-analyze "not installed: run make deps (package systemd)"
	t_done
fi
# verify wants ExecStart to exist: point it at the build's binary.
kabs=$(cd "$(dirname "$KEEPER")" && pwd)/$(basename "$KEEPER")
sed "s|/usr/local/bin/keeper|$kabs|" "$U" >"$T_TMP/keeper.service"
run systemd-analyze verify "$T_TMP/keeper.service"
if [ "$T_RC" -eq 0 ] && [ ! -s "$T_TMP/out" ] && [ ! -s "$T_TMP/err" ]; then
	t_ok verify
else
	t_fail verify "exit $T_RC" "$(head -c 400 "$T_TMP/err") $(head -c 400 "$T_TMP/out")"
fi
run systemd-analyze security --offline=yes "$T_TMP/keeper.service"
level=$(grep -o 'Overall exposure level for keeper.service: [0-9.]*' "$T_TMP/out" | awk '{print $NF}')
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
	t_ok "exposure-$level"
else
	t_fail exposure "systemd-analyze security: '${level:-none}', want <= 2.0" "$(tail -n 3 "$T_TMP/out")"
fi
for d in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	'LoadCredential=signer-key:' CapabilityBoundingSet= LimitCORE=0 UMask=0077 \
	StateDirectory=keeper 'KillSignal=SIGTERM'; do
	if grep -q "^$d" "$U"; then t_ok "has-$d"; else t_fail "has-$d" "missing in $U"; fi
done
# The config the header describes: key from the credentials directory,
# state in the state directory.  check accepts a key file that does not
# exist yet (it is checked again at start).
sed -e 's|^\(\t*\)key_file = .*|\1key_file = "/run/credentials/keeper.service/signer-key";|' \
	-e 's|^state_file = .*|state_file = "/var/lib/keeper/keeper.state";|' \
	etc/guardian.cfg >"$T_TMP/guardian.cfg"
expect service-config 0 '^ok' "$KEEPER" check -c "$T_TMP/guardian.cfg"
t_done
