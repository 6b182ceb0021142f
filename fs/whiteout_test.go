//go:build linux

package fs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestRenameWhiteout: RENAME_WHITEOUT leaves a whiteout under the source
// name (xfstests generic/013, generic/078; overlayfs). For a long name the
// whiteout keeps the name's sidecar, so that it lists in another mount
// and its directory can be emptied; a directory renamed with it over an
// empty directory replaces that directory as a plain rename does.
func TestRenameWhiteout(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	long := filepath.Join(tm.mnt, strings.Repeat("w", 200))
	if err := os.WriteFile(long, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, long, unix.AT_FDCWD, filepath.Join(tm.mnt, "dst"), unix.RENAME_WHITEOUT); err != nil {
		t.Fatalf("renameat2 RENAME_WHITEOUT: %v", err)
	}
	entries, err := os.ReadDir(tm.cipherDir)
	if err != nil {
		t.Fatal(err)
	}
	sidecars, objects := 0, 0
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasPrefix(name, "gocryptfs.longname.") && strings.HasSuffix(name, ".name"):
			sidecars++
		case strings.HasPrefix(name, "gocryptfs.longname."):
			objects++
		}
	}
	if objects != 1 || sidecars != 1 {
		t.Errorf("CIPHERDIR holds %d long-name objects and %d sidecars, want the whiteout and its sidecar", objects, sidecars)
	}

	for _, across := range []bool{false, true} {
		src, dst := filepath.Join(tm.mnt, "a"), filepath.Join(tm.mnt, "b")
		if across {
			dst = filepath.Join(tm.mnt, "sub", "b")
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []string{src, dst} {
			os.Remove(d) // the whiteout and the directory of the last round
			if err := unix.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_WHITEOUT); err != nil {
			t.Errorf("directory over an empty directory (across %v): %v", across, err)
		}
	}
}
