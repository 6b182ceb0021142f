#!/usr/bin/env bash
# bench/opcount.sh - FUSE requests per tree workload, by opcode, and how long the
# daemon takes to answer each (`make bench-ops`).
#
# The profile behind the untar/lsR/catall/rmrf times of `make bench`: how many
# requests the kernel sends the daemon for each workload, of which kind, how many of
# them a process waits for, and the time from send to reply per opcode. For each
# system in OPS_SYSTEMS (default: veilfs loopback gocryptfs securefs; gocryptfs and
# securefs are skipped when not installed), on a fresh volume mounted as `make bench`
# mounts it (no debug flags), run in this order on the same mount:
#   untar   tar -xf of $TREE_DIR (default /usr/local/go/src), packed once as run.sh does
#   lsR     ls -lR of the tree
#   catall  find -type f | xargs cat > /dev/null
#   rmrf    rm -rf of the tree
# The requests are counted from the kernel's tracepoints fuse:fuse_request_send and
# fuse:fuse_request_end, recorded in a tracefs instance of our own
# ($TRACEFS/instances/veilfs-opcount-PID, removed on exit) that keeps only the events of
# the mount's FUSE connection. The daemons run as they do in production: a request log
# would slow each of them down differently, and securefs has none.
# Each workload is preceded by `sync` and a $SETTLE s pause, and counts every request
# sent from its start to the end of the next pause (so requests the kernel sends late,
# such as RELEASE, count for the workload that caused them and do not leak into the
# next). The run fails when the trace buffer lost an event (raise TRACE_KB).
# A quick check on a small tree: TREE_DIR=/usr/local/go/src/net bench/opcount.sh --out /tmp/ops.md
#
# Knobs (environment): OPS_SYSTEMS="veilfs loopback gocryptfs securefs"
#   TREE_DIR=/usr/local/go/src SETTLE=1.5 BENCH_DIR=/var/tmp/veilfs-bench-ops
#   TRACE_KB (trace buffer per CPU, KiB; default 2 KiB per file of the tree, at least 4096)
#   TRACEFS=/sys/kernel/tracing INSTALL=1 BUILD=1 GO=go VEILFS=bin/veilfs
# Flags: --out FILE.md (default bench/results-ops.md), -h.
# Output: the report; raw data in $BENCH_DIR: requests.tsv (one line per request:
# system, workload, opcode, send-to-end µs or NA, 1 if sent after the command
# returned, error), runs.tsv, meta.txt.
# Exit status 0, or 1 on any failure. Needs root. It unmounts only what it mounted
# and stops only the daemons it started, also on failure or Ctrl-C.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/args.sh
. "$HERE/args.sh" results-ops.md 1 "$@"

OPS_SYSTEMS=${OPS_SYSTEMS:-"veilfs loopback gocryptfs securefs"}
TREE_DIR=$(realpath -m "${TREE_DIR:-/usr/local/go/src}")
SETTLE=${SETTLE:-1.5}
INSTALL=${INSTALL:-1}
BUILD=${BUILD:-1}
GO=${GO:-go}
BENCH_DIR=$(realpath -m "${BENCH_DIR:-/var/tmp/veilfs-bench-ops}")
TRACEFS=${TRACEFS:-/sys/kernel/tracing}
PASSWORD=bench-password-not-secret
VEILFS=${VEILFS:-$ROOT/bin/veilfs}
LOOPBACK=$ROOT/bin/bench-loopback
LOGDIR=$BENCH_DIR/logs
LOGFILE=$LOGDIR/opcount.log
WORKLOADS=(untar lsR catall rmrf)
REQUESTS=$BENCH_DIR/requests.tsv # system workload opcode µs(send->end, NA) late(0/1) error
RUNS=$BENCH_DIR/runs.tsv         # system workload seconds
META=$BENCH_DIR/meta.txt
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

# Our own tracefs instance: its buffer, filter and tracing_on are separate from the
# top-level ones and from other instances, so whoever else traces is not disturbed.
INST=$TRACEFS/instances/veilfs-opcount-$$
# shellcheck disable=SC2317 # called from the EXIT trap
trace_teardown() {
	[[ -d $INST ]] || return 0
	echo 0 >"$INST/tracing_on"
	echo 0 >"$INST/events/fuse/enable"
	rmdir "$INST" || log "WARN: could not remove $INST"
}
trap 'cleanup; trace_teardown' EXIT # lib.sh's cleanup (unmount, reap) first

