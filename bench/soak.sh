#!/usr/bin/env bash
# bench/soak.sh - veilfs daemon memory over a long mixed workload (`make bench-soak`).
#
# Mounts a fresh veilfs volume and, for SOAK_SECONDS (default 600), runs whole
# cycles of these workloads in the mount (the cycle under way when time is up is
# finished, so every cycle ends at the same point):
#   stream  dd a $SOAK_MB MiB file of zeros (bs=1M, conv=fsync), dd it back, rm
#   tree    tar -xf of $TREE_DIR (default /usr/local/go/src, packed once as run.sh
#           does), ls -lR, cat every file, rm -rf
#   fio     fio 4k random read/write (randrw, psync, QD1) on a $FIO_MB MiB file for
#           $FIO_SECONDS s, rm (skipped when fio is not installed)
#   small   $SMALL_FILES small files: create, rename in place, move all to another
#           directory, unlink
#   xattr   $XATTR_FILES files: setfattr a short and a 2 KiB user.* value, getfattr
#           each by name, getfattr -d (list + get), setfattr -x, rm
# Every $SAMPLE_EVERY s (and at the end of every cycle) it records the daemon's VmRSS
# and VmHWM (/proc/PID/status) and its open fds (/proc/PID/fd); the Go heap is not
# visible from outside, so RSS is the measure.
# Verdict: "no growth" if the RSS at the end of the run is within max(10 %, 8 MiB)
# of the RSS at the end of the first cycle, else "growth".
#
# Knobs (environment): SOAK_SECONDS=600 (60 = a quick check) SOAK_MB=256 FIO_MB=64
#   FIO_SECONDS=5 SMALL_FILES=2000 XATTR_FILES=200 SAMPLE_EVERY=5 LIMIT_MIB=100
#   TREE_DIR=/usr/local/go/src BENCH_DIR=/var/tmp/veilfs-bench-soak INSTALL=1 BUILD=1
#   GO=go VEILFS=bin/veilfs
# Flags: --out FILE.md (default bench/results-soak.md; bench/results-soak-short.md when
#   SOAK_SECONDS < 600, so a quick check does not overwrite the full run's report),
#   --render (no run: write the report again from the last run's data in BENCH_DIR), -h.
# Output: the report; raw data in $BENCH_DIR (samples.tsv, cycles.tsv), logs in
# $BENCH_DIR/logs. Exit status: 0 if no growth and the peak RSS (VmHWM) stayed under
# LIMIT_MIB, 1 if not, 2 on any other failure (a failed workload included). Needs
# root. It unmounts only what it mounted and stops only what it started, also on
# failure or Ctrl-C.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export PATH=$PATH:/usr/local/go/bin

SOAK_SECONDS=${SOAK_SECONDS:-600}
RENDER=0
OUT_MD=$HERE/results-soak.md
[[ $SOAK_SECONDS -lt 600 ]] && OUT_MD=$HERE/results-soak-short.md
while [[ $# -gt 0 ]]; do
	case $1 in
	--out) OUT_MD=$(realpath -m "$2"); shift 2 ;;
	--render) RENDER=1; shift ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

SOAK_MB=${SOAK_MB:-256}
FIO_MB=${FIO_MB:-64}
FIO_SECONDS=${FIO_SECONDS:-5}
SMALL_FILES=${SMALL_FILES:-2000}
XATTR_FILES=${XATTR_FILES:-200}
SAMPLE_EVERY=${SAMPLE_EVERY:-5}
LIMIT_MIB=${LIMIT_MIB:-100}
TREE_DIR=$(realpath -m "${TREE_DIR:-/usr/local/go/src}")
INSTALL=${INSTALL:-1}
BUILD=${BUILD:-1}
GO=${GO:-go}
BENCH_DIR=$(realpath -m "${BENCH_DIR:-/var/tmp/veilfs-bench-soak}")
# Throwaway volumes: what a mount remembers about them must not land in
# /var/lib/veilfs.
export VEILFS_STATE_DIR=${VEILFS_STATE_DIR:-$BENCH_DIR/state}
PASSWORD=bench-password-not-secret
VEILFS=${VEILFS:-$ROOT/bin/veilfs}
LOOPBACK=$ROOT/bin/bench-loopback
LOGDIR=$BENCH_DIR/logs
LOGFILE=$LOGDIR/soak.log
WLLOG=$LOGDIR/workloads.log
SAMPLES=$BENCH_DIR/samples.tsv # t_s kind vmrss_kib vmhwm_kib fds phase
CYCLES=$BENCH_DIR/cycles.tsv   # cycle end_t_s seconds vmrss_kib vmhwm_kib fds
PHASE=$BENCH_DIR/phase         # "cycle workload" now running, for the sampler
META=$BENCH_DIR/meta.txt
DIE_STATUS=2
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

