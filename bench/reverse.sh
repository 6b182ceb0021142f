#!/usr/bin/env bash
# bench/reverse.sh - reverse mode: veilfs --reverse next to gocryptfs -reverse (`make bench-reverse`).
#
# One plaintext directory PLAINDIR (under a fresh mktemp -d) holds big.bin, BIG_MB MiB
# of random bytes, and tree/, a copy of TREE_DIR (default /usr/local/go/src). It is made
# a reverse volume once, with `gocryptfs -init -reverse -scryptn 10` (AES-SIV contents,
# EME names), and that same PLAINDIR and config are mounted by both daemons at once:
#   veilfs     veilfs mount --reverse --foreground --passfile F PLAINDIR MNT
#   gocryptfs  gocryptfs -reverse -fg -q -passfile F PLAINDIR MNT
#   plain      PLAINDIR itself, read directly: the baseline
# The plaintext is read once before the timed runs, so its page cache is warm; the
# views are not cached between runs (veilfs serves them with direct I/O, gocryptfs
# without FOPEN_KEEP_CACHE), so every run goes through the daemon.
# Workloads, best of REPS (default 3), the order of the systems rotated every rep:
#   seqread  dd if=big.bin (its view) of=/dev/null bs=1M
#   tree     tar -cf - . | cat >/dev/null of tree/ (through a pipe: GNU tar writing to
#            /dev/null itself skips reading file contents)
#   rsync    once: rsync -a of the whole view to a destination directory (the full copy).
#            Then each rep: unmount both views, flip one byte of big.bin at CHANGE_OFFSET
#            (each rep undoes the previous one), mount them again, check with cmp -l that
#            the new view of big.bin differs from the copied one (the view of the mount
#            before) in exactly one 4128-byte ciphertext block, the block holding the
#            changed byte, and time rsync -a --no-whole-file --stats of the view to the
#            same destination (rsync's delta algorithm; its stats give the bytes sent
#            literally and matched).
# Also: the ciphertext names and bytes of both views are compared (diff -r of the two
# rsync destinations after the full copy and after the last incremental run), and the
# peak RSS (VmHWM from /proc/PID/status, reset per phase) of each daemon is recorded.
#
# Knobs (environment): REPS=3 BIG_MB=1024 TREE_DIR=/usr/local/go/src
#   CHANGE_OFFSET=<BIG_MB/2 MiB + 1000> (the plaintext byte offset flipped)
#   BENCH_DIR=<mktemp -d under /var/tmp> (must be empty or absent; removed at the end)
#   WL_TIMEOUT=300 (s per command) INSTALL=1 GO=go VEILFS=<built from ./cmd/veilfs>
# Flags: --out FILE.md (default bench/results-reverse.md), -h.
# Exit status 0; 1 if a check failed (not exactly one changed block, views not identical;
# the report is still written), 2 on any other failure. Needs /dev/fuse and about
# 5 x BIG_MB MiB free under BENCH_DIR; takes ~3 min on 2 CPUs. It unmounts only what it
# mounted and stops only the daemons it started, also on failure or Ctrl-C; on failure
# the logs are kept (the path is printed).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/args.sh
. "$HERE/args.sh" results-reverse.md 2 "$@"

REPS=${REPS:-3}
BIG_MB=${BIG_MB:-1024}
TREE_DIR=$(realpath -m "${TREE_DIR:-/usr/local/go/src}")
CHANGE_OFFSET=${CHANGE_OFFSET:-$((BIG_MB * 524288 + 1000))}
WL_TIMEOUT=${WL_TIMEOUT:-300}
INSTALL=${INSTALL:-1}
GO=${GO:-go}
if [[ -n ${BENCH_DIR:-} ]]; then
	BENCH_DIR=$(realpath -m "$BENCH_DIR")
	mkdir -p "$BENCH_DIR" || exit 2
	[[ -z $(ls -A "$BENCH_DIR") ]] || { echo "reverse.sh: $BENCH_DIR is not empty" >&2; exit 2; }
