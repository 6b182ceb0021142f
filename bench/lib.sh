# bench/lib.sh - shared by run.sh and mem.sh (sourced, not run): logging, creating and
# mounting a fresh volume of each system, unmounting, and undoing all of it on exit.
#
# The sourcing script sets: LOGDIR, LOGFILE, PASSWORD, VEILFS, LOOPBACK, ROOT, GO,
# INSTALL, BUILD, BENCH_DIR, and optionally DIE_STATUS (exit status of die, default 1)
# and TREE_DIR (for pack_tree). Sourcing installs the EXIT/INT/TERM/HUP traps.

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$LOGFILE" >&2; }
die() { log "ERROR: $*"; exit "${DIE_STATUS:-1}"; }
# Seconds between two $EPOCHREALTIME stamps, 3 decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ------------------------------------------------------------------ cleanup
# Everything we mounted and every daemon we started is recorded here, so that the
# EXIT trap can undo exactly that and nothing else.
declare -A OUR_MOUNTS=() # mountpoint -> 1
declare -A OUR_PIDS=()   # pid -> 1

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

# unmount MOUNTPOINT: umount(8), retried while busy, then a lazy unmount as the
# last resort so that nothing stays mounted.
unmount() {
	local m=$1 i
	for ((i = 0; i < 20; i++)); do
		is_mounted "$m" || break
		umount "$m" 2>>"$LOGDIR/umount.log" && break
		sleep 0.5
	done
	if is_mounted "$m"; then
		log "WARN: $m busy after 10 s; lazy unmount"
		umount -l "$m" 2>>"$LOGDIR/umount.log"
	fi
	unset "OUR_MOUNTS[$m]"
}

# reap PID SECONDS: wait for a daemon we started to exit after its unmount;
# SIGTERM, then SIGKILL, only that PID if it does not.
reap() {
	local p=$1 t=$2 i
	for ((i = 0; i < t * 10; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		log "WARN: pid $p still running ${t}s after unmount; SIGTERM"
		kill -TERM "$p" 2>/dev/null
		sleep 2
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	unset "OUR_PIDS[$p]"
}

WL_PID="" # the running workload (a `timeout` process), if any

cleanup() {
	local m p
	cd / || true
	if [[ -n $WL_PID ]]; then # timeout(1) passes the TERM on to the workload
		kill -TERM "$WL_PID" 2>/dev/null
		wait "$WL_PID" 2>/dev/null
	fi
	for m in "${!OUR_MOUNTS[@]}"; do unmount "$m"; done
	for p in "${!OUR_PIDS[@]}"; do reap "$p" 5; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# ------------------------------------------------------------------ systems
# mount_system NAME DIR creates a fresh volume under DIR (DIR/backing is the
# backing or cipher directory, DIR/mnt the mountpoint) and mounts it. It sets MNT
# (where the workloads run), MOUNTPOINT (DIR/mnt, "" for native) and DAEMON (the
# serving process's PID, "" for native). The daemon logs to $LOGDIR/NAME.log.
start_daemon() { # command...: start a foreground daemon in the background
	"$@" </dev/null >>"$SYSLOG" 2>&1 &
	DAEMON=$!
	OUR_PIDS[$DAEMON]=1
}

mount_system() {
	local name=$1 d=$2
	local B=$d/backing M=$d/mnt P=$d/passfile
	mkdir -p "$B" "$M"
	printf '%s\n' "$PASSWORD" >"$P"
	SYSLOG=$LOGDIR/$name.log
	echo "=== $(date -Is) $name in $d" >>"$SYSLOG"
	DAEMON=""
	MNT=$M
	MOUNTPOINT=$M
	case $name in
	native)
		MNT=$B
		MOUNTPOINT=""
		return 0
		;;
	loopback)
		start_daemon "$LOOPBACK" "$B" "$M"
		;;
	gocryptfs)
		gocryptfs -init -q -scryptn 10 -passfile "$P" "$B" >>"$SYSLOG" 2>&1 || return 1
		start_daemon gocryptfs -fg -q -passfile "$P" "$B" "$M"
		;;
	securefs)
		# --pass puts the password in argv: acceptable for a throwaway bench volume.
		# A cheap KDF (like -scryptn 10 for the others): the default argon2id takes
		# ~10 s per create and per mount, untimed but it stretches the run.
		securefs create --format 4 --pbkdf pkcs5-pbkdf2-hmac-sha256 --rounds 1000 --pass "$PASSWORD" "$B" \
			>>"$SYSLOG" 2>&1 || return 1
		start_daemon securefs mount --pass "$PASSWORD" "$B" "$M"
		;;
	veilfs)
		"$VEILFS" init --scryptn 10 --passfile "$P" "$B" >>"$SYSLOG" 2>&1 || return 1
		start_daemon "$VEILFS" mount --foreground --passfile "$P" "$B" "$M"
		;;
	*)
		log "unknown system $name"
		return 1
		;;
	esac
	# Wait until the kernel shows the mount, or the daemon has died.
	local i
	for ((i = 0; i < 600; i++)); do
		if is_mounted "$M"; then
			OUR_MOUNTS[$M]=1
			return 0
		fi
		kill -0 "$DAEMON" 2>/dev/null || break
		sleep 0.1
	done
	log "ERROR: $name did not mount (see $SYSLOG)"
	reap "$DAEMON" 1
	return 1
}

