#!/usr/bin/env bash
# bench/run.sh - side-by-side benchmark of veilfs against its peers (`make bench`).
#
# Systems (SYSTEMS, run in this order in rep 1, rotated by one each later rep):
#   native     a plain directory on the backing filesystem, no FUSE
#   loopback   bench/loopback: go-fuse's fs.NewLoopbackRoot, every byte through the
#              daemon (no kernel passthrough), 1 s entry/attr timeouts as veilfs.
#              What FUSE + go-fuse cost without any encryption.
#   gocryptfs  Debian's gocryptfs: -init -scryptn 10, otherwise defaults, -fg
#   securefs   Debian's securefs: lite format (create --format 4, cheap PBKDF2), default mount options
#   veilfs     bin/veilfs: init --scryptn 10, mount --foreground --passfile
#
# Workloads (WORKLOADS, in this order, each system on a FRESH volume per rep; creating
# and mounting the volume is not timed; an untimed `sync` follows every workload):
#   seqwrite   dd if=/dev/zero bs=1M count=$SEQ_MB conv=fsync            -> MB/s
#   seqread    sync; drop_caches; dd of=/dev/null bs=1M (cold caches)      -> MB/s
#   untar      tar -xf of /usr/local/go/src ($TREE_DIR) packed once        -> s
#   lsR        ls -lR of the unpacked tree                                 -> s
#   catall     find -type f | xargs cat > /dev/null                        -> s
#   rmrf       rm -rf of the tree                                          -> s
#   randwrite  fio 4k randwrite, psync, QD1, $FIO_MB MiB file, time-based
#              $FIO_RUNTIME s (fio first lays the file out; not counted)    -> IOPS
#   randread   fio 4k randread on the same file, ONE pass: each block read once in
#              random order. A time-based run would, after the first pass, re-read
#              blocks from the FUSE page cache and measure memory, not the fs.   -> IOPS
# MB = 10^6 bytes. lsR, catall and randread run with the host page cache warm
# (COLD=1 drops caches before them too); a FUSE file's own cache is empty anyway
# because it is dropped on open.
#
# Knobs (environment):
#   REPS=6 SEQ_MB=1024 FIO_MB=256 FIO_RUNTIME=10 WL_TIMEOUT=600 COLD=0
#   SYSTEMS="native loopback gocryptfs securefs veilfs"
#   WORKLOADS="seqwrite seqread untar lsR catall rmrf randwrite randread"
#   TREE_DIR=/usr/local/go/src (the tree packed for untar; --quick uses .../src/net)
#   BENCH_DIR=/var/tmp/veilfs-bench (volumes, logs, raw data; must not be under a FUSE mount)
#   PROBE_MB=128 (CPU probe before each slot: sha256 of that many MiB; 0 = off)
#   INSTALL=1 (apt-get install missing peers/tools when root; 0 = just fail)
#   BUILD=1 (make build + build the loopback; 0 = use the binaries in bin/)
#   GO=go  VEILFS=bin/veilfs (the binary under test)
# Flags: --out FILE.md (default bench/results.md), --png FILE.png (default: FILE.md
#   with .png), --quick (REPS=1 SEQ_MB=64 FIO_MB=32 FIO_RUNTIME=3, TREE_DIR=src/net,
#   unless set in the environment), -h.
#
# Output: the Markdown report and PNG chart (bench/report.py renders both), raw
# data under $BENCH_DIR (raw.tsv, rss.tsv, slots.tsv, meta.txt) and logs under
# $BENCH_DIR/logs. Needs root (mounts, drop_caches). It unmounts only what it
# mounted and kills only processes it started, also on failure or Ctrl-C.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export PATH=$PATH:/usr/local/go/bin

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

ARGS="$*" # for the report
OUT_MD=$HERE/results.md
OUT_PNG=""
QUICK=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--out) OUT_MD=$(realpath -m "$2"); shift 2 ;;
	--png) OUT_PNG=$(realpath -m "$2"); shift 2 ;;
	--quick) QUICK=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 1 ;;
	esac
done
[[ -n $OUT_PNG ]] || OUT_PNG=${OUT_MD%.md}.png

if [[ $QUICK == 1 ]]; then
	: "${REPS:=1}" "${SEQ_MB:=64}" "${FIO_MB:=32}" "${FIO_RUNTIME:=3}" "${TREE_DIR:=/usr/local/go/src/net}"
