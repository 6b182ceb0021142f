#!/usr/bin/env bash
# Run xfstests' generic tests over FUSE on veilfs (and on gocryptfs, to
# compare), and write the results as a Markdown table.
#
#   XFSTESTS_DIR=/opt/xfstests tests/xfstests/run.sh                 # veilfs
#   XFSTESTS_DIR=/opt/xfstests FS=gocryptfs tests/xfstests/run.sh
#   XFSTESTS_DIR=/opt/xfstests TESTS="generic/013 generic/080" tests/xfstests/run.sh
#
# XFSTESTS_DIR is an xfstests tree that is already built (see its README);
# nothing of xfstests is in this repository, and this script changes nothing
# in that tree (its settings go to a local.config of our own, passed in
# HOST_OPTIONS). Root, /dev/fuse and mount.fuse3 (package fuse3) are needed.
#
# Settings (environment):
#   FS          veilfs (default), gocryptfs, or both (gocryptfs first)
#   COUNT       how many generic tests of the quick group to run, from the
#               lowest number up (default 160); 0 runs the whole group
#   LIST        a file of test names (generic/001, one a line) to run instead
#   TESTS       test names to run instead; their rows replace those of the
#               previous results of the same FS (a re-run of the failures)
#   OUT         where results go (default bin/xfstests): FS.tsv, the check
#               output FS.log (FS-rerun.log for TESTS), xfstests' own
#               results-FS/ (with each failing test's .out.bad and .full),
#               tests.list and table.md
#   VEILFS_BINARY  a veilfs binary to test instead of building bin/veilfs
#   VEILFS_MOUNT_OPTIONS     default allow_other,veilfs_suid,veilfs_dev
#   GOCRYPTFS_MOUNT_OPTIONS  default allow_other,quiet,nosyslog (mount.fuse3
#               adds suid,dev); without quiet and nosyslog gocryptfs prints
#               its mount messages, and syslog errors where no syslog daemon
#               runs, into the output of the tests that mount, which fail
#   KEEP_WORK=1 keep the temporary directory (the volumes) afterwards
#
# How xfstests runs on a FUSE filesystem (FSTYP=fuse, see its README.fuse):
# it mounts with "mount -t fuse$FUSE_SUBTYP TEST_DEV TEST_DIR -o OPTIONS",
# with TEST_DEV the CIPHERDIR and passfile= in the options. mount(8) hands
# type fuse.X to mount.fuse3, which runs X as "X CIPHERDIR MOUNTPOINT -o
# OPTIONS", veilfs's mount-helper convention; X may be a path, so
# FUSE_SUBTYP=.WORK/bin/veilfs mounts with the binary under test and nothing
# is installed (the kernel still calls the mount fuse.veilfs). For gocryptfs
# FUSE_SUBTYP=.gocryptfs (found in PATH). Two things of xfstests do not fit
# a FUSE filesystem with a subtype, and local.config replaces the programs
# behind them:
#   - _fs_type (df's type column) must say "fuse" where the kernel says
#     fuse.veilfs, or xfstests refuses the mounted TEST_DEV as "not a type
#     fuse filesystem": DF_PROG is a wrapper that maps fuse.SUBTYPE to fuse;
#   - _test_unmount and _scratch_unmount unmount the device (umount
#     CIPHERDIR), which umount(8) refuses for a directory that is not a
#     mount point: UMOUNT_PROG is a wrapper that unmounts by mount point.
# _scratch_mkfs does nothing for FSTYP=fuse, so SCRATCH_DEV is made once,
# empty, and the tests that mkfs it find it as the previous test left it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

: "${XFSTESTS_DIR:?set XFSTESTS_DIR to a built xfstests tree}"
XFSTESTS_DIR=$(cd "$XFSTESTS_DIR" && pwd)
FS=${FS:-veilfs}
COUNT=${COUNT:-160}
LIST=${LIST:-}
TESTS=${TESTS:-}
OUT=${OUT:-$repo/bin/xfstests}
VEILFS_MOUNT_OPTIONS=${VEILFS_MOUNT_OPTIONS:-allow_other,veilfs_suid,veilfs_dev}
GOCRYPTFS_MOUNT_OPTIONS=${GOCRYPTFS_MOUNT_OPTIONS:-allow_other,quiet,nosyslog}

die() { echo "xfstests/run.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (xfstests mounts and unmounts)"
[ -c /dev/fuse ] || die "no /dev/fuse"
[ -x "$XFSTESTS_DIR/check" ] && [ -f "$XFSTESTS_DIR/tests/generic/group.list" ] ||
	die "$XFSTESTS_DIR is not a built xfstests tree (no check or tests/generic/group.list: run make there)"
command -v mount.fuse3 >/dev/null || [ -x /sbin/mount.fuse3 ] || die "no mount.fuse3: apt-get install fuse3"
case $FS in
veilfs | gocryptfs) fslist=$FS ;;
both) fslist="gocryptfs veilfs" ;;
*) die "FS must be veilfs, gocryptfs or both, not $FS" ;;
esac
if [[ " $fslist " == *" gocryptfs "* ]]; then
	command -v gocryptfs >/dev/null || die "no gocryptfs in PATH"
fi
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)

# The tests to run.
if [ -n "$TESTS" ]; then
	tests=$TESTS
elif [ -n "$LIST" ]; then
	tests=$(grep -v '^#' "$LIST" | awk 'NF {print $1}')
else
	# group.list: "NUM group group ..." per test of tests/generic.
	tests=$(awk '/^[0-9]/ { for (i = 2; i <= NF; i++) if ($i == "quick") { print "generic/" $1; break } }' \
		"$XFSTESTS_DIR/tests/generic/group.list" | sort)
	if [ "$COUNT" != 0 ]; then tests=$(echo "$tests" | head -n "$COUNT"); fi
