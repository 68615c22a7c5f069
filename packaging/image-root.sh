#!/bin/sh
# Stages the build context of packaging/Dockerfile in OUT: rootfs/ (the static binary with
# its sendmail and mailq names, the build host's CA bundle, passwd/group naming uid 2525,
# /tmp, /etc/postern) and state/ (an empty directory copied, owned by 2525, to
# /var/lib/postern and /run/postern). Usage: image-root.sh BIN OUT
set -eu
bin=$1 out=$2
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca" ] || { echo "image-root: no CA bundle at $ca (Debian: apt-get install ca-certificates)" >&2; exit 1; }
rm -rf "$out"
r="$out/rootfs"
mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/etc/ssl/certs" "$r/etc/postern" "$r/tmp" "$out/state"
install -m 0755 "$bin" "$r/usr/bin/postern"
ln -s ../bin/postern "$r/usr/sbin/sendmail"
ln -s postern "$r/usr/bin/mailq"
install -m 0644 "$ca" "$r/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/:/nonexistent\npostern:x:2525:2525:Postern:/var/lib/postern:/nonexistent\n' > "$r/etc/passwd"
printf 'root:x:0:\npostern:x:2525:\n' > "$r/etc/group"
chmod 0644 "$r/etc/passwd" "$r/etc/group"
chmod 1777 "$r/tmp"
chmod 0755 "$r/etc/postern" "$out/state"
cp packaging/Dockerfile "$out/Dockerfile"
