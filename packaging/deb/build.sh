#!/bin/sh
# Builds postern_VERSION_amd64.deb with dpkg-deb from a built binary (make deb): no
# debhelper, no nfpm; the layout is spelled out here and checked by lintian in
# integration/deb_test.go. Usage: build.sh BINARY VERSION OUTDIR
set -eu
bin=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# A Debian version must start with a digit: v1.2.3 -> 1.2.3, a bare commit -> 0~git.HASH.
deb_version=$(echo "$version" | sed -e 's/^v//' -e 's/-dirty$/+dirty/' -e 's/-\([0-9]*\)-g/+\1.g/')
case "$deb_version" in [0-9]*) ;; *) deb_version="0~git.$deb_version" ;; esac
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
umask 022

install -D -m 0755 "$bin" "$root/usr/bin/postern"
install -d "$root/usr/sbin" "$root/usr/lib"
ln -s ../bin/postern "$root/usr/sbin/sendmail"
ln -s ../sbin/sendmail "$root/usr/lib/sendmail"
ln -s postern "$root/usr/bin/mailq"
install -D -m 0644 "$repo/packaging/postern.service" "$root/lib/systemd/system/postern.service"
install -D -m 0644 "$repo/packaging/sysusers.d/postern.conf" "$root/usr/lib/sysusers.d/postern.conf"
install -D -m 0644 "$repo/packaging/tmpfiles.d/postern.conf" "$root/usr/lib/tmpfiles.d/postern.conf"
install -D -m 0644 "$repo/packaging/fail2ban/filter.d/postern.conf" "$root/etc/fail2ban/filter.d/postern.conf"
install -D -m 0644 "$repo/packaging/completion/postern.bash" "$root/usr/share/bash-completion/completions/postern"
install -D -m 0644 "$repo/packaging/completion/_postern" "$root/usr/share/zsh/vendor-completions/_postern"
install -d "$root/usr/share/man/man8" "$root/usr/share/man/man5"
gzip -9n < "$repo/docs/man/postern.8" > "$root/usr/share/man/man8/postern.8.gz"
gzip -9n < "$repo/docs/man/postern.toml.5" > "$root/usr/share/man/man5/postern.toml.5.gz"
ln -s postern.8.gz "$root/usr/share/man/man8/sendmail.8.gz"
ln -s postern.8.gz "$root/usr/share/man/man8/mailq.8.gz"
doc="$root/usr/share/doc/postern"
install -d "$doc/examples"
install -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n < "$repo/README.md" > "$doc/README.md.gz"
install -m 0644 "$repo/packaging/fail2ban/jail.d/postern.conf" "$doc/examples/fail2ban-jail.conf"
# The commented default config, every key at its default; postinst writes
# /etc/postern/postern.toml from the binary for this machine's name.
"$bin" config default --hostname mail.example.com > "$doc/examples/postern.toml"
chmod 0644 "$doc/examples/postern.toml"
date=$(git -C "$repo" log -1 --format=%aD 2>/dev/null || date -R)
printf 'postern (%s) unstable; urgency=medium\n\n  * Built from the repository (see its git log).\n\n -- Postern <postern@example.com>  %s\n' \
	"$deb_version" "$date" | gzip -9n > "$doc/changelog.gz"
install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/postern"

install -d "$root/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done
echo /etc/fail2ban/filter.d/postern.conf > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: postern
Version: $deb_version
Architecture: amd64
Maintainer: Postern <postern@example.com>
Installed-Size: $size
Depends: adduser, ca-certificates
Suggests: fail2ban
Provides: mail-transport-agent
Conflicts: mail-transport-agent
Replaces: mail-transport-agent
Section: mail
Priority: optional
Homepage: https://github.com/postern/postern
Description: mail server of a home server in one binary
 Postern receives mail over SMTP and LMTP into Maildirs, serves it over
 IMAP, sends through submission with a smart host or directly, filters
 with Sieve (ManageSieve too), checks SPF, DKIM and DMARC, signs with DKIM
 and gets certificates over ACME. It provides sendmail and mailq too.
CONTROL
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/postern_${deb_version}_amd64.deb" >/dev/null
echo "$out/postern_${deb_version}_amd64.deb"