fi
REPS=${REPS:-6}
SEQ_MB=${SEQ_MB:-1024}
FIO_MB=${FIO_MB:-256}
FIO_RUNTIME=${FIO_RUNTIME:-10}
WL_TIMEOUT=${WL_TIMEOUT:-600}
COLD=${COLD:-0}
PROBE_MB=${PROBE_MB:-128}
INSTALL=${INSTALL:-1}
BUILD=${BUILD:-1}
GO=${GO:-go}
TREE_DIR=$(realpath -m "${TREE_DIR:-/usr/local/go/src}")
BENCH_DIR=$(realpath -m "${BENCH_DIR:-/var/tmp/veilfs-bench}")
# Throwaway volumes: what a mount remembers about them (IVs, long names)
# must not land in /var/lib/veilfs.
export VEILFS_STATE_DIR=${VEILFS_STATE_DIR:-$BENCH_DIR/state}
SYSTEMS=${SYSTEMS:-"native loopback gocryptfs securefs veilfs"}
WORKLOADS=${WORKLOADS:-"seqwrite seqread untar lsR catall rmrf randwrite randread"}
PASSWORD=bench-password-not-secret

VEILFS=${VEILFS:-$ROOT/bin/veilfs} # another build can be compared with VEILFS=... BUILD=0
LOOPBACK=$ROOT/bin/bench-loopback
LOGDIR=$BENCH_DIR/logs
RAW=$BENCH_DIR/raw.tsv     # rep system workload value unit seconds sync_s
RSS=$BENCH_DIR/rss.tsv     # rep system after-workload VmHWM_KiB VmRSS_KiB
SLOTS=$BENCH_DIR/slots.tsv # rep system start probe_s load1 steal_pct slot_s
META=$BENCH_DIR/meta.txt   # key=value: machine, versions, parameters
TARBALL="" # the packed TREE_DIR; pack_tree (lib.sh) sets it

LOGFILE=$LOGDIR/run.log
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

declare -A UNIT=([seqwrite]=MB/s [seqread]=MB/s [untar]=s [lsR]=s [catall]=s [rmrf]=s [randwrite]=IOPS [randread]=IOPS)

# ------------------------------------------------------------------ workloads
# Each wl_NAME runs one workload on $MNT and sets VAL (the metric); timed() sets
# SECS (wall seconds of the timed command). Non-zero return = failure.
timed() {
	local t0 rc
	t0=$EPOCHREALTIME
	# In the background + wait, so that a signal reaches our trap at once
	# instead of after the workload; cleanup() stops WL_PID then.
	timeout --kill-after=10 "$WL_TIMEOUT" "$@" >/dev/null 2>>"$WLLOG" &
	WL_PID=$!
	wait "$WL_PID"
	rc=$?
	WL_PID=""
	SECS=$(elapsed "$t0" "$EPOCHREALTIME")
	return $rc
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }

wl_seqwrite() {
	timed dd if=/dev/zero of="$MNT/seq.bin" bs=1M count="$SEQ_MB" conv=fsync || return 1
	VAL=$(mbps $((SEQ_MB << 20)) "$SECS")
}
# A workload whose input an earlier one makes (seqread, lsR, catall, rmrf) creates
# it untimed when that one is not in WORKLOADS.
need_seqfile() { [[ -f $MNT/seq.bin ]] || dd if=/dev/zero of="$MNT/seq.bin" bs=1M count="$SEQ_MB" conv=fsync status=none; }
need_tree() { [[ -d $MNT/tree ]] || { mkdir -p "$MNT/tree" && tar --no-same-owner -xf "$TARBALL" -C "$MNT/tree" && sync; }; }