trace_setup() { # KB: create the instance with KB of buffer per CPU, fuse events on, tracing off
	[[ -d $TRACEFS/events/fuse ]] || die "no fuse tracepoints in $TRACEFS/events (tracefs not mounted, or a kernel without fs/fuse/fuse_trace.h)"
	mkdir "$INST" || die "cannot create the tracefs instance $INST"
	echo 0 >"$INST/tracing_on"
	echo "$1" >"$INST/buffer_size_kb" || die "cannot size the trace buffer to $1 KiB per CPU"
	# send and end of one request may be stamped on different CPUs: the default
	# "local" clock is not comparable across CPUs, mono is.
	echo mono >"$INST/trace_clock"
	echo 1 >"$INST/events/fuse/enable"
}

# trace_connection MOUNTPOINT: keep only the events of that mount's FUSE connection.
# The tracepoints' `connection` is fc->dev, the superblock's anonymous dev_t: major 0,
# so the kernel-internal value is the minor, which is also the number of the mount's
# /sys/fs/fuse/connections directory. `stat -c %d` would give the userspace encoding,
# which differs from the minor from 256 on.
trace_connection() {
	local conn
	conn=$(mountpoint -d "$1") || die "mountpoint -d $1 failed"
	conn=${conn#*:}
	[[ -d /sys/fs/fuse/connections/$conn ]] || log "WARN: no /sys/fs/fuse/connections/$conn for $1"
	echo "connection == $conn" >"$INST/events/fuse/filter" || die "cannot set the trace filter"
	CONN=$conn
}

trace_start() { # an empty buffer (which also zeroes its per-CPU overrun counters), tracing on
	: >"$INST/trace"
	echo 1 >"$INST/tracing_on"
}

# trace_lost: events the buffer lost since trace_start, over all CPUs. A ring buffer
# that fills up overwrites its oldest events (overrun) or drops new ones.
trace_lost() {
	awk -F: '$1 == "overrun" || $1 == "commit overrun" || $1 == "dropped events" { n += $2 } END { print n + 0 }' \
		"$INST"/per_cpu/cpu*/stats
}

# parse_trace SYSTEM WORKLOAD: read the instance's trace on stdin, append one line per
# request sent to REQUESTS. A request is keyed by its unique id (unique per
# connection); one whose end is not in the window gets NA. The marker written when
# the command returned splits the requests the process caused while it ran from those
# the kernel sent afterwards. The task name before the timestamp may hold spaces, so
# fields are taken relative to the event name.
parse_trace() {
	awk -v s="$1" -v w="$2" '
		function stamp(i,   f, n, t) { # µs of the timestamp that ends the text before column i
			n = split(substr($0, 1, i - 1), f, " ")
			split(f[n], t, ".")
			return t[1] * 1000000 + t[2]
		}
		(i = index($0, ": tracing_mark_write: opcount returned")) { returned = stamp(i); next }
		(i = index($0, ": fuse_request_")) {
			split(substr($0, i + 15), r, " ") # send: connection C req U opcode N (FUSE_X) len L
			if (r[1] == "send:") {            # end: connection C req U len L error E
				op = r[8]; gsub(/^\((FUSE_|CUSE_)?|\)$/, "", op)
				order[++n] = r[5]; opc[r[5]] = op; sent[r[5]] = stamp(i)
			} else if (r[1] == "end:" && r[5] in sent) {
				lat[r[5]] = stamp(i) - sent[r[5]]; err[r[5]] = r[9]
			}
		}
		END {
			for (k = 1; k <= n; k++) {
				u = order[k]
				late = returned != "" && sent[u] > returned
				printf "%s\t%s\t%s\t%s\t%d\t%s\n", s, w, opc[u], (u in lat) ? lat[u] : "NA", late, (u in err) ? err[u] : "NA"
			}
		}' >>"$REQUESTS"
}

run_workload() { # NAME: run one workload on $MNT/tree
	case $1 in
	untar) tar --no-same-owner -xf "$TARBALL" -C "$MNT/tree" ;;
	lsR) ls -lR "$MNT/tree" >/dev/null ;;
	catall) find "$MNT/tree" -type f -print0 | xargs -0 cat >/dev/null ;;
	rmrf) rm -rf "$MNT/tree" ;;
	esac
}

