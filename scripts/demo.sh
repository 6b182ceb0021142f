#!/usr/bin/env bash
# A two-minute tour of veilfs: create a throwaway volume, mount it, write a few
# files, and show the plaintext view next to what actually lands on disk.
# Everything lives in one temp dir that is unmounted and removed on exit, even
# when a step fails. Needs /dev/fuse (run as root on a Debian machine, or as a
# user allowed to use fusermount3).
#
# Usage: scripts/demo.sh            (builds bin/veilfs first if VEILFS is unset)
#        VEILFS=/path/to/veilfs scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VEILFS:-}" ]; then
	go build -o bin/veilfs ./cmd/veilfs
	VEILFS="$PWD/bin/veilfs"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/veilfs-demo.XXXXXX")
cipher="$work/cipher"
plain="$work/plain"
passfile="$work/passfile"
# The mount remembers directory IVs and long names per volume (for sync
# repairs) under /var/lib/veilfs or ~/.local/state/veilfs; a throwaway
# volume keeps that in the temp dir too, so the demo leaves nothing behind.
export VEILFS_STATE_DIR="$work/state"

cleanup() {
	status=$?
	if mountpoint -q "$plain" 2>/dev/null; then
		"$VEILFS" unmount "$plain" 2>/dev/null \
			|| fusermount3 -u -z "$plain" 2>/dev/null \
			|| umount -l "$plain" 2>/dev/null || true
	fi
	rm -rf "$work"
	if [ "$status" -ne 0 ]; then
		echo "demo: failed (exit $status); temp dir removed" >&2
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then bold=$(printf '\033[1m') plain_=$(printf '\033[0m'); else bold='' plain_=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain_"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "version"
run "$VEILFS" --version

step "create a volume (password from a file; --scryptn 10 keeps the demo fast, use the default for real data)"
printf 'correct horse battery staple\n' >"$passfile"
chmod 600 "$passfile"
run "$VEILFS" init --scryptn 10 --passfile "$passfile" "$cipher"
run "$VEILFS" info "$cipher"

step "mount it"
mkdir "$plain"
run "$VEILFS" mount --passfile "$passfile" "$cipher" "$plain"
grep " $plain " /proc/mounts

step "write through the mount"
longname="a-directory-with-a-rather-long-name-that-no-longer-fits-once-encrypted-$(printf 'x%.0s' $(seq 1 120))"
echo "hello, world" >"$plain/hello.txt"
printf 'the quick brown fox\n%.0s' $(seq 1 300) >"$plain/fox.txt"
mkdir -p "$plain/photos/2024"
head -c 100000 /dev/urandom >"$plain/photos/2024/beach.jpg"
mkdir "$plain/$longname"
echo "inside a long name" >"$plain/$longname/note.txt"
ln -s hello.txt "$plain/link-to-hello"
run cat "$plain/hello.txt"

step "what you see (left) and where it is stored (right)"
# The mount passes the backing files' inode numbers through, so matching
# inodes pairs each plaintext path with its ciphertext path.
(cd "$cipher" && find . -mindepth 1 -printf '%i\t%P\n') >"$work/cipher.map"
(cd "$plain" && find . -mindepth 1 -printf '%i\t%P\n' | LC_ALL=C sort -t "$(printf '\t')" -k2) >"$work/plain.map"
# A long name is cut in its middle: its end tells apart the rows of a
# directory and of the files in it, which share the start.
awk -F '\t' '
	function cut(s, n,    head) {
		if (length(s) <= n) return s
		head = int((n - 3) / 2)
		return substr(s, 1, head) "..." substr(s, length(s) - (n - 3 - head) + 1)
	}
	NR == FNR { c[$1] = $2; next }
	FNR == 1 { printf "%-44s %s\n%-44s %s\n", "PLAINTEXT (mount)", "CIPHERTEXT (cipher dir)", "-----------------", "-----------------------" }
	{ printf "%-44s %s\n", cut($2, 44), cut(c[$1], 70); seen[$1] = 1 }
	END {
		print ""
		print "only in the cipher dir (config, per-directory IVs, long-name sidecars):"
		for (i in c) if (!(i in seen)) print "  " cut(c[i], 100) | "LC_ALL=C sort"
	}' "$work/cipher.map" "$work/plain.map"

step "sizes: plaintext hello.txt vs its ciphertext (18-byte header + 32 bytes per block)"
stat -c '%s bytes  %n' "$plain/hello.txt"
cipher_of() { # cipher_of PLAINPATH -> ciphertext path, by inode
	local ino
	ino=$(stat -c %i "$plain/$1")
	awk -F '\t' -v ino="$ino" -v dir="$cipher" '$1 == ino { print dir "/" $2; exit }' "$work/cipher.map"
}
stat -c '%s bytes  %n' "$(cipher_of hello.txt)"

step "first 64 bytes of the ciphertext of fox.txt (nothing readable)"
cfox=$(cipher_of fox.txt)
if command -v xxd >/dev/null; then
	head -c 64 "$cfox" | xxd
else
	head -c 64 "$cfox" | od -A x -t x1z
fi

step "unmount"
run "$VEILFS" unmount "$plain"
if mountpoint -q "$plain"; then
	echo "demo: still mounted after unmount" >&2
	exit 1
fi
entries=$(ls -A "$cipher" | wc -l)
echo "unmounted; the cipher dir alone is what you would back up or sync (all $entries entries of its top level):"
ls -A "$cipher"

step "done (temp dir $work is removed on exit)"