else
	BENCH_DIR=$(mktemp -d /var/tmp/veilfs-bench-reverse.XXXXXX) || exit 2
fi
PASSWORD=bench-password-not-secret
LOGDIR=$BENCH_DIR/logs
LOGFILE=$LOGDIR/reverse.log
DIE_STATUS=2
mkdir -p "$LOGDIR" && : >"$LOGFILE"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

PLAIN=$BENCH_DIR/plain # PLAINDIR: big.bin, tree/, .gocryptfs.reverse.conf
PASSFILE=$BENCH_DIR/passfile
RAW=$BENCH_DIR/raw.tsv     # system workload rep seconds
RSS=$BENCH_DIR/rss.tsv     # system phase VmHWM-KiB
CHECKS=$BENCH_DIR/checks.tsv # check rep verdict detail
META=$BENCH_DIR/meta.txt
SYSTEMS=(plain veilfs gocryptfs)
VIEWS=(veilfs gocryptfs)
CBS=4128 # ciphertext block: 16-byte nonce, 4096 bytes, 16-byte tag
HDR=18   # file header: 2-byte version, 16-byte file ID
declare -A PID=() MNTOF=() # system -> daemon pid, mountpoint
STATUS=2

# On exit: lib.sh's cleanup (unmount what we mounted, reap our daemons), then remove
# the work directory, unless a mount is somehow still there or the run failed (logs kept).
# shellcheck disable=SC2317 # run by the EXIT trap
finish() {
	cleanup
	if findmnt -rno TARGET | grep -q "^$BENCH_DIR/"; then
		echo "reverse.sh: something is still mounted under $BENCH_DIR; not removing it" >&2
	elif [[ $STATUS != 0 ]]; then
		find "$BENCH_DIR" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
		echo "reverse.sh: failed or interrupted; logs kept in $LOGDIR" >&2
	else
		rm -rf "$BENCH_DIR"
	fi
}
trap finish EXIT

# mount_view SYSTEM: mount PLAINDIR's encrypted view; sets PID[SYSTEM], MNTOF[SYSTEM].
mount_view() {
	local s=$1 m=$BENCH_DIR/mnt-$1 i
	mkdir -p "$m"
	SYSLOG=$LOGDIR/$s.log
	echo "=== $(date -Is) $s --reverse on $m" >>"$SYSLOG"
	case $s in
	veilfs) start_daemon "$VEILFS" mount --reverse --foreground --passfile "$PASSFILE" "$PLAIN" "$m" ;;
	gocryptfs) start_daemon gocryptfs -reverse -fg -q -passfile "$PASSFILE" "$PLAIN" "$m" ;;
	esac
	PID[$s]=$DAEMON
	MNTOF[$s]=$m
	for ((i = 0; i < 300; i++)); do
		if is_mounted "$m"; then
			OUR_MOUNTS[$m]=1
			return 0
		fi
		kill -0 "$DAEMON" 2>/dev/null || break
		sleep 0.1
	done
	reap "$DAEMON" 1
	die "$s did not mount (see $SYSLOG)"
}

# umount_view SYSTEM: record the daemon's peak RSS for PHASE, unmount as its tool
# says (veilfs unmount, fusermount3 -u; lib.sh's unmount if that fails), reap it.
umount_view() {
	local s=$1 m=${MNTOF[$1]}
	case $s in
	veilfs) "$VEILFS" unmount "$m" ;;
	gocryptfs) fusermount3 -u "$m" ;;
	esac >>"$LOGDIR/umount.log" 2>&1 || unmount "$m"
	unset "OUR_MOUNTS[$m]"
	reap "${PID[$s]}" 20
}

# Peak RSS per phase: reset VmHWM (Linux >= 4.0) before, read it after.
reset_hwm() { local s; for s in "${VIEWS[@]}"; do echo 5 >"/proc/${PID[$s]}/clear_refs"; done; }
note_hwm() { local s; for s in "${VIEWS[@]}"; do printf '%s\t%s\t%s\n' "$s" "$1" "$(vm_kib "${PID[$s]}" VmHWM)" >>"$RSS"; done; }