settle() { sync; sleep "$SETTLE"; }

main() {
	[[ $(id -u) == 0 ]] || { echo "opcount.sh: needs root (mount, tracefs)" >&2; exit 1; }
	mkdir -p "$LOGDIR" && : >"$LOGFILE"
	cd "$BENCH_DIR" || exit 1
	if findmnt -rno TARGET | grep -q "^$BENCH_DIR/"; then
		die "something is still mounted under $BENCH_DIR; unmount it first"
	fi
	local s systems=()
	for s in $OPS_SYSTEMS; do
		[[ $s =~ ^(loopback|gocryptfs|securefs|veilfs)$ ]] || die "unknown system $s (loopback, gocryptfs, securefs, veilfs)"
		if [[ $s =~ ^(gocryptfs|securefs)$ ]] && ! command -v "$s" >/dev/null; then
			log "$s is not installed: skipped"
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
	# Every event of a workload may land on one CPU; an untar costs about 10 requests,
	# 20 events of some 40 bytes, per file.
	TRACE_KB=${TRACE_KB:-$((files * 2 > 4096 ? files * 2 : 4096))}
	trace_setup "$TRACE_KB"
	{
		echo "date=$(date -Is)"
		echo "host=$(nproc) CPUs, kernel $(uname -r)"
		echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
		echo "tree=$TREE_DIR"
		echo "files=$files"
		echo "dirs=$dirs"
		echo "settle=$SETTLE"
		echo "trace_kb=$TRACE_KB"
		echo "systems=${systems[*]}"
		for s in "${systems[@]}"; do echo "version.$s=$(system_version "$s")"; done
	} >"$META"
	: >"$REQUESTS" && : >"$RUNS"
	log "opcount: systems [${systems[*]}], tree $TREE_DIR ($files files, $dirs directories), trace buffer $TRACE_KB KiB per CPU in $INST"

	local w d t0 secs lost
	for s in "${systems[@]}"; do
		d=$BENCH_DIR/vol/$s
		rm -rf "$d" && mkdir -p "$d"
		: >"$LOGDIR/$s.log" # mount_system's SYSLOG: one run's output only
		mount_system "$s" "$d" || die "$s: creating or mounting the volume failed (see $LOGDIR/$s.log)"
		mkdir "$MNT/tree" || die "$s: mkdir failed"
		trace_connection "$MOUNTPOINT"
		log "$s mounted (pid $DAEMON), FUSE connection $CONN"
		settle
		for w in "${WORKLOADS[@]}"; do
			trace_start
			t0=$EPOCHREALTIME
			run_workload "$w" 2>>"$LOGDIR/$s.workloads.log" || die "$s $w failed (see $LOGDIR/$s.workloads.log)"
			secs=$(elapsed "$t0" "$EPOCHREALTIME")
			echo "opcount returned" >"$INST/trace_marker"
			settle # the next workload's "preceded by sync and a pause"; counted for this one
			echo 0 >"$INST/tracing_on"
			lost=$(trace_lost)
			[[ $lost == 0 ]] || die "$s $w: the trace buffer lost $lost events; raise TRACE_KB (now $TRACE_KB KiB per CPU)"
			parse_trace "$s" "$w" <"$INST/trace"
			printf '%s\t%s\t%s\n' "$s" "$w" "$secs" >>"$RUNS"
			log "  $s $w: $(awk -F'\t' -v s="$s" -v w="$w" '$1 == s && $2 == w { n++ } END { print n + 0 }' "$REQUESTS") requests, ${secs}s"
		done
		umount_system
		rm -rf "$d"
	done

	python3 - "$BENCH_DIR" "$OUT_MD" "${WORKLOADS[@]}" <<'EOF' || die "rendering $OUT_MD failed"
import collections, errno, math, statistics, sys

bench_dir, out, workloads = sys.argv[1], sys.argv[2], sys.argv[3:]
meta = dict(l.rstrip("\n").split("=", 1) for l in open(f"{bench_dir}/meta.txt") if "=" in l)
systems = meta["systems"].split()
files = int(meta["files"])
# Requests no process waits for: the kernel queues RELEASE and RELEASEDIR as background
# requests (fuse_file_release -> fuse_file_put(ff, false) -> fuse_simple_background), and
# FORGET, BATCH_FORGET and INTERRUPT go to the daemon through their own queues, not as
# requests that a caller sleeps on (they never show up in these tracepoints anyway).
BACKGROUND = {"RELEASE", "RELEASEDIR", "FORGET", "BATCH_FORGET", "INTERRUPT"}
# READDIR for securefs, whose libfuse does not use READDIRPLUS.
LATENCY_OPS = ["LOOKUP", "CREATE", "WRITE", "READ", "UNLINK", "SETATTR", "GETATTR", "GETXATTR",
               "OPEN", "FLUSH", "READDIRPLUS", "READDIR", "MKDIR", "RMDIR", "RELEASE"]
ALL = "all four"

count = collections.defaultdict(collections.Counter)   # (s, w) -> opcode -> requests
errors = collections.defaultdict(collections.Counter)  # (s, w) -> (opcode, errno) -> error replies
late = collections.Counter()                           # (s, w) -> sent after the command returned
unfinished = collections.Counter()                     # (s, w) -> no end event in the window
lat = collections.defaultdict(list)                    # (s, w, opcode) -> µs, also w = ALL
for line in open(f"{bench_dir}/requests.tsv"):
    s, w, op, us, lt, err = line.rstrip("\n").split("\t")
    count[s, w][op] += 1
    late[s, w] += int(lt)
    if us == "NA":
        unfinished[s, w] += 1
        continue
    if err != "0":
        errors[s, w][op, -int(err)] += 1
    lat[s, w, op].append(int(us))
    lat[s, ALL, op].append(int(us))
secs = {}
for line in open(f"{bench_dir}/runs.tsv"):
    s, w, t = line.rstrip("\n").split("\t")
    secs[s, w] = float(t)

total = lambda s, w: sum(count[s, w].values())
blocking = lambda s, w: sum(n for op, n in count[s, w].items() if op not in BACKGROUND)
pf = lambda n: f"{n / files:.2f}"

def pct(v, q):  # nearest-rank percentile
    v = sorted(v)
    return v[max(0, math.ceil(q * len(v)) - 1)]

def cell(v):  # the number of samples too when there are few
    if not v:
        return ""
    return f"{statistics.median(v):.0f} / {pct(v, 0.9):.0f}" + (f" (n={len(v)})" if len(v) < 10 else "")

def ratio(a, b):  # none from a handful of samples, e.g. the one LOOKUP of the tree's root after the pause
    if len(a) < 10 or len(b) < 10:
        return ""
    return f"{statistics.median(a) / max(statistics.median(b), 0.5):.2f} / {pct(a, 0.9) / max(pct(b, 0.9), 0.5):.2f}"

o = []
p = o.append

def table(head, rows, extra=None):  # rows: (first cell, a cell per system [+ the extra column's])
    p(f"| {head} | " + " | ".join(systems + ([extra] if extra else [])) + " |")
    p("|---|" + "---:|" * (len(systems) + bool(extra)))
    for first, cells in rows:
        p(f"| {first} | " + " | ".join(cells) + " |")
p("# FUSE requests per tree workload")
p("")
p(f"Generated by `make bench-ops` (`bench/opcount.sh`) on {meta['date']}; {meta['host']}; load average {meta['load']} at the start.")
p(f"Tree: `{meta['tree']}` packed as a tarball, {files:,} files (non-directories) in {int(meta['dirs']):,} directories.")
p("")
p("Versions:")
p("")
for s in systems:
    p(f"- **{s}**: {meta['version.' + s]}")
p("")
p("Every system gets a fresh volume, mounted as `make bench` mounts it (no debug flags), and runs")
p("untar, `ls -lR`, cat of every file and `rm -rf` of the tree in this order. The requests are taken")
p("from the kernel's `fuse:fuse_request_send` and `fuse:fuse_request_end` tracepoints, in a tracefs")
p("instance of the script's own filtered on the mount's FUSE connection (the minor of its device")
p(f"number, the same as its `/sys/fs/fuse/connections/N`). Each workload is preceded by `sync` and a {meta['settle']} s")
p("pause, and its column counts every request sent from its start to the end of the next pause:")
p("requests the kernel sends late (RELEASE) stay with the workload that caused them. No event was")
p(f"lost ({meta['trace_kb']} KiB of trace buffer per CPU; the script fails on a ring-buffer overrun).")
p("")

p("## Blocking requests per file")
p("")
p(f"Requests a process waits for ÷ {files:,} files: all traced requests except " + ", ".join(sorted(BACKGROUND)) + ".")
p("RELEASE and RELEASEDIR are background requests (`fuse_file_release()` always puts the file")
p("asynchronously, `fuse_simple_background()`); the caller of close(2) does not wait for them. FORGET,")
p("BATCH_FORGET and INTERRUPT are not requests a caller sleeps on either: the kernel hands them to the")
p("daemon from their own queues, and the send tracepoint does not see them, so they are in none of these")
p("counts. READs from readahead are background requests too (go-fuse and libfuse ask for")
p("`FUSE_ASYNC_READ`), but `cat` waits for the pages they fill, so they count as blocking.")
p("")
table("workload", [(w, [pf(blocking(s, w)) for s in systems]) for w in workloads]
      + [(f"**{ALL}**", [f"**{pf(sum(blocking(s, w) for w in workloads))}**" for s in systems])])
p("")

p("## Requests per opcode")
p("")
p("Every traced request, background ones included; opcodes with no request on any system are left out.")
p("\"after return\" is how many of the workload's requests were sent after its command had returned")
p("(during the pause); \"no reply\" how many had no end event by the end of the pause.")
for w in workloads:
    p("")
    p(f"**{w}**")
    p("")
    names = {k for s in systems for k in count[s, w]}
    table("opcode", [(k, [f"{count[s, w][k]:,}" for s in systems])
                     for k in sorted(names, key=lambda k: (-max(count[s, w][k] for s in systems), k))]
          + [("**all**", [f"**{total(s, w):,}**" for s in systems]),
             ("all per file", [pf(total(s, w)) for s in systems]),
             ("after return", [f"{late[s, w]:,}" for s in systems]),
             ("no reply", [f"{unfinished[s, w]:,}" for s in systems])])
    errs = [f"{s}: " + ", ".join(f"{k} {errno.errorcode.get(e, e)} {n:,}" for (k, e), n in sorted(errors[s, w].items()))
            for s in systems if errors[s, w]]
    if errs:
        p("")
        p("Error replies: " + "; ".join(errs) + ".")
p("")

p("## Daemon time per request")
p("")
p("Median / p90 in µs of end-timestamp minus send-timestamp of each request, matched by connection and")
p("unique id (clock `mono`, 1 µs resolution). This is more than the daemon's own time: it includes the")
p("wait in the kernel's queue until a daemon thread reads the request (and for background requests the")
p("wait behind `max_background`), the copies through /dev/fuse and the scheduling of the daemon's threads.")
p("veilfs ÷ loopback > 1 means veilfs is slower. Times from a loaded machine are noise.")
p("")
for w in [ALL] + workloads:
    rows = [k for k in LATENCY_OPS if any(lat[s, w, k] for s in systems)]
    if not rows:
        continue
    p(f"**{w}**")
    p("")
    cmp = "veilfs" in systems and "loopback" in systems
    table("opcode", [(k, [cell(lat[s, w, k]) for s in systems]
                      + ([ratio(lat["veilfs", w, k], lat["loopback", w, k])] if cmp else [])) for k in rows],
          "veilfs ÷ loopback" if cmp else None)
    p("")

p("## Run times")
p("")
p("Seconds of each workload's command, for orientation only (the trace costs a little per request).")
p("")
table("workload", [(w, [f"{secs.get((s, w), float('nan')):.2f}" for s in systems]) for w in workloads])
open(out, "w").write("\n".join(o) + "\n")
EOF
	cat "$OUT_MD"
	log "report: $OUT_MD"
}

# One line, parsed whole before it runs: editing this file during a run is safe.
main; exit $?