# ------------------------------------------------------------------ sampling
SAMPLER=""
T0_US=0 # start of the first cycle, microseconds
now_us() { local t=$EPOCHREALTIME; echo $((10#${t/[.,]/})); }

# sample_line KIND: one line of SAMPLES (t since T0, kind, RSS, HWM, fds, phase).
sample_line() {
	local t fds
	t=$(($(now_us) - T0_US))
	fds=$(find "/proc/$DAEMON/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	printf '%d.%01d\t%s\t%s\t%s\t%s\t%s\n' $((t / 1000000)) $((t % 1000000 / 100000)) "$1" \
		"$(vm_kib "$DAEMON" VmRSS)" "$(vm_kib "$DAEMON" VmHWM)" "$fds" "$(cat "$PHASE" 2>/dev/null)"
}
sample() { sample_line "$1" >>"$SAMPLES"; }

# sampler: every SAMPLE_EVERY s after T0 on the dot (no drift), while the daemon lives.
sampler() {
	local k=1 rem
	while kill -0 "$DAEMON" 2>/dev/null; do
		rem=$((T0_US + k * SAMPLE_EVERY * 1000000 - $(now_us)))
		((rem > 0)) && sleep "$((rem / 1000000)).$(printf %06d $((rem % 1000000)))"
		sample tick
		k=$((k + 1))
	done
}
# fd_kinds: the daemon's open fds by kind (/dev/fuse, pipe, anon_inode:[eventpoll], file...).
fd_kinds() {
	find "/proc/$DAEMON/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
		sed -E 's/:\[[0-9]+\]$//; s|^/.*/vol/veilfs/.*|a file in the volume|; s|^/run/veilfs/.*|/run/veilfs/...|' |
		sort | uniq -c | sort -rn | awk '{ c = $1; $1 = ""; printf "%s%s x%d", (NR > 1 ? ", " : ""), substr($0, 2), c }'
}

# The workload running now is a process group of its own (setsid), so that an
# interrupt can stop all of it, pipelines included, before the unmount.
stop_all() {
	[[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null && wait "$SAMPLER" 2>/dev/null
	SAMPLER=""
	if [[ -n $WL_PID ]]; then
		kill -TERM -- "-$WL_PID" 2>/dev/null
		wait "$WL_PID" 2>/dev/null
		WL_PID=""
	fi
}
trap 'stop_all; cleanup' EXIT

# ------------------------------------------------------------------ workloads
# run COMMAND...: run it (in its own process group) and wait; its standard output is
# dropped (ls -lR, getfattr), its errors go to WLLOG.
run() {
	setsid "$@" >/dev/null 2>>"$WLLOG" </dev/null &
	WL_PID=$!
	wait "$WL_PID"
	local rc=$?
	WL_PID=""
	return $rc
}

wl_stream() {
	run dd if=/dev/zero of="$MNT/stream.bin" bs=1M count="$SOAK_MB" conv=fsync status=none &&
		run dd if="$MNT/stream.bin" of=/dev/null bs=1M status=none &&
		run rm -f "$MNT/stream.bin"
}
wl_tree() {
	mkdir "$MNT/tree" &&
		run tar --no-same-owner -xf "$TARBALL" -C "$MNT/tree" &&
		run ls -lR "$MNT/tree" &&
		run bash -c 'find "$1" -type f -print0 | xargs -0 cat >/dev/null' _ "$MNT/tree" &&
		run rm -rf "$MNT/tree"
}
wl_fio() {
	run fio --name=soak --filename="$MNT/fio.bin" --size="${FIO_MB}M" --rw=randrw --bs=4k \
		--ioengine=psync --iodepth=1 --numjobs=1 --fallocate=none --time_based \
		--runtime="$FIO_SECONDS" --output=/dev/null &&
		run rm -f "$MNT/fio.bin"
}
wl_small() {
	local d=$MNT/small i
	mkdir "$d" "$d.moved" || return 1
	for ((i = 0; i < SMALL_FILES; i++)); do
		printf 'small file %d\n' "$i" >"$d/f$i" || return 1 # create + write (no fork)
	done
	# rename each in place, then move them all to the other directory, then unlink
	run bash -c 'cd "$1" && for f in f*; do mv "$f" "r${f#f}" || exit 1; done' _ "$d" &&
		run find "$d" -mindepth 1 -maxdepth 1 -exec mv -t "$d.moved" {} + &&
		run find "$d.moved" -type f -delete &&
		rmdir "$d" "$d.moved"
}
wl_xattr() {
	local d=$MNT/xattr i big
	big=$(head -c 2048 /dev/zero | tr '\0' x)
	mkdir "$d" || return 1
	for ((i = 0; i < XATTR_FILES; i++)); do : >"$d/x$i" || return 1; done
	run find "$d" -type f -exec setfattr -n user.soak.small -v "value" {} + &&
		run find "$d" -type f -exec setfattr -n user.soak.big -v "$big" {} + &&
		run find "$d" -type f -exec getfattr --absolute-names -n user.soak.small {} + &&
		run find "$d" -type f -exec getfattr --absolute-names -n user.soak.big {} + &&
		run find "$d" -type f -exec getfattr --absolute-names -d {} + &&
		run find "$d" -type f -exec setfattr -x user.soak.small {} + &&
		run find "$d" -type f -exec setfattr -x user.soak.big {} + &&
		run rm -rf "$d"
}

# ------------------------------------------------------------------ main
main() {
	[[ $(id -u) == 0 ]] || { echo "soak.sh: needs root (mount)" >&2; exit 2; }
	mkdir -p "$LOGDIR" && : >"$LOGFILE" && : >"$WLLOG"
	cd "$BENCH_DIR" || exit 2
	if findmnt -rno TARGET | grep -q "^$BENCH_DIR/"; then
		die "something is still mounted under $BENCH_DIR; unmount it first"
	fi
	ensure_tools python3 setfattr getfattr
	build
	pack_tree
	local workloads=(stream tree fio small xattr)
	if ! command -v fio >/dev/null; then
		log "fio is not installed: no fio workload"
		workloads=(stream tree small xattr)
	fi

	local d=$BENCH_DIR/vol/veilfs
	rm -rf "$d" && mkdir -p "$d"
	mount_system veilfs "$d" || die "creating or mounting the volume failed (see $LOGDIR/veilfs.log)"
	log "veilfs mounted (pid $DAEMON); soak for $SOAK_SECONDS s: ${workloads[*]}"
	printf 't_s\tkind\tvmrss_kib\tvmhwm_kib\tfds\tphase\n' >"$SAMPLES"
	printf 'cycle\tend_t_s\tseconds\tvmrss_kib\tvmhwm_kib\tfds\n' >"$CYCLES"
	echo "0 mounted" >"$PHASE"
	T0_US=$(now_us)
	sample mount
	local fds_start
	fds_start=$(fd_kinds)
	sampler &
	SAMPLER=$!

	local cycle=0 w c0 line failed=""
	while [[ -z $failed ]] && { ((cycle == 0)) || (($(now_us) - T0_US < SOAK_SECONDS * 1000000)); }; do
		cycle=$((cycle + 1))
		c0=$(now_us)
		for w in "${workloads[@]}"; do
			echo "$cycle $w" >"$PHASE"
			echo "=== cycle $cycle $w $(date +%T)" >>"$WLLOG"
			if ! "wl_$w"; then
				failed="$w in cycle $cycle"
				break
			fi
		done
		[[ -n $failed ]] && break
		sync
		echo "$cycle end" >"$PHASE"
		line=$(sample_line cycle)
		echo "$line" >>"$SAMPLES"
		printf '%s\t%s\t%s\t%s\n' "$cycle" "$(cut -f1 <<<"$line")" \
			"$(awk -v a="$c0" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')" \
			"$(cut -f3-5 <<<"$line")" >>"$CYCLES"
		log "cycle $cycle done: $(tail -n1 "$CYCLES" | awk -F'\t' '{ printf "%.1f s, RSS %.1f MiB, HWM %.1f MiB, %d fds", $3, $4 / 1024, $5 / 1024, $6 }')"
	done
	[[ -n $failed ]] && log "ERROR: workload $failed failed (see $WLLOG)"
	stop_all
	local hwm_final fds_end
	hwm_final=$(vm_kib "$DAEMON" VmHWM)
	fds_end=$(fd_kinds)

	{
		echo "date=$(date -Is)"
		echo "host=$(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, kernel $(uname -r)"
		echo "veilfs=$(system_version veilfs)"
		echo "soak_seconds=$SOAK_SECONDS"
		echo "soak_mb=$SOAK_MB"
		echo "fio=$([[ " ${workloads[*]} " == *" fio "* ]] && echo "$FIO_MB MiB, $FIO_SECONDS s" || echo "not installed, skipped")"
		echo "small_files=$SMALL_FILES"
		echo "xattr_files=$XATTR_FILES"
		echo "sample_every=$SAMPLE_EVERY"
		echo "limit_mib=$LIMIT_MIB"
		echo "tree=$TREE_DIR ($(tar -tf "$TARBALL" | grep -vc '/$') files)"
		echo "workloads=${workloads[*]}"
		echo "hwm_final_kib=$hwm_final"
		echo "failed=$failed"
		echo "fds_start=$fds_start"
		echo "fds_end=$fds_end"
	} >"$META"
	umount_system
	rm -rf "$d"

	render
}

# render: write OUT_MD from the data in BENCH_DIR (meta.txt, samples.tsv, cycles.tsv),
# print it, and return the exit status (0 pass, 1 growth or over the limit, 2 failed).
render() {
	python3 - "$BENCH_DIR" "$OUT_MD" <<'EOF'
import sys

bench_dir, out = sys.argv[1], sys.argv[2]
meta = dict(l.rstrip("\n").split("=", 1) for l in open(f"{bench_dir}/meta.txt") if "=" in l)
rows = [l.rstrip("\n").split("\t") for l in open(f"{bench_dir}/samples.tsv")][1:]
S = [dict(t=float(r[0]), kind=r[1], rss=int(r[2]) / 1024, hwm=int(r[3]) / 1024, fds=int(r[4]), phase=r[5])
     for r in rows if r[2] != "NA"]
cycles = [l.rstrip("\n").split("\t") for l in open(f"{bench_dir}/cycles.tsv")][1:]
C = [dict(n=int(c[0]), t=float(c[1]), secs=float(c[2]), rss=int(c[3]) / 1024, hwm=int(c[4]) / 1024, fds=int(c[5]))
     for c in cycles]
limit = float(meta["limit_mib"])
failed = meta["failed"]
# The kernel's RSS counters are per-CPU and approximate (a sample's VmRSS can exceed a later
# VmHWM by a fraction of a MiB): the peak is the highest of every reading.
peak = max([s["hwm"] for s in S] + [s["rss"] for s in S] +
           ([int(meta["hwm_final_kib"]) / 1024] if meta["hwm_final_kib"] != "NA" else []))
S.sort(key=lambda s: s["t"])
# The end of the run is the end of its last cycle, the same point of the cycle as
# the end of cycle 1 (a tick may follow it before the sampler stops).
start = S[0]
end = next((s for s in reversed(S) if s["kind"] == "cycle"), S[-1])
m2 = next((s for s in S if s["t"] >= 60), None)

o = []
p = o.append
pct = lambda a, b: f"{(b - a) / a * 100:+.1f} %"
p(f"# veilfs daemon memory over a {meta['soak_seconds']} s mixed workload")
p("")
p(f"Generated by `make bench-soak` (`bench/soak.sh`) on {meta['date']}; {meta['host']}.")
p(f"veilfs: {meta['veilfs']}.")
p("")
p("## Parameters")
p("")
p(f"- Duration: {meta['soak_seconds']} s of whole cycles (the last cycle is finished): "
  f"{len(C)} cycles in {end['t']:.0f} s.")
p(f"- A cycle: `stream` (dd {meta['soak_mb']} MiB of zeros in, bs=1M conv=fsync, dd back, rm); "
  f"`tree` (untar of `{meta['tree']}`, `ls -lR`, cat every file, `rm -rf`); "
  f"`fio` (4k randrw, psync, QD1: {meta['fio']}); "
  f"`small` ({meta['small_files']} small files created, renamed in place, moved to another directory, unlinked); "
  f"`xattr` ({meta['xattr_files']} files: setfattr of a short and a 2 KiB `user.*` value, getfattr by name, "
  f"getfattr -d, setfattr -x, rm). A `sync` ends each cycle.")
p(f"- Every {meta['sample_every']} s and at the end of every cycle: VmRSS and VmHWM from `/proc/PID/status` and the "
  "open fds in `/proc/PID/fd` of the daemon. 1 MiB = 1024 KiB.")
p("")
p("## Summary")
p("")
p("| | RSS, MiB | open fds |")
p("|---|---:|---:|")
p(f"| after mount (t = 0) | {start['rss']:.1f} | {start['fds']} |")
if m2:
    p(f"| start of minute 2 (t = {m2['t']:.0f} s) | {m2['rss']:.1f} | {m2['fds']} |")
if C:
    p(f"| end of cycle 1 (t = {C[0]['t']:.0f} s) | {C[0]['rss']:.1f} | {C[0]['fds']} |")
p(f"| end (t = {end['t']:.0f} s) | {end['rss']:.1f} | {end['fds']} |")
p(f"| highest sample | {max(s['rss'] for s in S):.1f} | {max(s['fds'] for s in S)} |")
p(f"| **peak (VmHWM)** | **{peak:.1f}** | |")
p("")
if m2:
    p(f"- Start of minute 2 → end: {end['rss'] - m2['rss']:+.1f} MiB ({pct(m2['rss'], end['rss'])}); "
      f"fds {m2['fds']} → {end['fds']}. The t = 60 s sample falls wherever the cycle is at that moment "
      f"(here: `{m2['phase'].split(' ', 1)[-1]}`), so this swings with the workload; the verdict below "
      "compares the same point of the cycle.")
p(f"- After mount → end: fds {start['fds']} → {end['fds']}. Open at mount: {meta['fds_start']}; "
  f"at the end: {meta['fds_end']}.")
verdict_ok = True
if failed:
    p(f"- **A workload failed: {failed}**; the run stopped there (see the workload log).")
if C:
    base = C[0]["rss"]
    tol = max(0.10 * base, 8.0)
    growth = end["rss"] - base
    verdict_ok = growth <= tol
    p(f"- End of cycle 1 → end: {growth:+.1f} MiB ({pct(base, end['rss'])}); "
      f"allowed: max(10 %, 8 MiB) = {tol:.1f} MiB.")
p(f"- Peak {peak:.1f} MiB against the {limit:.0f} MiB limit: **{'PASS' if peak < limit else 'FAIL'}**.")
p("")
p(f"**Verdict: {'no growth' if verdict_ok else 'growth'}**")
p("")
p("## RSS per minute")
p("")
p("| minute | samples | min RSS | max RSS | last RSS | VmHWM at last | fds at last |")
p("|---:|---:|---:|---:|---:|---:|---:|")
minutes = {}
for s in S:
    minutes.setdefault(int(s["t"] // 60) + 1, []).append(s)
for m in sorted(minutes):
    v = minutes[m]
    p(f"| {m} | {len(v)} | {min(s['rss'] for s in v):.1f} | {max(s['rss'] for s in v):.1f} | "
      f"{v[-1]['rss']:.1f} | {v[-1]['hwm']:.1f} | {v[-1]['fds']} |")
p("")
p("## End of every cycle")
p("")
p("RSS and fds at the end of the cycle (after its `sync`), the highest 5 s sample during it, and VmHWM")
p("(the peak since mount) at its end.")
p("")
p("| cycle | ends at, s | cycle took, s | RSS at end | highest sample | VmHWM | fds at end | most fds |")
p("|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in C:
    during = [s for s in S if s["phase"].split(" ")[0] == str(c["n"])] or [c]
    p(f"| {c['n']} | {c['t']:.0f} | {c['secs']:.1f} | {c['rss']:.1f} | {max(s['rss'] for s in during):.1f} | "
      f"{c['hwm']:.1f} | {c['fds']} | {max(s['fds'] for s in during)} |")
p("")
p("## Highest RSS sample by workload")
p("")
p("| workload | samples | max RSS, MiB | max fds |")
p("|---|---:|---:|---:|")
by = {}
for s in S:
    if s["kind"] == "tick" and " " in s["phase"]:
        by.setdefault(s["phase"].split(" ", 1)[1], []).append(s)
for w in meta["workloads"].split():
    if w in by:
        p(f"| {w} | {len(by[w])} | {max(s['rss'] for s in by[w]):.1f} | {max(s['fds'] for s in by[w])} |")
p("")
p(f"Raw samples: `{bench_dir}/samples.tsv`, `{bench_dir}/cycles.tsv`.")
open(out, "w").write("\n".join(o) + "\n")
sys.exit(2 if failed else 0 if verdict_ok and peak < limit else 1)
EOF
	local rc=$?
	[[ -s $OUT_MD ]] && cat "$OUT_MD"
	log "report: $OUT_MD (exit $rc)"
	return $rc
}

# One line, parsed whole before it runs: editing this file during a run is safe.
if [[ $RENDER == 1 ]]; then mkdir -p "$LOGDIR" && render; else main; fi; exit $?