src_of() { [[ $1 == plain ]] && echo "$PLAIN" || echo "${MNTOF[$1]}"; }

# timed SYSTEM WORKLOAD REP COMMAND...: run COMMAND under timeout, append its seconds to RAW.
timed() {
	local s=$1 w=$2 r=$3 t0 secs
	shift 3
	t0=$EPOCHREALTIME
	timeout "$WL_TIMEOUT" "$@" 2>>"$LOGDIR/$s.workloads.log" || die "$s $w (rep $r) failed (see $LOGDIR/$s.workloads.log)"
	secs=$(elapsed "$t0" "$EPOCHREALTIME")
	printf '%s\t%s\t%s\t%s\n' "$s" "$w" "$r" "$secs" >>"$RAW"
	log "  $w $s: ${secs}s"
}

# rotated REP: the systems in the order of rep REP (rep 1: A B C, rep 2: B C A, ...).
rotated() {
	local r=$1 n=${#SYSTEMS[@]} i
	for ((i = 0; i < n; i++)); do echo "${SYSTEMS[(i + r - 1) % n]}"; done
}

# flip_byte: invert the byte at CHANGE_OFFSET of big.bin, in place.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$CHANGE_OFFSET" -N1 "$PLAIN/big.bin" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' $((b ^ 255)))" |
		dd of="$PLAIN/big.bin" bs=1 count=1 seek="$CHANGE_OFFSET" conv=notrunc status=none
}

# check_block SYSTEM REP: cmp -l the copied view of big.bin (from the mount before the
# change) with the view of the fresh mount; every differing byte must lie in the one
# ciphertext block that holds CHANGE_OFFSET.
check_block() {
	local s=$1 r=$2 out want_lo want_hi verdict
	local blk=$((CHANGE_OFFSET / 4096))
	want_lo=$((HDR + blk * CBS)) want_hi=$((HDR + (blk + 1) * CBS - 1))
	out=$(cmp -l "$BENCH_DIR/dest-$s/$CBIG" "${MNTOF[$s]}/$CBIG" 2>>"$LOGDIR/$s.workloads.log" |
		awk 'NR == 1 { lo = $1 } { hi = $1; n++ } END { printf "%d %d %d", n, lo - 1, hi - 1 }')
	read -r n lo hi <<<"$out"
	if ((n > 0 && lo >= want_lo && hi <= want_hi)); then verdict=PASS; else verdict=FAIL; fi
	printf 'block\t%s\t%s\t%s\t%s bytes differ, offsets %s-%s; block %s = [%s, %s]\n' \
		"$s" "$r" "$verdict" "$n" "$lo" "$hi" "$blk" "$want_lo" "$want_hi" >>"$CHECKS"
	log "  cmp $s: $n bytes differ at ciphertext offsets $lo-$hi (block $blk: $want_lo-$want_hi): $verdict"
}

# check_same WHEN: the two views, as copied by rsync, are byte for byte the same tree.
check_same() {
	local verdict=PASS
	diff -r "$BENCH_DIR/dest-veilfs" "$BENCH_DIR/dest-gocryptfs" >>"$LOGDIR/diff.log" 2>&1 || verdict=FAIL
	printf 'same\t-\t%s\t%s\tdiff -r of the two destinations\n' "$1" "$verdict" >>"$CHECKS"
	log "  veilfs view = gocryptfs view ($1): $verdict"
}

