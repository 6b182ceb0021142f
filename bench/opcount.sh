#!/usr/bin/env bash
# bench/opcount.sh - FUSE requests per tree workload, by opcode (`make bench-ops`).
#
# The profile behind the untar/lsR/catall/rmrf times of `make bench`: how many
# requests the kernel sends the daemon for each workload, and of which kind.
# For each system in OPS_SYSTEMS (default: veilfs loopback gocryptfs; gocryptfs is
# skipped when it is not installed), on a fresh volume mounted with the daemon's FUSE
# request log on (veilfs mount -f --debug, bench-loopback -debug, gocryptfs -fg
# -fusedebug: one "rx N: OPCODE ..." line per request, same go-fuse format), run in
# this order on the same mount:
#   untar   tar -xf of $TREE_DIR (default /usr/local/go/src), packed once as run.sh does
#   lsR     ls -lR of the tree
#   catall  find -type f | xargs cat > /dev/null
#   rmrf    rm -rf of the tree
# Each workload is preceded by `sync` and a $SETTLE s pause, and counts every request
# from its start to the end of the next pause (so requests the kernel sends late,
# such as RELEASE and FORGET, count for the workload that caused them and do not
# leak into the next). GETXATTR is also counted per attribute name.
# Debug logging slows every daemon down a lot: the counts are the point, not the times.
#
# Knobs (environment): OPS_SYSTEMS="veilfs loopback gocryptfs" TREE_DIR=/usr/local/go/src
#   SETTLE=1.5 BENCH_DIR=/var/tmp/veilfs-bench-ops INSTALL=1 BUILD=1 GO=go VEILFS=bin/veilfs
# Flags: --out FILE.md (default bench/results-ops.md), -h.
# Output: the report; raw counts in $BENCH_DIR (counts.tsv, xattrs.tsv, runs.tsv) and
# the request logs in $BENCH_DIR/logs/SYSTEM.log (tens of MB each, replaced every run).
# Exit status 0, or 1 on any failure. Needs root. It unmounts only what it mounted
# and stops only the daemons it started, also on failure or Ctrl-C.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/args.sh
. "$HERE/args.sh" results-ops.md 1 "$@"

OPS_SYSTEMS=${OPS_SYSTEMS:-"veilfs loopback gocryptfs"}
TREE_DIR=$(realpath -m "${TREE_DIR:-/usr/local/go/src}")
SETTLE=${SETTLE:-1.5}
INSTALL=${INSTALL:-1}
BUILD=${BUILD:-1}
GO=${GO:-go}
BENCH_DIR=$(realpath -m "${BENCH_DIR:-/var/tmp/veilfs-bench-ops}")
PASSWORD=bench-password-not-secret
VEILFS=${VEILFS:-$ROOT/bin/veilfs}
LOOPBACK=$ROOT/bin/bench-loopback
LOGDIR=$BENCH_DIR/logs
LOGFILE=$LOGDIR/opcount.log
FUSE_DEBUG=1 # mount_system (lib.sh) turns on each daemon's request log
WORKLOADS=(untar lsR catall rmrf)
COUNTS=$BENCH_DIR/counts.tsv # system workload opcode requests
XATTRS=$BENCH_DIR/xattrs.tsv # system workload xattr-name GETXATTR-requests
RUNS=$BENCH_DIR/runs.tsv     # system workload seconds(debug on) requests-after-the-command-returned
META=$BENCH_DIR/meta.txt
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

run_workload() { # NAME: run one workload on $MNT/tree
	case $1 in
	untar) tar --no-same-owner -xf "$TARBALL" -C "$MNT/tree" ;;
	lsR) ls -lR "$MNT/tree" >/dev/null ;;
	catall) find "$MNT/tree" -type f -print0 | xargs -0 cat >/dev/null ;;
	rmrf) rm -rf "$MNT/tree" ;;
	esac
}

settle() { sync; sleep "$SETTLE"; }
logpos() { stat -c %s "$SYSLOG"; } # byte offset of the end of the daemon's log

# segment FROM TO: the bytes [FROM, TO) of the daemon's log.
segment() { tail -c +$(($1 + 1)) "$SYSLOG" | head -c $(($2 - $1)); }

