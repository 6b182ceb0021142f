//go:build linux

package fs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/testenv"
)

// TestConcurrentWriters: goroutines with their own descriptors write
// disjoint, block-unaligned regions of one file; read-modify-write of the
// shared blocks must not lose any of them.
func TestConcurrentWriters(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	p := filepath.Join(tm.mnt, "shared")
	const writers, chunk, rounds = 8, 1000, 40 // 1000-byte chunks straddle block edges
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			buf := bytes.Repeat([]byte{byte('a' + w)}, chunk)
			for r := range rounds {
				if _, err := f.WriteAt(buf, int64((r*writers+w)*chunk)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Concurrent readers must never see an error while writes go on.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := os.ReadFile(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*chunk*rounds {
		t.Fatalf("size %d, want %d", len(got), writers*chunk*rounds)
	}
	for i := 0; i < len(got); i += chunk {
		want := byte('a' + (i/chunk)%writers)
		if got[i] != want || got[i+chunk-1] != want {
			t.Fatalf("chunk at %d holds %q, want %q", i, got[i], want)
		}
	}
}

// TestHardLinkSizes: a write through one name is seen, with the right size,
// through the other, and st_nlink is right right after link().
func TestHardLinkSizes(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	a, b := filepath.Join(tm.mnt, "a"), filepath.Join(tm.mnt, "sub", "b")
	if err := os.Mkdir(filepath.Dir(b), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, b); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		if st, err := os.Stat(p); err != nil || nlink(st) != 2 {
			t.Fatalf("%s: nlink %d after link (%v)", p, nlink(st), err)
		}
	}
	f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(" and more"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(b); err != nil || st.Size() != int64(len("first and more")) {
		t.Fatalf("size through other name before close: %v (%v)", st.Size(), err)
	}
	f.Close()
	if got, err := os.ReadFile(b); err != nil || string(got) != "first and more" {
		t.Fatalf("content through other name: %q (%v)", got, err)
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(b); err != nil || nlink(st) != 1 {
		t.Fatalf("nlink after unlink: %v (%v)", nlink(st), err)
	}
}

// TestLongNamesAndLinks covers names around the long-name threshold,
// renames between short and long names, and long symlink targets.
func TestLongNamesAndLinks(t *testing.T) {
	for _, kind := range []string{"default", "longnamemax62", "plaintext"} {
		t.Run(kind, func(t *testing.T) {
			tm := newTestMount(t, volumeKinds[kind])
			for _, n := range []int{1, 175, 176, 255} {
				name := filepath.Join(tm.mnt, string(bytes.Repeat([]byte{'x'}, n)))
				if err := os.WriteFile(name, []byte(fmt.Sprint(n)), 0o644); err != nil {
					t.Fatalf("%d-byte name: %v", n, err)
				}
				long := filepath.Join(tm.mnt, "d"+string(bytes.Repeat([]byte{'y'}, n-1)))
				if err := os.Rename(name, long); err != nil {
					t.Fatalf("rename %d: %v", n, err)
				}
				if got, err := os.ReadFile(long); err != nil || string(got) != fmt.Sprint(n) {
					t.Fatalf("after rename %d: %q %v", n, got, err)
				}
				if err := os.Remove(long); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(tm.mnt, string(bytes.Repeat([]byte{'z'}, 256))), nil, 0o644); !errors.Is(err, syscall.ENAMETOOLONG) {
				t.Fatalf("256-byte name: %v, want ENAMETOOLONG", err)
			}
			target := string(bytes.Repeat([]byte{'t'}, 3039))
			if err := os.Symlink(target, filepath.Join(tm.mnt, "l")); err != nil {
				t.Fatalf("3039-byte target: %v", err)
			}
			if got, err := os.Readlink(filepath.Join(tm.mnt, "l")); err != nil || got != target {
				t.Fatalf("readlink: %v", err)
			}
			if st, err := os.Lstat(filepath.Join(tm.mnt, "l")); err != nil || st.Size() != 3039 {
				t.Fatalf("lstat size %v, want 3039", st.Size())
			}
			// Only the residue of our own files may remain in CIPHERDIR.
			leftovers, _ := filepath.Glob(filepath.Join(tm.cipherDir, "gocryptfs.longname.*"))
			if len(leftovers) != 0 {
				t.Fatalf("sidecars left behind: %v", leftovers)
			}
		})
	}
}

// TestModesAndDirFsync: mode 0000 is reported as 0000 (go-fuse would show
// 0644 by default), and fsync works on directories.
func TestModesAndDirFsync(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	p := filepath.Join(tm.mnt, "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0, 0o640, 0o7777 &^ 0o7000, 0o4755} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode() & (os.ModePerm | os.ModeSetuid); got != mode&(os.ModePerm|os.ModeSetuid) {
			t.Fatalf("chmod %o: stat shows %o", mode, got)
		}
	}
	d, err := os.Open(tm.mnt)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatalf("fsync of a directory: %v", err)
	}
}

// TestDotEntries: listings start with "." and "..", as on a plain
// directory, with the directory's own and its parent's inode numbers.
func TestDotEntries(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	sub := filepath.Join(tm.mnt, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := syscall.ReadDirent(int(f.Fd()), buf)
	if err != nil {
		t.Fatal(err)
	}
	// Parse linux_dirent64 by hand: syscall.ParseDirent drops the dots.
	var raw []string
	for off := 0; off < n; {
		reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
		name := buf[off+19 : off+reclen]
		raw = append(raw, string(name[:bytes.IndexByte(name, 0)]))
		off += reclen
	}
	if len(raw) != 2 || raw[0] != "." || raw[1] != ".." {
		t.Fatalf("raw listing %v, want [. ..]", raw)
	}
}

// TestPageCacheRevalidated: the kernel may keep a file's cached pages
// across opens only while the ciphertext is unchanged. Here another
// machine's version arrives through the sync folder between two opens:
// the next read must show it, in place (same inode) and as a new file.
func TestPageCacheRevalidated(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	a, b := filepath.Join(tm.mnt, "a"), filepath.Join(tm.mnt, "b")
	oldData := bytes.Repeat([]byte("old "), 2000)
	newData := bytes.Repeat([]byte("NEW!"), 2000)
	if err := os.WriteFile(a, oldData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, newData, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} { // populate the page cache
		if _, err := os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	ca := findCipherFileByContent(t, tm, "a")
	cb := findCipherFileByContent(t, tm, "b")
	newCipher, err := os.ReadFile(cb)
	if err != nil {
		t.Fatal(err)
	}
	// In place: same inode, new bytes (rsync --inplace, some sync clients).
	if err := os.WriteFile(ca, newCipher, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(a); err != nil || !bytes.Equal(got, newData) {
		t.Fatalf("after an in-place change underneath: read %.8q..., %v", got, err)
	}
	// Replaced: a new inode under the same name (most sync clients).
	if err := os.WriteFile(ca+".tmp", oldData[:0], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, oldData, 0o644); err != nil { // back to old through the mount
		t.Fatal(err)
	}
	if _, err := os.ReadFile(a); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca+".tmp", newCipher, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(ca+".tmp", ca); err != nil {
		t.Fatal(err)
	}
	// The kernel still holds the old inode's entry for up to a second; a
	// fresh lookup of the new inode must not reuse the old pages either.
	f, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(newData))
	if _, err := f.ReadAt(got, 0); err != nil && !bytes.Equal(got, oldData) {
		// ESTALE/ENOENT on the replaced inode is acceptable; old data is not
		// (checked below).
		t.Logf("read of replaced file: %v", err)
	}
	if bytes.Equal(got, oldData) {
		t.Fatal("served the old content from the page cache after the file was replaced underneath")
	}
}

// findCipherFileByContent returns the ciphertext path of a root entry.
func findCipherFileByContent(t *testing.T, tm *testMount, name string) string {
	t.Helper()
	vol, err := cipherdir.Open(tm.cipherDir, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer vol.Wipe()
	iv, err := os.ReadFile(filepath.Join(tm.cipherDir, "gocryptfs.diriv"))
	if err != nil {
		t.Fatal(err)
	}
	disk, _, err := vol.DiskName(name, iv, true)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(tm.cipherDir, disk)
}

// TestAccess: without --allow-other the kernel leaves access(2) to the
// daemon (no default_permissions); the answers must match a plain
// directory's. As root only X_OK can be refused: no execute bit anywhere.
func TestAccess(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	plain := t.TempDir()
	for _, dir := range []string{plain, tm.mnt} {
		for name, mode := range map[string]os.FileMode{"noexec": 0o644, "exec": 0o744, "none": 0} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range []string{"noexec", "exec", "none"} {
		for _, mask := range []uint32{unix.R_OK, unix.W_OK, unix.X_OK} {
			want := unix.Access(filepath.Join(plain, name), mask)
			got := unix.Access(filepath.Join(tm.mnt, name), mask)
			if want != got {
				t.Errorf("access(%s, %d): plain directory %v, veilfs %v", name, mask, want, got)
			}
		}
	}
	if unix.Access(filepath.Join(tm.mnt, "noexec"), unix.X_OK) == nil {
		t.Error("X_OK granted on a file without execute bits")
	}
}

// TestReadahead: as root the mount's readahead is raised to the request
// size (FUSE would otherwise cap sequential reads at 128 KiB per request).
func TestReadahead(t *testing.T) {
	testenv.NeedRoot(t, "only root can raise a mount's readahead")
	tm := newTestMount(t, config.CreateOptions{})
	var st unix.Stat_t
	if err := unix.Stat(tm.mnt, &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no bdi entry for the mount: %v", err))
	}
	if got := strings.TrimSpace(string(b)); got != fmt.Sprint(maxRequest>>10) {
		t.Fatalf("read_ahead_kb = %s, want %d", got, maxRequest>>10)
	}
}
