//go:build linux

package posix

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestMain sets umask 0 for the whole process before any case runs, so that
// modes are compared exactly as requested (case modes_umask0). The veilfs
// daemon itself is started with umask 022 by the harness, like from a shell.
func TestMain(m *testing.M) {
	unix.Umask(0)
	harness.Main(m)
}

// posixCase is one entry of the battery: fn runs in an empty directory and
// returns an observation that must be identical on a plain directory and on
// veilfs. fn may also assert directly (t.Errorf) where the expected result is
// known independently of the filesystem.
type posixCase struct {
	name string
	fn   func(t *testing.T, dir string) string
}

// battery is the list of comparable cases, in the order they are started.
// The slow ones come first so that they overlap with the many quick ones.
var battery = []posixCase{
	{"large_file_20MiB", caseLargeFile},
	{"dir_5000_entries", caseDir5000},
	{"concurrent_rw", caseConcurrentRW},
	{"append_concurrent", caseAppendConcurrent},
	{"create_read_write", caseCreateReadWrite},
	{"overwrite_blocks", caseOverwriteBlocks},
	{"pread_pwrite_odd", casePreadPwriteOdd},
	{"truncate", caseTruncate},
	{"sparse", caseSparse},
	{"o_trunc", caseOTrunc},
	{"o_excl", caseOExcl},
	{"o_append_pwrite", caseAppendPwrite},
	{"fallocate", caseFallocate},
	{"fallocate_punch_hole", casePunchHole},
	{"fallocate_zero_range", caseZeroRange},
	{"seek_data_hole", caseSeekHoles},
	{"fsync", caseFsync},
	{"mmap", caseMmap},
	{"attrs_on_every_reply", caseAttrsEveryReply},
	{"rename_file_over_file", caseRenameOverFile},
	{"rename_dir_over_dir", caseRenameDirOverDir},
	{"rename_errors", caseRenameErrors},
	{"rename_across_dirs", caseRenameAcrossDirs},
	{"unlink_open_file", caseUnlinkOpen},
	{"hardlinks", caseHardlinks},
	{"symlinks", caseSymlinks},
	{"chmod", caseChmod},
	{"chown", caseChown},
	{"utimens", caseUtimens},
	{"xattr_file", caseXattrFile},
	{"xattr_dir_and_symlink", caseXattrDir},
	{"statfs", caseStatfs},
	{"mkfifo", caseMkfifo},
	{"mknod", caseMknod},
	{"modes_umask0", caseModes},
	{"name_max", caseNameMax},
	{"long_names", caseLongNames},
	{"unicode_and_odd_names", caseOddNames},
	{"readdir_dtype", caseReaddirDtype},
	{"rmdir_errors", caseRmdirErrors},
	{"mkdir_errors", caseMkdirErrors},
	{"dir_nlink", caseDirNlink},
}

// volumeKind is one row of the volume matrix.
type volumeKind struct {
	name     string
	initArgs []string // veilfs init flags
	peerArgs []string // the same for `gocryptfs -init` (VEILFS_POSIX_PEER=gocryptfs)
	// symlinkMax is the longest symlink target the volume must accept
	// (FORMAT §6: 3039 for AES-GCM/AES-SIV, 3031 for XChaCha20, and the
	// kernel's 4095 when targets are stored in the clear).
	symlinkMax     int
	plaintextNames bool
}

var kinds = []volumeKind{
	{name: "default", symlinkMax: 3039},
	{name: "plaintextnames", initArgs: []string{"--plaintextnames"}, peerArgs: []string{"-plaintextnames"}, symlinkMax: 4095, plaintextNames: true},
	{name: "deterministic-names", initArgs: []string{"--deterministic-names"}, peerArgs: []string{"-deterministic-names"}, symlinkMax: 3039},
	{name: "aessiv", initArgs: []string{"--aessiv"}, peerArgs: []string{"-aessiv"}, symlinkMax: 3039},
	{name: "xchacha", initArgs: []string{"--xchacha"}, peerArgs: []string{"-xchacha"}, symlinkMax: 3031},
	{name: "longnamemax62", initArgs: []string{"--longnamemax", "62"}, peerArgs: []string{"-longnamemax", "62"}, symlinkMax: 3039},
}

// TestPOSIX runs the battery on a default volume.
func TestPOSIX(t *testing.T) {
	runBattery(t, kinds[0])
}

// TestPOSIXMatrix runs the same battery on every other volume type.
func TestPOSIXMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("matrix skipped in -short mode")
	}
	for _, k := range kinds[1:] {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			runBattery(t, k)
		})
	}
}

// mountKind creates and mounts a volume of kind k and returns the mountpoint.
// VEILFS_POSIX_PEER=gocryptfs mounts a real gocryptfs volume instead, which
// checks the battery itself against the reference implementation.
func mountKind(t *testing.T, k volumeKind) volume {
	if os.Getenv("VEILFS_POSIX_PEER") == "gocryptfs" {
		harness.RequireFUSE(t)
		cipherdir, mnt := t.TempDir(), t.TempDir()
		harness.GocryptfsInit(t, cipherdir, harness.DefaultPassword, k.peerArgs...)
		harness.GocryptfsMount(t, cipherdir, mnt, harness.DefaultPassword)
		return volume{kind: k, cipherdir: cipherdir, mnt: mnt}
	}
	cipherdir, mnt := harness.NewVolume(t, k.initArgs...)
	return volume{kind: k, cipherdir: cipherdir, mnt: mnt}
}

// volume is a mounted volume of one kind.
type volume struct {
	kind      volumeKind
	cipherdir string
	mnt       string
}

// veilCase is an assertion that only makes sense on veilfs (limits of the
// format, reserved names, what lands on disk). dir is an empty directory
// inside the mount.
type veilCase struct {
	name string
	fn   func(t *testing.T, v volume, dir string)
}

func runBattery(t *testing.T, k volumeKind) {
	v := mountKind(t, k)
	mnt := v.mnt
	for _, c := range battery {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var want, got string
			okPlain := t.Run("plain", func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), c.name)
				must(t, unix.Mkdir(dir, 0o755), "mkdir")
				want = c.fn(t, dir)
			})
			okVeil := t.Run("veilfs", func(t *testing.T) {
				dir := filepath.Join(mnt, c.name)
				must(t, unix.Mkdir(dir, 0o755), "mkdir")
				got = c.fn(t, dir)
			})
			if okPlain && okVeil && got != want {
				t.Errorf("observations differ (plain vs veilfs):\n%s", lineDiff(want, got))
			}
		})
	}
	for _, c := range veilOnly {
		t.Run("veilfs_only/"+c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(mnt, "veilfs_only_"+c.name)
			must(t, unix.Mkdir(dir, 0o755), "mkdir")
			c.fn(t, v, dir)
		})
	}
}

// lineDiff shows the lines of two observations side by side where they differ.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out strings.Builder
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		mark := "  "
		if x != y {
			mark = "! "
		}
		if x == y && len(x) > 200 {
			x = x[:200] + "..."
		}
		fmt.Fprintf(&out, "%s%3d plain : %s\n", mark, i, x)
		if x != y {
			fmt.Fprintf(&out, "%s%3d veilfs: %s\n", mark, i, y)
		}
	}
	return out.String()
}
