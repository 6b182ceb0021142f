package harness

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// CiphertextPaths maps each of names (paths in the mount on mnt of the
// volume in cipherdir) to the path of its object relative to cipherdir,
// for tests that damage or replace a given object's ciphertext. veilfs
// shows the backing inode numbers, so the inode tells which object is
// which. A name without an object fails the test.
func CiphertextPaths(t testing.TB, cipherdir, mnt string, names ...string) map[string]string {
	t.Helper()
	inodes := map[uint64]string{}
	filepath.Walk(cipherdir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(cipherdir, p)
			inodes[uint64(fi.Sys().(*syscall.Stat_t).Ino)] = rel
		}
		return nil
	})
	out := make(map[string]string, len(names))
	for _, name := range names {
		fi, err := os.Lstat(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		if out[name] = inodes[uint64(fi.Sys().(*syscall.Stat_t).Ino)]; out[name] == "" {
			t.Fatalf("no ciphertext for %s", name)
		}
	}
	return out
}