main() {
	ensure_tools gocryptfs rsync python3
	command -v fusermount3 >/dev/null || die "fusermount3 missing (apt-get install fuse3)"
	[[ -e /dev/fuse ]] || die "no /dev/fuse"
	[[ -d $TREE_DIR ]] || die "no $TREE_DIR"
	local version
	version=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
	if [[ -z ${VEILFS:-} ]]; then
		VEILFS=$BENCH_DIR/bin/veilfs
		log "building $VEILFS (go build ./cmd/veilfs, version $version)"
		(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-X main.version=$version" -o "$VEILFS" ./cmd/veilfs) \
			>>"$LOGDIR/build.log" 2>&1 || die "go build failed, see $LOGDIR/build.log"
	fi
	: >"$RAW" && : >"$RSS" && : >"$CHECKS"

	log "plaintext: $BIG_MB MiB big.bin, copy of $TREE_DIR, in $PLAIN"
	mkdir -p "$PLAIN" || die "mkdir $PLAIN"
	head -c "$((BIG_MB * 1048576))" /dev/urandom >"$PLAIN/big.bin" || die "writing big.bin failed"
	cp -a "$TREE_DIR" "$PLAIN/tree" || die "copying $TREE_DIR failed"
	printf '%s\n' "$PASSWORD" >"$PASSFILE"
	gocryptfs -init -reverse -q -scryptn 10 -passfile "$PASSFILE" "$PLAIN" >>"$LOGDIR/init.log" 2>&1 ||
		die "gocryptfs -init -reverse failed (see $LOGDIR/init.log)"
	((CHANGE_OFFSET < BIG_MB * 1048576)) || die "CHANGE_OFFSET beyond big.bin"
	local files dirs tree_mb
	files=$(find "$PLAIN/tree" ! -type d | wc -l)
	dirs=$(find "$PLAIN/tree" -type d | wc -l)
	tree_mb=$(du -sm --apparent-size "$PLAIN/tree" | cut -f1)
	sync

	local s
	for s in "${VIEWS[@]}"; do mount_view "$s"; done
	log "mounted: veilfs pid ${PID[veilfs]}, gocryptfs pid ${PID[gocryptfs]}"
	# The encrypted names of big.bin and tree/, the same in both views.
	CBIG=$(cd "${MNTOF[veilfs]}" && find . -maxdepth 1 -type f -printf '%s %P\n' | sort -n | tail -1 | cut -d' ' -f2-)
	CTREE=$(cd "${MNTOF[veilfs]}" && find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n')
	[[ -n $CBIG && -n $CTREE && $CBIG != *$'\n'* && $CTREE != *$'\n'* ]] || die "cannot find big.bin and tree/ in the veilfs view"
	[[ -f ${MNTOF[gocryptfs]}/$CBIG && -d ${MNTOF[gocryptfs]}/$CTREE ]] || die "the gocryptfs view has other names than veilfs's"

	log "warming the plaintext page cache"
	if ! { cat "$PLAIN/big.bin" >/dev/null && tar -C "$PLAIN/tree" -cf - . | cat >/dev/null; }; then
		die "reading the plaintext failed"
	fi
	local cached
	cached=$(fincore -nbo RES,SIZE "$PLAIN/big.bin" 2>/dev/null | awk '{ printf "%.0f", 100 * $1 / $2 }')
	{
		echo "date=$(date -Is)"
		echo "host=$(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r)"
		echo "store=$(findmnt -no SOURCE,FSTYPE -T "$BENCH_DIR" | head -1)"
		echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
		echo "veilfs=$("$VEILFS" --version 2>&1 | head -1)"
		echo "gocryptfs=$(gocryptfs -version 2>&1 | head -1) [deb $(dpkg-query -W -f='${Version}' gocryptfs 2>/dev/null)]"
		echo "rsync=$(rsync --version | head -1)"
		echo "big_mb=$BIG_MB"
		echo "big_cipher_bytes=$(stat -c %s "${MNTOF[veilfs]}/$CBIG")"
		echo "tree=$TREE_DIR"
		echo "files=$files"
		echo "dirs=$dirs"
		echo "tree_mb=$tree_mb"
		echo "view_files=$(find "${MNTOF[veilfs]}/$CTREE" ! -type d | wc -l)"
		echo "reps=$REPS"
		echo "offset=$CHANGE_OFFSET"
		echo "cached=${cached:-?}"
		echo "conf=$PLAIN/.gocryptfs.reverse.conf"
	} >"$META"

	local r w
	for w in seqread tree; do
		log "$w, best of $REPS"
		reset_hwm
		for ((r = 1; r <= REPS; r++)); do
			for s in $(rotated "$r"); do
				case $w in
				seqread)
					local f=$PLAIN/big.bin
					[[ $s != plain ]] && f=${MNTOF[$s]}/$CBIG
					timed "$s" "$w" "$r" dd if="$f" of=/dev/null bs=1M status=none
					;;
				tree)
					local d=$PLAIN/tree
					[[ $s != plain ]] && d=${MNTOF[$s]}/$CTREE
					# shellcheck disable=SC2016 # $1 is bash -c's
					timed "$s" "$w" "$r" bash -c 'set -o pipefail; tar -C "$1" -cf - . | cat >/dev/null' _ "$d"
					;;
				esac
			done
		done
		note_hwm "$w"
	done

	log "rsync: full copy of each view (and of the plaintext)"
	reset_hwm
	sync
	for s in $(rotated 1); do
		mkdir -p "$BENCH_DIR/dest-$s"
		timed "$s" rsync-full 1 rsync -a "$(src_of "$s")/" "$BENCH_DIR/dest-$s/"
	done
	note_hwm rsync-full
	check_same "after the full copy"

	for ((r = 1; r <= REPS; r++)); do
		log "rsync, rep $r: flip byte $CHANGE_OFFSET of big.bin, mount again, rsync --no-whole-file"
		for s in "${VIEWS[@]}"; do umount_view "$s"; done
		flip_byte || die "changing big.bin failed"
		for s in "${VIEWS[@]}"; do mount_view "$s"; done
		for s in "${VIEWS[@]}"; do check_block "$s" "$r"; done
		sync
		reset_hwm
		for s in $(rotated "$r"); do
			timed "$s" rsync-incr "$r" rsync -a --no-whole-file --stats "$(src_of "$s")/" "$BENCH_DIR/dest-$s/"
		done >"$BENCH_DIR/stats-$r.txt"
		note_hwm rsync-incr
	done
	check_same "after the last incremental run"
	for s in "${VIEWS[@]}"; do umount_view "$s"; done
	echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"

	render
}