# count SYSTEM WORKLOAD: read a log segment on stdin, append its requests per opcode
# to COUNTS and its GETXATTR requests per attribute name (the first quoted string of
# the line; gocryptfs's older go-fuse writes it as ["name"]) to XATTRS.
count() {
	awk -v s="$1" -v w="$2" -v counts="$COUNTS" -v xattrs="$XATTRS" '
		match($0, / rx [0-9]+: [^ ]+/) {
			op = substr($0, RSTART, RLENGTH); sub(/.* /, "", op); n[op]++
			if (op == "GETXATTR" && match($0, /"[^"]*"/)) x[substr($0, RSTART + 1, RLENGTH - 2)]++
		}
		END {
			for (o in n) printf "%s\t%s\t%s\t%d\n", s, w, o, n[o] >>counts
			for (k in x) printf "%s\t%s\t%s\t%d\n", s, w, k, x[k] >>xattrs
		}'
}
count_rx() { grep -c ' rx [0-9]*: '; } # requests in a log segment on stdin

main() {
	[[ $(id -u) == 0 ]] || { echo "opcount.sh: needs root (mount)" >&2; exit 1; }
	mkdir -p "$LOGDIR" && : >"$LOGFILE"
	cd "$BENCH_DIR" || exit 1
	if findmnt -rno TARGET | grep -q "^$BENCH_DIR/"; then
		die "something is still mounted under $BENCH_DIR; unmount it first"
	fi
	local s systems=()
	for s in $OPS_SYSTEMS; do
		[[ $s =~ ^(loopback|gocryptfs|veilfs)$ ]] || die "unknown system $s (loopback, gocryptfs, veilfs)"
		if [[ $s == gocryptfs ]] && ! command -v gocryptfs >/dev/null; then
			log "gocryptfs is not installed: skipped"
			continue
		fi
		systems+=("$s")
	done
	ensure_tools python3
	build
	pack_tree
	local files dirs
	files=$(tar -tf "$TARBALL" | grep -vc '/$')
	dirs=$(tar -tf "$TARBALL" | grep -c '/$')
	{
		echo "date=$(date -Is)"
		echo "host=$(nproc) CPUs, kernel $(uname -r)"
		echo "tree=$TREE_DIR"
		echo "files=$files"
		echo "dirs=$dirs"
		echo "settle=$SETTLE"
		echo "systems=${systems[*]}"
		for s in "${systems[@]}"; do echo "version.$s=$(system_version "$s")"; done
	} >"$META"
	: >"$COUNTS" && : >"$XATTRS" && : >"$RUNS"
	log "opcount: systems [${systems[*]}], tree $TREE_DIR ($files files, $dirs directories)"

	local w d from end to t0 secs tail
	for s in "${systems[@]}"; do
		d=$BENCH_DIR/vol/$s
		rm -rf "$d" && mkdir -p "$d"
		: >"$LOGDIR/$s.log" # mount_system's SYSLOG: one run's requests only
		mount_system "$s" "$d" || die "$s: creating or mounting the volume failed (see $LOGDIR/$s.log)"
		mkdir "$MNT/tree" || die "$s: mkdir failed"
		log "$s mounted (pid $DAEMON), request log $SYSLOG"
		settle
		from=$(logpos)
		for w in "${WORKLOADS[@]}"; do
			t0=$EPOCHREALTIME
			run_workload "$w" 2>>"$LOGDIR/$s.workloads.log" || die "$s $w failed (see $LOGDIR/$s.workloads.log)"
			secs=$(elapsed "$t0" "$EPOCHREALTIME")
			end=$(logpos)
			settle # the next workload's "preceded by sync and a pause"; counted for this one
			to=$(logpos)
			segment "$from" "$to" | count "$s" "$w"
			tail=$(segment "$end" "$to" | count_rx)
			printf '%s\t%s\t%s\t%s\n' "$s" "$w" "$secs" "$tail" >>"$RUNS"
			log "  $s $w: $(segment "$from" "$to" | count_rx) requests ($tail after the command returned), ${secs}s with debug logging"
			from=$to
		done
		umount_system
		rm -rf "$d"
	done

	python3 - "$BENCH_DIR" "$OUT_MD" "${WORKLOADS[@]}" <<'EOF' || die "rendering $OUT_MD failed"
import collections, sys

bench_dir, out, workloads = sys.argv[1], sys.argv[2], sys.argv[3:]
meta = dict(l.rstrip("\n").split("=", 1) for l in open(f"{bench_dir}/meta.txt") if "=" in l)
systems = meta["systems"].split()
files = int(meta["files"])

def load(name):
    d = collections.defaultdict(lambda: collections.defaultdict(dict))  # system -> key -> workload -> n
    for line in open(f"{bench_dir}/{name}"):
        s, w, k, n = line.rstrip("\n").split("\t")
        d[s][k][w] = int(n)
    return d

ops, xattrs = load("counts.tsv"), load("xattrs.tsv")
runs = {}
for line in open(f"{bench_dir}/runs.tsv"):
    s, w, secs, tail = line.rstrip("\n").split("\t")
    runs[s, w] = (float(secs), int(tail))
total = {s: {w: sum(ops[s][o].get(w, 0) for o in ops[s]) for w in workloads} for s in systems}
allw = lambda row: sum(row.get(w, 0) for w in workloads)
pf = lambda n: f"{n / files:.2f}"

o = []
p = o.append
p("# FUSE requests per tree workload")
p("")
p(f"Generated by `make bench-ops` (`bench/opcount.sh`) on {meta['date']}; {meta['host']}.")
p(f"Tree: `{meta['tree']}` packed as a tarball, {files:,} files (non-directories) in {int(meta['dirs']):,} directories.")
p("")
p("Versions:")
p("")
for s in systems:
    p(f"- **{s}**: {meta['version.' + s]}")
p("")
p("Every system gets a fresh volume, mounted with its FUSE request log on (veilfs `mount -f --debug`,")
p("bench-loopback `-debug`, gocryptfs `-fg -fusedebug`), and runs untar, `ls -lR`, cat of every file")
p(f"and `rm -rf` of the tree in this order. Each workload is preceded by `sync` and a {meta['settle']} s")
p("pause, and its column counts every request (`rx` line of the log) from its start to the end of")
p("the next pause: requests the kernel sends late (RELEASE, FORGET) stay with the workload that")
p("caused them.")
p("")
p("**Debug logging itself is slow** (one formatted line per request and per reply): the counts are")
p("the point, not the times, which are shown only to tell how long the runs took.")
p("")
p("## Requests per file")
p("")
p(f"All requests of the workload ÷ {files:,} files.")
p("")
p("| system | " + " | ".join(workloads) + " | all four |")
p("|---|" + "---:|" * (len(workloads) + 1))
for s in systems:
    p(f"| {s} | " + " | ".join(pf(total[s][w]) for w in workloads) + f" | {pf(allw(total[s]))} |")
p("")

p("## Per opcode and file, side by side")
p("")
p("Requests of each opcode ÷ files; opcodes under 0.01 per file on every system are left out (see the")
p("per-system tables for every count).")
for w in workloads:
    p("")
    p(f"**{w}**")
    p("")
    p("| opcode | " + " | ".join(systems) + " |")
    p("|---|" + "---:|" * len(systems))
    names = {k for s in systems for k in ops[s] if ops[s][k].get(w, 0) >= 0.01 * files}
    for k in sorted(names, key=lambda k: -max(ops[s].get(k, {}).get(w, 0) for s in systems)):
        p(f"| {k} | " + " | ".join(pf(ops[s].get(k, {}).get(w, 0)) for s in systems) + " |")
    p("| **all** | " + " | ".join(f"**{pf(total[s][w])}**" for s in systems) + " |")
p("")

for s in systems:
    p(f"## {s}")
    p("")
    p("Requests per opcode (rows sorted by total).")
    p("")
    p("| opcode | " + " | ".join(workloads) + " | total |")
    p("|---|" + "---:|" * (len(workloads) + 1))
    for k in sorted(ops[s], key=lambda k: (-allw(ops[s][k]), k)):
        p(f"| {k} | " + " | ".join(f"{ops[s][k].get(w, 0):,}" for w in workloads) + f" | {allw(ops[s][k]):,} |")
    p("| **total** | " + " | ".join(f"**{total[s][w]:,}**" for w in workloads) + f" | **{allw(total[s]):,}** |")
    p("| per file | " + " | ".join(pf(total[s][w]) for w in workloads) + f" | {pf(allw(total[s]))} |")
    p("| of which after the command returned | " + " | ".join(f"{runs[s, w][1]:,}" for w in workloads) + " | |")
    p("| seconds, debug logging on | " + " | ".join(f"{runs[s, w][0]:.1f}" for w in workloads) + " | |")
    p("")
    if xattrs[s]:
        p("GETXATTR per attribute name:")
        p("")
        p("| name | " + " | ".join(workloads) + " | total |")
        p("|---|" + "---:|" * (len(workloads) + 1))
        for k in sorted(xattrs[s], key=lambda k: (-allw(xattrs[s][k]), k)):
            p(f"| `{k}` | " + " | ".join(f"{xattrs[s][k].get(w, 0):,}" for w in workloads) + f" | {allw(xattrs[s][k]):,} |")
        p("")
open(out, "w").write("\n".join(o) + "\n")
EOF
	cat "$OUT_MD"
	log "report: $OUT_MD"
}

# One line, parsed whole before it runs: editing this file during a run is safe.
main; exit $?
