#!/bin/sh
# Container entry point. On the first start (no config in the volume) it writes a
# complete default config for $POSTERN_HOSTNAME with a self-signed certificate, so the
# container serves at once; then it runs postern with the given arguments.
# Variables: POSTERN_CONFIG (default /etc/postern/postern.toml), POSTERN_HOSTNAME (required
# on the first start), POSTERN_BIN (default /usr/bin/postern; tests point it elsewhere).
set -eu
config="${POSTERN_CONFIG:-/etc/postern/postern.toml}"
bin="${POSTERN_BIN:-/usr/bin/postern}"

if [ ! -e "$config" ]; then
	if [ -z "${POSTERN_HOSTNAME:-}" ]; then
		echo "docker-entrypoint: no config at $config; set POSTERN_HOSTNAME (e.g. mail.example.com) to create one" >&2
		exit 64
	fi
	umask 027
	tmp="$config.tmp.$$"
	"$bin" config default --hostname "$POSTERN_HOSTNAME" > "$tmp"
	mv "$tmp" "$config"
	echo "docker-entrypoint: wrote a default config for $POSTERN_HOSTNAME to $config" >&2
fi

if [ "$#" -eq 0 ]; then
	set -- serve
fi
case "$1" in
	-*|serve|status|config|domain|user|alias|queue|relay|sieve|reindex|version|help|sendmail|mailq)
		exec "$bin" "$@" ;;
esac
exec "$@"
