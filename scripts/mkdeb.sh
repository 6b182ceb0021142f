#!/usr/bin/env bash
# Debian packaging for `make deb`, with dpkg-deb alone (no debhelper, no
# lintian): the Makefile installs the files into a staging root with
# `make install DESTDIR=...`, so the package has exactly the layout of
# `make install PREFIX=/usr`; this script adds what a .deb needs on top.
#
#   scripts/mkdeb.sh version GIT_DESCRIBE
#       print the Debian version for a `git describe --always --dirty`
#       string: v1.2.3 -> 1.2.3, v1.2.3-rc1 -> 1.2.3~rc1, v1.2.3-4-gabc ->
#       1.2.3+4.gabc, an untagged abc1234 -> 0.0~git<commit date>.abc1234;
#       -dirty -> +dirty.
#   scripts/mkdeb.sh build STAGE VERSION ARCH OUTPUT.deb
#       turn the staging root STAGE into OUTPUT.deb.
set -euo pipefail

deb_version() {
	local v=$1 suffix=""
	if [[ $v == *-dirty ]]; then
		v=${v%-dirty}
		suffix="+dirty"
	fi
	# A release tag: v1.2.3, v1.2.3-rc1 (~ sorts before the release itself).
	if [[ $v =~ ^v([0-9]+(\.[0-9]+)*)(-([A-Za-z]+[0-9.]*))?(-([0-9]+)-g([0-9a-f]+))?$ ]]; then
		local base=${BASH_REMATCH[1]} pre=${BASH_REMATCH[4]} n=${BASH_REMATCH[6]} hash=${BASH_REMATCH[7]}
		v=$base
		[[ -n $pre ]] && v+="~$pre"
		[[ -n $n ]] && v+="+$n.g$hash"
	else
		# Debian versions must start with a digit; ~ sorts before any release.
		local date
		date=$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date -u +%Y%m%d)
		v="0.0~git${date}.${v//[^0-9A-Za-z.+~]/.}"
	fi
	echo "${v}${suffix}"
}

build() {
	local stage=$1 version=$2 arch=$3 out=$4
	local doc=$stage/usr/share/doc/veilfs
	local maintainer=${DEB_MAINTAINER:-veilfs maintainers <maintainers@veilfs.invalid>}
	local epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}

	# Debian policy: manual pages are gzip-compressed, without a timestamp (-n).
	find "$stage/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +

	mkdir -p "$doc" "$stage/DEBIAN"
	write_copyright "$stage/usr/bin/veilfs" >"$doc/copyright"
	{
		echo "veilfs ($version) unstable; urgency=medium"
		echo
		echo "  * Built from the veilfs source at ${VERSION:-$version} with make deb."
		echo "    The changes are listed in CHANGELOG.md of the source tree."
		echo
		echo " -- $maintainer  $(date -u -R -d "@$epoch")"
	} | gzip -9n >"$doc/changelog.Debian.gz"

	# dpkg-deb takes modes as they are: make them independent of the umask.
	find "$stage" -type d -exec chmod 0755 {} +
	find "$stage" -type f ! -path '*/DEBIAN/*' ! -path '*/bin/*' -exec chmod 0644 {} +

	local size
	size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
	cat >"$stage/DEBIAN/control" <<EOF
Package: veilfs
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: fuse3
Section: utils
Priority: optional
Description: encrypting FUSE filesystem compatible with gocryptfs
 veilfs keeps a directory tree encrypted in a directory (CIPHERDIR) that can
 live on any disk or in a folder a sync client copies, and mounts a
 plaintext view of it with FUSE. It reads and writes the on-disk format of
 gocryptfs 2.x: contents, file names, symlink targets and extended
 attributes are encrypted. It adds extra unlockers (several passwords and
 keyfiles per volume) and in-place master-key rotation.
EOF
	(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
	chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

	mkdir -p "$(dirname "$out")"
	SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
	echo "$out"
}

# The binary is static: every Go module compiled into it is part of the
# package, so its licence is listed (the text from the module cache).
write_copyright() {
	cat <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: veilfs
Upstream-Contact: the veilfs maintainers

Files: *
Copyright: 2026 the veilfs authors
License: Expat
EOF
	sed 's/^$/./; s/^/ /' "$(dirname "$0")/../LICENSE"
	echo
	local bin=$1 gomodcache
	gomodcache=$(${GO:-go} env GOMODCACHE)
	${GO:-go} version -m "$bin" | awk '$1 == "dep" { print $2 "@" $3 }' | while IFS=@ read -r mod ver; do
		local dir="$gomodcache/$(echo "$mod" | sed 's/[A-Z]/!\L&/g')@$ver" lic=""
		for f in LICENSE LICENSE.txt LICENSE.md COPYING; do
			[[ -f $dir/$f ]] && { lic=$dir/$f; break; }
		done
		echo "Files: embedded Go module $mod $ver"
		echo "Copyright: the $mod authors"
		if [[ -n $lic ]]; then
			echo "License: see below"
			sed 's/^$/./; s/^/ /' "$lic"
		else
			echo "License: unknown (no licence file found in the Go module cache)"
		fi
		echo
	done
}

case ${1:-} in
version) deb_version "$2" ;;
build) build "$2" "$3" "$4" "$5" ;;
*)
	echo "usage: $0 version GIT_DESCRIBE | build STAGE VERSION ARCH OUTPUT.deb" >&2
	exit 1
	;;
esac
