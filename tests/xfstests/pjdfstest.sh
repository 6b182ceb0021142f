#!/usr/bin/env bash
# Run pjdfstest (POSIX conformance of chmod, chown, link, mkdir, open,
# rename, symlink, truncate, unlink, ...) with `prove -r` in a veilfs
# mount, in a gocryptfs mount and in a plain directory (the reference: the
# filesystem of /tmp), and summarise the failures per test file.
#
#   PJDFSTEST_DIR=/opt/pjdfstest tests/xfstests/pjdfstest.sh
#   PJDFSTEST_DIR=/opt/pjdfstest FS="veilfs" tests/xfstests/pjdfstest.sh
#
# PJDFSTEST_DIR is a pjdfstest tree that is built (autoreconf -ifs,
# ./configure, make pjdfstest: see its README); nothing of it is in this
# repository. Needs root and /dev/fuse (and gocryptfs for FS=gocryptfs).
#
# Settings (environment):
#   FS      which of veilfs gocryptfs plain to run (default all three)
#   OUT     where results go (default bin/xfstests): pjdfstest-FS.log (prove's
#           output) and pjdfstest.md (the failures per file)
#   VEILFS_BINARY  a veilfs binary to test instead of building bin/veilfs
#   VEILFS_MOUNT_OPTIONS     default allow_other,veilfs_suid,veilfs_dev
#   GOCRYPTFS_FLAGS          default -allow_other -suid -dev
#   SUMMARY_ONLY=1  run nothing, only write pjdfstest.md from the logs in OUT
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

: "${PJDFSTEST_DIR:?set PJDFSTEST_DIR to a built pjdfstest tree}"
PJDFSTEST_DIR=$(cd "$PJDFSTEST_DIR" && pwd)
FS=${FS:-veilfs gocryptfs plain}
OUT=${OUT:-$repo/bin/xfstests}
VEILFS_MOUNT_OPTIONS=${VEILFS_MOUNT_OPTIONS:-allow_other,veilfs_suid,veilfs_dev}
GOCRYPTFS_FLAGS=${GOCRYPTFS_FLAGS:--allow_other -suid -dev}

die() { echo "xfstests/pjdfstest.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (pjdfstest changes owners and switches users)"
[ -x "$PJDFSTEST_DIR/pjdfstest" ] || die "$PJDFSTEST_DIR/pjdfstest is not built"
command -v prove >/dev/null || die "no prove (package perl)"
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)

work=$(mktemp -d /tmp/veilfs-pjdfstest.XXXXXX)
cleanup() {
	set +e
	{ findmnt -rn -o TARGET | grep "^$work/" || true; } | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT

veilfs=""
if [[ " $FS " == *" veilfs "* ]] && [ "${SUMMARY_ONLY:-0}" != 1 ]; then
	if [ -n "${VEILFS_BINARY:-}" ]; then
		veilfs=$VEILFS_BINARY
	else
		(cd "$repo" && go build -o bin/veilfs ./cmd/veilfs)
		veilfs=$repo/bin/veilfs
	fi
	cp "$veilfs" "$work/veilfs.bin"
	veilfs=$work/veilfs.bin
fi

(umask 077 && echo pjdfstest >"$work/passfile")
[ "${SUMMARY_ONLY:-0}" = 1 ] && FS=""
for fs in $FS; do
	d=$work/$fs
	mkdir -p "$d/cipher" "$d/mnt"
	case $fs in
	veilfs)
		"$veilfs" init --scryptn 10 --passfile "$work/passfile" "$d/cipher" >/dev/null
		"$veilfs" mount --passfile "$work/passfile" -o "$VEILFS_MOUNT_OPTIONS" "$d/cipher" "$d/mnt"
		;;
	gocryptfs)
		gocryptfs -q -init -scryptn 10 -passfile "$work/passfile" "$d/cipher"
		# shellcheck disable=SC2086
		gocryptfs -q $GOCRYPTFS_FLAGS -passfile "$work/passfile" "$d/cipher" "$d/mnt"
		;;
	plain) ;;
	*) die "unknown FS $fs (veilfs, gocryptfs, plain)" ;;
	esac
	echo "xfstests/pjdfstest.sh: $fs: prove -r in $d/mnt, log in $OUT/pjdfstest-$fs.log"
	(cd "$d/mnt" && prove -r "$PJDFSTEST_DIR/tests") >"$OUT/pjdfstest-$fs.log" 2>&1 || true
	tail -n 3 "$OUT/pjdfstest-$fs.log"
	if [ "$fs" != plain ]; then umount "$d/mnt"; fi
done

# The failures per file, from prove's "Test Summary Report":
#   /opt/pjdfstest/tests/symlink/03.t (Wstat: 0 Tests: 6 Failed: 2)
#     Failed tests:  1-2
{
	echo "| filesystem | result | failing files (failed test numbers) |"
	echo "|---|---|---|"
	for fs in veilfs gocryptfs plain; do
		log=$OUT/pjdfstest-$fs.log
		[ -f "$log" ] || continue
		result=$(grep -E '^Result: ' "$log" | sed 's/^Result: //' || true)
		files=$(awk -v dir="$PJDFSTEST_DIR/tests/" '
			/^\/.*\.t +\(Wstat/ { f = $1; sub(dir, "", f); n = $0; sub(/.*Failed: /, "", n); sub(/\).*/, "", n); w = $0; sub(/.*Wstat: /, "", w); sub(/ .*/, "", w)
				if (n != "0" || w != "0") { bad[f] = 1; order[++k] = f }; next }
			/^  Failed tests?:/ && f != "" { sub(/^  Failed tests?: +/, ""); nums[f] = $0; next }
			END { for (i = 1; i <= k; i++) { f = order[i]; printf "%s%s (%s)", (s++ ? ", " : ""), f, nums[f] != "" ? "tests " nums[f] : "exit status" } }
		' "$log")
		nfail=$(awk '/^\/.*\.t +\(Wstat/ && !/Wstat: 0 Tests: [0-9]+ Failed: 0\)/' "$log" | wc -l)
		echo "| $fs | $result: $nfail files | ${files:-none} |"
	done
} >"$OUT/pjdfstest.md"
cat "$OUT/pjdfstest.md"