wl_seqread() {
	need_seqfile || return 1
	local size
	size=$(stat -c %s "$MNT/seq.bin")
	drop_caches
	timed dd if="$MNT/seq.bin" of=/dev/null bs=1M || return 1
	VAL=$(mbps "$size" "$SECS")
	rm -f "$MNT/seq.bin"
}
wl_untar() {
	mkdir -p "$MNT/tree"
	timed tar --no-same-owner -xf "$TARBALL" -C "$MNT/tree" || return 1
	VAL=$SECS
}
wl_lsR() {
	need_tree || return 1
	[[ $COLD == 1 ]] && drop_caches
	timed ls -lR "$MNT/tree" || return 1
	VAL=$SECS
}
wl_catall() {
	need_tree || return 1
	[[ $COLD == 1 ]] && drop_caches
	timed bash -c 'find "$1" -type f -print0 | xargs -0 cat >/dev/null' _ "$MNT/tree" || return 1
	VAL=$SECS
}
wl_rmrf() {
	need_tree || return 1
	timed rm -rf "$MNT/tree" || return 1
	VAL=$SECS
}
# fio_iops RW [fio options]: 4 KiB blocks, one job, synchronous pread/pwrite
# (QD1), buffered I/O; sets VAL to the IOPS fio reports.
fio_iops() {
	local rw=$1 json=$LOGDIR/fio-$SYS-rep$REP-$1.json
	shift
	timed fio --name="$rw" --filename="$MNT/fio.bin" --size="${FIO_MB}M" --rw="$rw" --bs=4k \
		--ioengine=psync --iodepth=1 --numjobs=1 --direct=0 --invalidate=0 --fallocate=none \
		--output-format=json --output="$json" "$@" || return 1
	VAL=$(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0][sys.argv[2]]
print(round(j["iops"]))' "$json" "$([[ $rw == randwrite ]] && echo write || echo read)") || return 1
	[[ $VAL -gt 0 ]]
}
wl_randwrite() {
	fio_iops randwrite --time_based --runtime="$FIO_RUNTIME"
}
wl_randread() {
	[[ $COLD == 1 ]] && drop_caches
	# No --time_based: fio's random map visits every block once, then stops. The
	# runtime cap only guards against a pathologically slow system.
	fio_iops randread --runtime=120 || return 1
	rm -f "$MNT/fio.bin"
}

# ------------------------------------------------------------------ probes
# Seconds for one core to hash PROBE_MB MiB: a machine-noise trace (the host is shared).
cpu_probe() {
	[[ $PROBE_MB -gt 0 ]] || { echo NA; return; }
	local t0=$EPOCHREALTIME
	head -c "${PROBE_MB}M" /dev/zero | sha256sum >/dev/null
	elapsed "$t0" "$EPOCHREALTIME"
}
# "steal total" jiffies from /proc/stat's cpu line.
steal_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t }' /proc/stat; }

# ------------------------------------------------------------------ setup
write_meta() {
	local files size_mb
	files=$(tar -tf "$TARBALL" | grep -vc '/$')
	size_mb=$(tar -tvf "$TARBALL" | awk '{ s += $3 } END { printf "%.0f", s / 1048576 }')
	{
		echo "command=bench/run.sh${ARGS:+ $ARGS}"
		echo "date=$(date -Is)"
		echo "host=$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, kernel $(uname -r)"
		echo "backing=$(findmnt -no SOURCE,FSTYPE,OPTIONS -T "$BENCH_DIR" | head -1)"
		echo "tools=$(fio --version 2>/dev/null), $(tar --version | head -1), $(dd --version | head -1)"
		printf '%s\n' "reps=$REPS" "seq_mb=$SEQ_MB" "fio_mb=$FIO_MB" "fio_runtime=$FIO_RUNTIME" "cold=$COLD" \
			"probe_mb=$PROBE_MB" "tree=$TREE_DIR" "tree_files=$files" "tree_mb=$size_mb" \
			"systems=$SYSTEMS" "workloads=$WORKLOADS"
		for s in $SYSTEMS; do echo "version.$s=$(system_version "$s")"; done
	} >"$META"
}

