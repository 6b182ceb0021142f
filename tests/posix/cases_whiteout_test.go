//go:build linux

package posix

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// RENAME_WHITEOUT (issue #16; xfstests generic/013, generic/078).

// init adds the cases to the battery and to the veilfs-only checks.
func init() {
	battery = append(battery, posixCase{"rename_whiteout", caseRenameWhiteout})
	veilOnly = append(veilOnly, veilCase{"whiteout_sidecar", veilWhiteoutSidecar})
}

func renameWhiteout(from, to string) error {
	return unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_WHITEOUT)
}

// caseRenameWhiteout: RENAME_WHITEOUT leaves a 0,0 character device under
// the old name, which lists, stats and unlinks like any other entry (xfstests
// generic/013, generic/078; overlayfs deletes lower files this way). The
// whiteout of a long name needs its sidecar, or it is invisible and its
// directory can never be removed.
func caseRenameWhiteout(t *testing.T, dir string) string {
	var o obs
	for _, name := range []string{"short-src", strings.Repeat("w", 200)} {
		d := filepath.Join(dir, fmt.Sprintf("d%d", len(name)))
		must(t, unix.Mkdir(d, 0o755), "mkdir")
		src, dst := filepath.Join(d, name), filepath.Join(d, "dst")
		writeFile(t, src, []byte("content"), 0o644)
		err := renameWhiteout(src, dst)
		o.add("whiteout rename of a %d-byte name: %s", len(name), en(err))
		if err != nil {
			continue
		}
		o.add("  listing %s; old name %s; new name %s", listing(t, d), rdevLine(src), lst(dst))
		o.add("  content moved: %s", checkContent(t, dst, []byte("content")))
		o.add("  unlink new %s, unlink whiteout %s, rmdir %s", en(unix.Unlink(dst)), en(unix.Unlink(src)), en(unix.Rmdir(d)))
	}
	// A directory over an existing empty directory, in the same directory
	// and across directories: the target goes, as in a plain rename.
	for _, across := range []bool{false, true} {
		d := filepath.Join(dir, fmt.Sprintf("across=%v", across))
		must(t, unix.Mkdir(d, 0o755), "mkdir")
		srcDir, dstDir := d, d
		if across {
			srcDir, dstDir = filepath.Join(d, "x"), filepath.Join(d, "y")
			must(t, unix.Mkdir(srcDir, 0o755), "mkdir")
			must(t, unix.Mkdir(dstDir, 0o755), "mkdir")
		}
		a, b := filepath.Join(srcDir, "a"), filepath.Join(dstDir, "b")
		must(t, unix.Mkdir(a, 0o755), "mkdir")
		must(t, unix.Mkdir(b, 0o755), "mkdir")
		writeFile(t, filepath.Join(a, "inside"), []byte("x"), 0o644)
		o.add("dir over empty dir (across=%v): %s", across, en(renameWhiteout(a, b)))
		o.add("  source %s; target %s holding %s", rdevLine(a), lst(b), listing(t, b))
		// Over a directory that is not empty: refused.
		c := filepath.Join(srcDir, "c")
		must(t, unix.Mkdir(c, 0o755), "mkdir")
		o.add("dir over non-empty dir (across=%v): %s; %s", across, en(renameWhiteout(c, b)), lst(c))
		// A file onto an existing file, replacing it.
		f, g := filepath.Join(srcDir, "f"), filepath.Join(dstDir, "g")
		writeFile(t, f, []byte("new"), 0o644)
		writeFile(t, g, []byte("old"), 0o644)
		o.add("file over file (across=%v): %s; %s; %s", across, en(renameWhiteout(f, g)), rdevLine(f), checkContent(t, g, []byte("new")))
		o.add("  listings %s %s", listing(t, srcDir), listing(t, dstDir))
	}
	return o.String()
}

// veilWhiteoutSidecar: the whiteout RENAME_WHITEOUT leaves under a long
// name is an entry like any other, so its .name sidecar must be in
// CIPHERDIR at once. Without it the whiteout only shows while this mount
// remembers the name (a listing writes the sidecar back from memory); in
// any other mount it is invisible and its directory can never be removed.
func veilWhiteoutSidecar(t *testing.T, v volume, dir string) {
	long := filepath.Join(dir, strings.Repeat("w", 200))
	writeFile(t, long, []byte("content"), 0o644)
	must(t, renameWhiteout(long, filepath.Join(dir, "dst")), "renameat2 RENAME_WHITEOUT")
	// No listing in the mount before looking at CIPHERDIR.
	var st unix.Stat_t
	must(t, unix.Lstat(dir, &st), "lstat dir")
	backing := backingDir(t, v.cipherdir, st.Ino)
	entries, err := os.ReadDir(backing)
	must(t, err, "read backing dir")
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	objects := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "gocryptfs.longname.") || strings.HasSuffix(name, ".name") {
			continue
		}
		objects++
		if !have[name+".name"] {
			info, _ := e.Info()
			t.Errorf("%s (%v) has no .name sidecar", name, info.Mode())
		}
	}
	if want := 1; !v.kind.plaintextNames && objects != want {
		t.Errorf("%d long-name objects in the backing directory, want %d (the whiteout)", objects, want)
	}
}