fi
tests=$(echo $tests)
[ -n "$tests" ] || die "no tests to run"
# The table lists every test of the run, also those that got no result.
if [ -z "$TESTS" ]; then echo "$tests" | tr ' ' '\n' >"$OUT/tests.list"; fi

# No dot in the path: mount(8) and mount.fuse3 take what follows the first
# dot of the type fuse.X for X, and one more dot makes the mount fail.
work=$(mktemp -d /tmp/veilfs-xfstests-XXXXXX)
case $work in *.*) die "the temporary directory $work has a dot in its path (TMPDIR?)" ;; esac
# Searchable by all: tests that switch to the user fsgqa (generic/193,
# chown and chmod as a user) reach TEST_DIR through it; mktemp makes 0700.
chmod 755 "$work"

cleanup() {
	set +e
	# Everything still mounted under the work directory, deepest first.
	findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "xfstests/run.sh: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# veilfs: a copy of the binary, so that a rebuild of bin/veilfs during the
# run changes nothing; mount.fuse3 runs it by this path (type
# fuse.WORK/bin/veilfs).
if [[ " $fslist " == *" veilfs "* ]]; then
	mkdir -p "$work/bin"
	if [ -n "${VEILFS_BINARY:-}" ]; then
		cp "$VEILFS_BINARY" "$work/bin/veilfs"
	else
		(cd "$repo" && go build -o bin/veilfs ./cmd/veilfs)
		cp "$repo/bin/veilfs" "$work/bin/veilfs"
	fi
fi

# The users some tests switch to (xfstests' README).
for u in fsgqa fsgqa2 123456-fsgqa; do
	id "$u" >/dev/null 2>&1 || useradd -m "$u" || echo "xfstests/run.sh: could not add user $u (tests that need it will not run)" >&2
done

# df with fuse.SUBTYPE shown as fuse (for _fs_type), and umount that takes
# the CIPHERDIR (xfstests' device) to mean its mount point.
cat >"$work/df" <<'EOF'
#!/bin/sh
df "$@" | sed -E 's/^([^ ]+ +)fuse\.(veilfs|gocryptfs) /\1fuse /'
EOF
cat >"$work/umount" <<'EOF'
#!/bin/sh
# umount(8) with each directory that is the source of a FUSE mount (but not
# itself a mount point) replaced by the mount point.
n=$#
for a in "$@"; do
	if [ -d "$a" ] && ! mountpoint -q "$a"; then
		t=$(findmnt -rn -S "$a" -o TARGET,FSTYPE | awk '$2 ~ /^fuse/ {print $1; exit}')
		[ -n "$t" ] && a=$t
	fi
	set -- "$@" "$a"
done
shift "$n"
exec umount "$@"
EOF
chmod +x "$work/df" "$work/umount"

# One run of check on filesystem $1.
run_fs() {
	local fs=$1 d="$work/$1" opts
	mkdir -p "$d/test.cipher" "$d/scratch.cipher" "$d/test" "$d/scratch"
	(umask 077 && echo "xfstests-$fs" >"$d/passfile")
	for v in test scratch; do
		if [ "$fs" = veilfs ]; then
			"$work/bin/veilfs" init --scryptn 10 --passfile "$d/passfile" "$d/$v.cipher" >/dev/null
		else
			gocryptfs -q -init -scryptn 10 -passfile "$d/passfile" "$d/$v.cipher" >/dev/null
		fi
	done
	local subtype=.$fs
	if [ "$fs" = veilfs ]; then
		opts=$VEILFS_MOUNT_OPTIONS subtype=.$work/bin/veilfs
	else
		opts=$GOCRYPTFS_MOUNT_OPTIONS
	fi
	opts="-o passfile=$d/passfile${opts:+,$opts}"
	cat >"$d/local.config" <<EOF
export FSTYP=fuse
export FUSE_SUBTYP=$subtype
export TEST_DEV=$d/test.cipher
export TEST_DIR=$d/test
export SCRATCH_DEV=$d/scratch.cipher
export SCRATCH_MNT=$d/scratch
export TEST_FS_MOUNT_OPTS="$opts"
export MOUNT_OPTIONS="$opts"
export DF_PROG="$work/df -T -P"
export UMOUNT_PROG=$work/umount
EOF
	local results="$OUT/results-$fs"
	# A re-run of some tests (TESTS) keeps the other tests' files.
	if [ -z "$TESTS" ]; then rm -rf "$results"; else rm -f "$results/result.xml"; fi
	local log=$OUT/$fs.log
	if [ -n "$TESTS" ]; then log=$OUT/$fs-rerun.log; fi
	echo "xfstests/run.sh: $fs: $(echo $tests | wc -w) tests, log in $log"
	set +e
	(cd "$XFSTESTS_DIR" && HOST_OPTIONS="$d/local.config" RESULT_BASE="$results" \
		./check -R xunit $tests) 2>&1 | tee "$log"
	set -e
	# Leave nothing mounted for the next filesystem.
	{ findmnt -rn -o TARGET | grep "^$d/" || true; } | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done
	python3 "$here/results.py" tsv "$results" "$OUT/$fs.tsv" ${TESTS:+--merge} --log "$log"
}

for fs in $fslist; do run_fs "$fs"; done
python3 "$here/results.py" table "$OUT" "$OUT/table.md"
echo "xfstests/run.sh: table in $OUT/table.md"
cat "$OUT/table.md" | sed -n '1,12p'