# ------------------------------------------------------------------ main
main() {
	[[ $(id -u) == 0 ]] || { echo "run.sh: needs root (mount, drop_caches)" >&2; exit 1; }
	mkdir -p "$LOGDIR"
	cd "$BENCH_DIR" || exit 1
	if findmnt -rno TARGET | grep -q "^$BENCH_DIR/"; then
		die "something is still mounted under $BENCH_DIR (an earlier run?); unmount it first"
	fi
	local s w
	for s in $SYSTEMS; do [[ $s =~ ^(native|loopback|gocryptfs|securefs|veilfs)$ ]] || die "unknown system $s"; done
	for w in $WORKLOADS; do [[ -n ${UNIT[$w]:-} ]] || die "unknown workload $w"; done
	: >"$LOGDIR/run.log"
	log "bench: systems [$SYSTEMS], workloads [$WORKLOADS], REPS=$REPS SEQ_MB=$SEQ_MB FIO_MB=$FIO_MB FIO_RUNTIME=$FIO_RUNTIME TREE_DIR=$TREE_DIR"

	local tools=(python3 gnuplot)
	for s in $SYSTEMS; do [[ $s == gocryptfs || $s == securefs ]] && tools+=("$s"); done
	[[ " $WORKLOADS " == *" rand"* ]] && tools+=(fio)
	ensure_tools "${tools[@]}"
	build
	pack_tree
	write_meta
	printf 'rep\tsystem\tworkload\tvalue\tunit\tseconds\tsync_s\n' >"$RAW"
	printf 'rep\tsystem\tafter\tvmhwm_kib\tvmrss_kib\n' >"$RSS"
	printf 'rep\tsystem\tstart\tprobe_s\tload1\tsteal_pct\tslot_s\n' >"$SLOTS"

	local t_start=$EPOCHREALTIME i n order=($SYSTEMS)
	n=${#order[@]}
	for ((REP = 1; REP <= REPS; REP++)); do
		# Rotate the order (A B C, B C A, C A B, ...) so that slow drift of the
		# machine and "who runs first" effects are spread over all systems.
		for ((i = 0; i < n; i++)); do
			SYS=${order[$(((i + REP - 1) % n))]}
			d=$BENCH_DIR/vol/$SYS
			local slot0=$EPOCHREALTIME probe load st0 st1
			probe=$(cpu_probe)
			load=$(cut -d' ' -f1 /proc/loadavg)
			st0=$(steal_jiffies)
			rm -rf "$d" && mkdir -p "$d"
			WLLOG=$LOGDIR/$SYS.workloads.log
			echo "=== rep $REP $(date -Is)" >>"$WLLOG"
			if ! mount_system "$SYS" "$d"; then
				log "rep $REP/$REPS: $SYS: creating or mounting the volume failed (see $SYSLOG); its workloads count as FAIL"
				for w in $WORKLOADS; do printf '%s\t%s\t%s\tFAIL\t%s\t0\n' "$REP" "$SYS" "$w" "${UNIT[$w]}" >>"$RAW"; done
				continue
			fi
			log "rep $REP/$REPS: $SYS mounted (cpu probe ${probe}s, load $load)"
			for w in $WORKLOADS; do
				VAL="" SECS=0
				if "wl_$w" && [[ -n $VAL ]]; then
					log "  $SYS $w: $VAL ${UNIT[$w]} (${SECS}s)"
				else
					VAL=FAIL
					[[ $(awk -v t="$SECS" -v l="$WL_TIMEOUT" 'BEGIN { print (t >= l) }') == 1 ]] && VAL=TIMEOUT
					log "  $SYS $w: $VAL (see $WLLOG)"
				fi
				# The sync is not part of the figure, but its duration is kept: a system
				# that leaves more dirty data behind looks faster than it is.
				local s0=$EPOCHREALTIME
				sync
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$REP" "$SYS" "$w" "$VAL" "${UNIT[$w]}" "$SECS" \
					"$(elapsed "$s0" "$EPOCHREALTIME")" >>"$RAW"
				[[ -n $DAEMON ]] && printf '%s\t%s\t%s\t%s\t%s\n' "$REP" "$SYS" "$w" \
					"$(vm_kib "$DAEMON" VmHWM)" "$(vm_kib "$DAEMON" VmRSS)" >>"$RSS"
			done
			umount_system
			rm -rf "$d"
			st1=$(steal_jiffies)
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$REP" "$SYS" "$(date +%T -d "@${slot0%[.,]*}")" "$probe" "$load" \
				"$(awk -v a="$st0" -v b="$st1" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.1f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }')" \
				"$(elapsed "$slot0" "$EPOCHREALTIME")" >>"$SLOTS"
		done
	done
	echo "total_s=$(elapsed "$t_start" "$EPOCHREALTIME")" >>"$META"
	log "all runs done in $(elapsed "$t_start" "$EPOCHREALTIME") s; rendering $OUT_MD and $OUT_PNG"
	rm -f "$OUT_PNG"
	python3 "$HERE/report.py" --dir "$BENCH_DIR" --out "$OUT_MD" --png "$OUT_PNG" || die "report.py failed"
	log "report: $OUT_MD$([[ -s $OUT_PNG ]] && echo ", chart: $OUT_PNG")"
}

# One line, parsed whole before it runs: editing this file during a run is safe.
main; exit $?