# umount_system: unmount what mount_system mounted and wait for its daemon to exit.
umount_system() {
	[[ -n $DAEMON ]] || return 0
	sync
	unmount "$MOUNTPOINT"
	reap "$DAEMON" 20
}

system_version() {
	case $1 in
	native) echo "$(findmnt -no FSTYPE,SOURCE -T "$BENCH_DIR" | head -1) backing $BENCH_DIR; kernel $(uname -r)" ;;
	loopback) echo "go-fuse $(cd "$ROOT" && "$GO" list -m -f '{{.Version}}' github.com/hanwen/go-fuse/v2) fs.NewLoopbackRoot (bench/loopback), DirectMount, entry/attr timeout 1s, max_write 128 KiB, no kernel passthrough; $("$GO" env GOVERSION)" ;;
	gocryptfs) echo "$(gocryptfs -version 2>&1 | head -1) [deb $(dpkg-query -W -f='${Version}' gocryptfs 2>/dev/null)]" ;;
	securefs) echo "securefs [deb $(dpkg-query -W -f='${Version}' securefs 2>/dev/null)], lite format 4 (create --format 4, PBKDF2 1000 rounds), default mount options (attr-timeout 30 s)" ;;
	veilfs)
		local v
		v=$("$VEILFS" --version 2>&1 | head -1)
		[[ $v == *-dirty* ]] && v+=" (-dirty: built from a tree with uncommitted changes)"
		echo "$v; default volume options (AES-GCM-256, EME names)"
		;;
	esac
}

# ------------------------------------------------------------------ probes
# VmHWM (peak resident set) and VmRSS of a daemon in KiB, "NA" if gone.
vm_kib() { awk -v k="$2:" '$1 == k { print $2; f = 1 } END { if (!f) print "NA" }' "/proc/$1/status" 2>/dev/null || echo NA; }

# ------------------------------------------------------------------ setup
# ensure_tools COMMAND...: apt-get install the Debian packages of the commands
# that are missing (when INSTALL=1), else fail naming them.
ensure_tools() {
	local -A pkg_of=([gocryptfs]=gocryptfs [securefs]=securefs [fio]=fio [gnuplot]=gnuplot-nox [python3]=python3
		[setfattr]=attr [getfattr]=attr)
	local missing=() c
	for c in "$@"; do command -v "$c" >/dev/null || missing+=("${pkg_of[$c]:-$c}"); done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	[[ $INSTALL == 1 ]] || die "missing packages: ${missing[*]} (INSTALL=0)"
	log "installing ${missing[*]} (apt-get)"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
		>>"$LOGDIR/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed, see $LOGDIR/apt.log"
}

# pack_tree: set TARBALL to $BENCH_DIR/tree-<TREE_DIR, / as _>.tar (the input of the
# untar workloads) and pack TREE_DIR into it unless it is there from an earlier run.
# The name depends on the tree, so runs on different trees keep their own.
pack_tree() {
	TARBALL=$BENCH_DIR/tree-$(echo "$TREE_DIR" | tr / _ | sed 's/^_//').tar
	[[ -s $TARBALL ]] && return 0
	log "packing $TREE_DIR into $TARBALL (once)"
	tar -C "$(dirname "$TREE_DIR")" -cf "$TARBALL.tmp" "$(basename "$TREE_DIR")" && mv "$TARBALL.tmp" "$TARBALL" ||
		die "cannot pack $TREE_DIR"
}

# build: bin/veilfs with `make build`, bin/bench-loopback with go build (BUILD=1).
build() {
	[[ $BUILD == 1 ]] || return 0
	log "building bin/veilfs (make build) and bin/bench-loopback"
	make -C "$ROOT" --no-print-directory build GO="$GO" >>"$LOGDIR/build.log" 2>&1 || die "make build failed, see $LOGDIR/build.log"
	(cd "$ROOT" && "$GO" build -trimpath -o "$LOOPBACK" ./bench/loopback) >>"$LOGDIR/build.log" 2>&1 ||
		die "building bench/loopback failed, see $LOGDIR/build.log"
}