# timed's rsync --stats output goes to stats-REP.txt; split it per system. rsync prints
# no name, so the blocks are in the order the systems ran: rotated REP.
split_stats() {
	local r s i=0
	for ((r = 1; r <= REPS; r++)); do
		mapfile -t order < <(rotated "$r")
		awk -v dir="$BENCH_DIR" -v r="$r" -v o="${order[*]}" '
			BEGIN { n = split(o, sys, " ") }
			/^Number of files:/ { k++ }
			k { print > (dir "/stats-" sys[k] "-" r ".txt") }' "$BENCH_DIR/stats-$r.txt"
	done
}

render() {
	split_stats
	python3 - "$BENCH_DIR" "$OUT_MD" <<'EOF' || die "rendering $OUT_MD failed"
import collections, json, re, sys

d, out = sys.argv[1], sys.argv[2]
meta = dict(l.rstrip("\n").split("=", 1) for l in open(f"{d}/meta.txt") if "=" in l)
reps = int(meta["reps"])
S = ["plain", "veilfs", "gocryptfs"]
V = ["veilfs", "gocryptfs"]
t = collections.defaultdict(list)  # (system, workload) -> [seconds]
for l in open(f"{d}/raw.tsv"):
    s, w, r, secs = l.split()
    t[s, w].append(float(secs))
best = {k: min(v) for k, v in t.items()}
hwm = collections.defaultdict(dict)  # system -> phase -> MiB (max)
for l in open(f"{d}/rss.tsv"):
    s, ph, kib = l.split()
    if kib != "NA":
        hwm[s][ph] = max(hwm[s].get(ph, 0), int(kib) / 1024)
checks = [l.rstrip("\n").split("\t") for l in open(f"{d}/checks.tsv")]
ok = all(c[3] == "PASS" for c in checks)

def stats(s, r):
    st = {}
    try:
        for l in open(f"{d}/stats-{s}-{r}.txt"):
            m = re.match(r"([A-Za-z ]+?): ([\d,.]+)", l)
            if m:
                st[m.group(1)] = m.group(2).rstrip(".")
    except FileNotFoundError:
        pass
    return st

big = int(meta["big_mb"]) * 1048576
o = []
p = o.append
f2 = lambda x: f"{x:.2f}"
p("# Reverse mode: veilfs --reverse next to gocryptfs -reverse")
p("")
p(f"Generated by `make bench-reverse` (`bench/reverse.sh`) on {meta['date']}; {meta['host']}.")
p(f"Backing store: {meta['store']}. Load average (1, 5, 15 min) at the start {meta['load_start']}, "
  f"at the end {meta['load_end']}: other users share this machine.")
p("")
p(f"- **veilfs**: {meta['veilfs']}" + (" (-dirty: built from a tree with uncommitted changes)" if "-dirty" in meta["veilfs"] else ""))
p(f"- **gocryptfs**: {meta['gocryptfs']}")
p(f"- {meta['rsync']}")
p("")
p("## Setup")
p("")
p(f"One plaintext directory holds `big.bin` ({meta['big_mb']} MiB of random bytes; "
  f"{int(meta['big_cipher_bytes']):,} bytes in the view) and `tree/`, a copy of `{meta['tree']}` "
  f"({int(meta['files']):,} files in {int(meta['dirs']):,} directories, {meta['tree_mb']} MB; "
  f"{int(meta['view_files']):,} files in the view, which adds a `gocryptfs.diriv` per directory). It was made "
  f"a reverse volume once with `gocryptfs -init -reverse -scryptn 10` (feature flags "
  f"{', '.join(json.load(open(meta['conf']))['FeatureFlags'])}), and both daemons "
  "mount that same directory and config, at the same time: `veilfs mount --reverse --foreground "
  "--passfile F PLAINDIR MNT` and `gocryptfs -reverse -fg -passfile F PLAINDIR MNT`. **plain** "
  "reads the plaintext directory itself: the baseline.")
p("")
p(f"**The page cache of the plaintext is warm**: it was read once before the timed runs "
  f"(fincore: {meta['cached']} % of big.bin resident). The views themselves are not cached from one "
  "run to the next (veilfs serves them with direct I/O, gocryptfs drops a file's pages on "
  "open), so every run goes through the daemon: the figures are the cost of encrypting, "
  "not of the disk.")
p(f"Times are the best of {reps} runs; each rep runs the three systems in a rotated order.")
p("")
p("## Results")
p("")
p("Ratios: >1 means veilfs is faster (gocryptfs time ÷ veilfs time); \"× plain\" is the "
  "system's speed as a fraction of reading the plaintext directly (plain time ÷ system time).")
p("")
p("| workload | plain | veilfs | gocryptfs | **veilfs vs gocryptfs** | veilfs × plain | gocryptfs × plain |")
p("|---|---:|---:|---:|---:|---:|---:|")
rows = [
    ("seqread", f"sequential read of big.bin, `dd bs=1M` to /dev/null (best of {reps})", True),
    ("tree", f"tree: `tar -cf - . \\| cat >/dev/null` of tree/ (best of {reps})", False),
    ("rsync-full", "`rsync -a` of the whole view to an empty directory (once)", False),
    ("rsync-incr", f"`rsync -a --no-whole-file` after one byte of big.bin changed (best of {reps})", False),
]
for w, label, mbs in rows:
    if not all((s, w) in best for s in S):
        continue
    b = {s: best[s, w] for s in S}
    cell = (lambda s: f"{b[s]:.2f} s ({big / 1e6 / b[s]:,.0f} MB/s)") if mbs else (lambda s: f"{b[s]:.2f} s")
    p(f"| {label} | {cell('plain')} | {cell('veilfs')} | {cell('gocryptfs')} | "
      f"**{f2(b['gocryptfs'] / b['veilfs'])}** | {f2(b['plain'] / b['veilfs'])} | {f2(b['plain'] / b['gocryptfs'])} |")
pk = {s: max(hwm[s].values()) if hwm[s] else float("nan") for s in V}
p(f"| peak RSS of the daemon over the whole run (VmHWM) | — | {pk['veilfs']:.1f} MiB | {pk['gocryptfs']:.1f} MiB | "
  f"{f2(pk['gocryptfs'] / pk['veilfs'])} | | |")
p("")
p(f"MB/s: 10^6 bytes of plaintext ({meta['big_mb']} MiB) per second; the view is "
  f"{int(meta['big_cipher_bytes']) - big:,} bytes larger (a 16-byte nonce and a 16-byte tag per 4 KiB block, an "
  "18-byte header). Peak RSS ratio: gocryptfs ÷ veilfs, >1 means veilfs uses less memory.")
p("")
p("## rsync: what the delta algorithm sent")
p("")
p(f"Before each incremental run the byte at plaintext offset {int(meta['offset']):,} of big.bin is "
  "inverted (each rep undoes the previous change) and both views are mounted afresh. The "
  "figures are rsync's `--stats` of the fastest rep (they are the same in every rep).")
p("")
keys = ["Number of files", "Number of regular files transferred", "Total file size", "Total transferred file size",
        "Literal data", "Matched data", "Total bytes sent"]
fastest = {s: min(range(1, reps + 1), key=lambda r: t[s, "rsync-incr"][r - 1]) for s in S}
st = {s: stats(s, fastest[s]) for s in S}
p("| rsync --stats | plain | veilfs | gocryptfs |")
p("|---|---:|---:|---:|")
for k in keys:
    p(f"| {k} | " + " | ".join(st[s].get(k, "?") for s in S) + " |")
p("")
p("## Checks")
p("")
p(f"- **One ciphertext block changes.** Each rep, `cmp -l` of big.bin's view as copied from the mount "
  "before the change with its view on a fresh mount after it. Every differing byte must lie in the one "
  f"4128-byte block (16-byte nonce, 4096 bytes, 16-byte tag; after the 18-byte header) that holds the changed byte. "
  "(The nonce itself stays: in reverse mode it is derived from the file ID and the block number, "
  "so only the sealed 4,112 bytes change; about 1 in 256 of them keeps its value by chance.)")
for c in checks:
    if c[0] == "block":
        p(f"  - {c[1]}, rep {c[2]}: {c[4]} → **{c[3]}**")
p("- **Both views are the same bytes.** `diff -r` of the veilfs and the gocryptfs rsync destinations "
  "(names, contents, the virtual `gocryptfs.conf` and `gocryptfs.diriv` files):")
for c in checks:
    if c[0] == "same":
        p(f"  - {c[2]}: **{c[3]}**")
p("")
p("## Peak RSS per phase")
p("")
p("VmHWM of each daemon in MiB, reset (`clear_refs`) at the start of each phase; the incremental "
  "rsync runs on a fresh mount each rep (the peak over the reps is shown).")
p("")
p("| phase | veilfs | gocryptfs |")
p("|---|---:|---:|")
for ph in ["seqread", "tree", "rsync-full", "rsync-incr"]:
    p(f"| {ph} | " + " | ".join(f"{hwm[s].get(ph, float('nan')):.1f}" for s in V) + " |")
p("")
p("## Every run")
p("")
p("Seconds, in rep order.")
p("")
p("| workload | plain | veilfs | gocryptfs |")
p("|---|---|---|---|")
for w, _, _ in rows:
    p(f"| {w} | " + " | ".join(" ".join(f"{x:.2f}" for x in t[s, w]) for s in S) + " |")
p("")
if not ok:
    p("**A check FAILED**: see above.")
    p("")
open(out, "w").write("\n".join(o).rstrip("\n") + "\n")
sys.exit(0 if ok else 1)
EOF
	local rc=$?
	cat "$OUT_MD"
	log "report: $OUT_MD"
	return $rc
}

# One line, parsed whole before it runs: editing this file during a run is safe.
main; STATUS=$?; exit $STATUS
