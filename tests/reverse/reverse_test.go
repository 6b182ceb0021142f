//go:build linux

package reverse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// TestRoundTrip: a `cp -a` copy of the reverse view is a forward volume
// that veilfs and gocryptfs both mount and show as the original tree
// (content, symlink targets, types, permission bits, file mtimes), and
// `gocryptfs -fsck` finds nothing wrong in it.
func TestRoundTrip(t *testing.T) {
	harness.RequireFUSE(t)
	plain, mnts := newDirs(t, 2)
	view, fwd := mnts[0], mnts[1]
	writeTree(t, plain, treeOpts{big: true})
	want := plainLines(snapshot(t, plain, skipReverseConf))
	initReverse(t, plain)

	mountReverse(t, plain, view)
	viewTree := snapshot(t, view, nil)
	checkViewLayout(t, plain, view, viewTree)
	cp := filepath.Join(filepath.Dir(plain), "copy")
	copyView(t, view, cp)
	harness.Unmount(t, view)
	compareLines(t, "plaintext after the reverse mount vs before", want, plainLines(snapshot(t, plain, skipReverseConf)))
	compareLines(t, "copy vs view", viewLines(viewTree, viewOpts{mtimes: true}), viewLines(snapshot(t, cp, nil), viewOpts{mtimes: true}))

	// The two names of the hard-linked file are one inode in the view, so
	// that cp -a (and rsync -H, tar) keep the link.
	if hard := find(viewTree, func(e entry) bool { return e.typ == "file" && e.size == cipherSize(hardSize) }); len(hard) != 2 {
		t.Errorf("want two view files of %d bytes (hard/a, hard/b), found %d", cipherSize(hardSize), len(hard))
	} else if hard[0].ino != hard[1].ino || hard[0].nlink != 2 || hard[1].nlink != 2 {
		t.Errorf("the names of a hard-linked file are not one inode with two links in the view: %s ino %d nlink %d, %s ino %d nlink %d",
			hard[0].path, hard[0].ino, hard[0].nlink, hard[1].path, hard[1].ino, hard[1].nlink)
	}

	checkForward := func(t *testing.T, who string) {
		t.Helper()
		compareLines(t, who+" mount of the copied view vs the plaintext", want, plainLines(snapshot(t, fwd, nil)))
		a, errA := os.Stat(filepath.Join(fwd, "hard/a"))
		b, errB := os.Stat(filepath.Join(fwd, "hard/b"))
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			t.Errorf("%s mount of the copied view: hard/a and hard/b are not one file (%v, %v)", who, errA, errB)
		}
	}
	t.Run("veilfs", func(t *testing.T) {
		harness.MountVolume(t, cp, fwd, password)
		checkForward(t, "veilfs")
		harness.Unmount(t, fwd)
	})
	t.Run("gocryptfs", func(t *testing.T) {
		harness.RequireGocryptfs(t)
		if out, code := harness.GocryptfsFsck(t, cp, password); code != 0 {
			t.Errorf("gocryptfs -fsck of the copied view: exit %d\n%s", code, out)
		}
		harness.GocryptfsMount(t, cp, fwd, password, "-ro")
		checkForward(t, "gocryptfs")
		harness.GocryptfsUnmount(t, fwd)
	})
}

// TestDeterministic: the view is a function of the plaintext and the
// config. Two mounts one after the other and two at once show identical
// names and bytes; a hard-linked file's ciphertext does not depend on the
// link opened first, and both names show the same bytes; changing one byte
// of the plaintext changes exactly one ciphertext block.
func TestDeterministic(t *testing.T) {
	harness.RequireFUSE(t)
	plain, mnts := newDirs(t, 2)
	writeTree(t, plain, treeOpts{big: true})
	initReverse(t, plain)

	// The view paths of the two names of the hard-linked file, found in a
	// mount of their own.
	mountReverse(t, plain, mnts[0])
	var hardNames []string
	for _, e := range snapshotNoContent(t, mnts[0]) {
		if e.typ == "file" && e.size == cipherSize(hardSize) {
			hardNames = append(hardNames, e.path)
		}
	}
	slices.Sort(hardNames)
	if len(hardNames) != 2 {
		t.Fatalf("want the two names of the hard-linked file (%d bytes) in the view, found %v", cipherSize(hardSize), hardNames)
	}
	harness.Unmount(t, mnts[0])

	// readFirst reads the hard-linked file under one of its names before
	// anything else happens in a fresh mount (no readdir, whose
	// READDIRPLUS would look up both names in directory order): gocryptfs
	// derives the IVs of a hard-linked file from the path it is first
	// looked up under; veilfs must not.
	readFirst := func(mnt string, which int) {
		t.Helper()
		if _, err := os.ReadFile(filepath.Join(mnt, hardNames[which])); err != nil {
			t.Fatal(err)
		}
	}

	mountReverse(t, plain, mnts[0])
	readFirst(mnts[0], 0)
	first := snapshot(t, mnts[0], nil)
	big := findOneBySize(t, first, cipherSize(bigSize))
	oldBig := readAll(t, filepath.Join(mnts[0], big.path))
	checkConcurrentAndMmap(t, filepath.Join(mnts[0], big.path), oldBig)
	harness.Unmount(t, mnts[0])

	mountReverse(t, plain, mnts[0])
	mountReverse(t, plain, mnts[1])
	readFirst(mnts[0], 0)
	readFirst(mnts[1], 1)
	again := snapshot(t, mnts[0], nil)
	concurrent := snapshot(t, mnts[1], nil)
	o := viewOpts{}
	compareLines(t, "second mount vs first", viewLines(first, o), viewLines(again, o))
	compareLines(t, "concurrent mount (hard link opened through its other name first) vs first", viewLines(first, o), viewLines(concurrent, o))

	hard := find(first, func(e entry) bool { return e.typ == "file" && e.size == cipherSize(hardSize) })
	if len(hard) == 2 && hard[0].sum != hard[1].sum {
		t.Errorf("the two names of a hard-linked file show different ciphertext (%s %s vs %s %s): its IVs must come from the inode, not the path",
			hard[0].path, hard[0].sum, hard[1].path, hard[1].sum)
	}
	harness.Unmount(t, mnts[0])
	harness.Unmount(t, mnts[1])

	// One byte in the middle of the big file.
	const off = 2<<20 + 100
	f, err := os.OpenFile(filepath.Join(plain, "sizes/big"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{harness.RandomBytes("big", bigSize)[off] ^ 0x5a}, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	mountReverse(t, plain, mnts[0])
	newBig := readAll(t, filepath.Join(mnts[0], big.path))
	harness.Unmount(t, mnts[0])
	if len(newBig) != len(oldBig) {
		t.Fatalf("the big file's ciphertext changed size after a one-byte change: %d -> %d", len(oldBig), len(newBig))
	}
	if !bytes.Equal(newBig[:headerSize], oldBig[:headerSize]) {
		t.Errorf("the file header changed after a one-byte change of the content: %x -> %x", oldBig[:headerSize], newBig[:headerSize])
	}
	var changed []int
	for b := 0; headerSize+b*cipherBS < len(oldBig); b++ {
		lo, hi := headerSize+b*cipherBS, min(headerSize+(b+1)*cipherBS, len(oldBig))
		if !bytes.Equal(oldBig[lo:hi], newBig[lo:hi]) {
			changed = append(changed, b)
		}
	}
	if wantBlock := off / plainBS; !slices.Equal(changed, []int{wantBlock}) {
		t.Errorf("after changing the byte at plaintext offset %d, ciphertext blocks %v changed; want exactly block %d", off, changed, wantBlock)
	}
}

// checkConcurrentAndMmap reads the view file p, whose content is want, from
// eight goroutines at once at unaligned offsets, and through shared and
// private mmap: every way gives the same bytes as one read(2) pass.
func checkConcurrentAndMmap(t *testing.T, p string, want []byte) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(p)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 40 {
				off := r.Int64N(int64(len(want)))
				buf := make([]byte, 1+r.IntN(3*cipherBS))
				n, err := f.ReadAt(buf, off)
				if err != nil && !errors.Is(err, io.EOF) {
					errs <- fmt.Errorf("concurrent read at %d: %w", off, err)
					return
				}
				if !bytes.Equal(buf[:n], want[off:off+int64(n)]) {
					errs <- fmt.Errorf("concurrent read of %d bytes at %d gives other bytes than a sequential read", len(buf), off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, flags := range []int{unix.MAP_SHARED, unix.MAP_PRIVATE} {
		m, err := unix.Mmap(int(f.Fd()), 0, len(want), unix.PROT_READ, flags)
		if err != nil {
			t.Errorf("mmap (flags %#x) of a view file: %v", flags, err)
			continue
		}
		if !bytes.Equal(m, want) {
			t.Errorf("mmap (flags %#x) of a view file gives other bytes than read(2)", flags)
		}
		_ = unix.Munmap(m)
	}
}

// snapshotNoContent lists a tree with stat only (no reads, no readlink).
func snapshotNoContent(t testing.TB, root string) []entry {
	t.Helper()
	var out []entry
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		typ := "other"
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			typ = "dir"
		case unix.S_IFREG:
			typ = "file"
		case unix.S_IFLNK:
			typ = "link"
		}
		out = append(out, entry{path: filepath.ToSlash(rel), typ: typ, perm: st.Mode & 0o7777, size: st.Size, nlink: uint64(st.Nlink), ino: st.Ino})
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}

func readAll(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", abbrev(p), err)
	}
	return b
}

// TestPlaintextChangesWhileMounted: a plaintext file that changes while
// its ciphertext is open in the view (rewritten in place with the same
// size, or appended to) gives EIO on reads after the change, never bytes
// of a different ciphertext. A fresh open then shows the new ciphertext,
// the same a fresh mount shows, and it decrypts to the new plaintext.
func TestPlaintextChangesWhileMounted(t *testing.T) {
	harness.RequireFUSE(t)
	plain, mnts := newDirs(t, 2)
	view, other := mnts[0], mnts[1]
	const size = 4 << 20
	cases := []struct {
		name   string
		size   int
		change func(p string) error
		want   []byte // plaintext after the change
	}{
		{"rewrite-same-size", size, func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if _, err := f.WriteAt(harness.RandomBytes("rewritten", size), 0); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}, harness.RandomBytes("rewritten", size)},
		{"append", size + 1000, func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			if _, err := f.Write([]byte("appended")); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}, append(harness.RandomBytes("append", size+1000), "appended"...)},
	}
	for _, c := range cases {
		if err := os.WriteFile(filepath.Join(plain, c.name), harness.RandomBytes(c.name, c.size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	initReverse(t, plain)

	// The old ciphertext, read through a mount whose page cache is not the
	// one under test.
	mountReverse(t, plain, other)
	tree := snapshot(t, other, nil)
	viewPath := map[string]string{}
	oldCipher := map[string][]byte{}
	for _, c := range cases {
		e := findOneBySize(t, tree, cipherSize(int64(c.size)))
		viewPath[c.name] = e.path
		oldCipher[c.name] = readAll(t, filepath.Join(other, e.path))
	}
	harness.Unmount(t, other)

	mountReverse(t, plain, view)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(view, viewPath[c.name])
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			head := make([]byte, 8192)
			if _, err := io.ReadFull(f, head); err != nil {
				t.Fatalf("reading the first 8 KiB of the view file: %v", err)
			}
			if !bytes.Equal(head, oldCipher[c.name][:len(head)]) {
				t.Fatalf("the view file does not start with the ciphertext another mount showed")
			}

			if err := c.change(filepath.Join(plain, c.name)); err != nil {
				t.Fatal(err)
			}

			// Far beyond what the kernel may have read ahead: these reads
			// reach the daemon.
			for _, at := range []int64{2 << 20, 3 << 20, 1 << 20} {
				buf := make([]byte, 64<<10)
				n, err := f.ReadAt(buf, at)
				switch {
				case errors.Is(err, unix.EIO):
				case err != nil:
					t.Errorf("read at %d after the plaintext changed: %v, want EIO", at, err)
				default:
					what := "bytes that are not the old ciphertext: a mix of old and new"
					if bytes.Equal(buf[:n], oldCipher[c.name][at:at+int64(n)]) {
						what = "the old ciphertext's bytes, stale"
					}
					t.Errorf("read at %d after the plaintext changed returned %d bytes (%s), want EIO", at, n, what)
				}
			}
		})
	}

	// Fresh opens, in the mount that saw the change and in a fresh mount.
	mountReverse(t, plain, other)
	cp := filepath.Join(filepath.Dir(plain), "copy")
	copyView(t, other, cp)
	for _, c := range cases {
		fresh := readAll(t, filepath.Join(other, viewPath[c.name]))
		if bytes.Equal(fresh, oldCipher[c.name]) {
			t.Errorf("%s: a fresh mount shows the old ciphertext after the plaintext changed", c.name)
		}
		// The first fresh open gives the new ciphertext whole (or EIO at
		// worst), never old bytes from a cache or a mix.
		got, lastErr := os.ReadFile(filepath.Join(view, viewPath[c.name]))
		if lastErr == nil && !bytes.Equal(got, fresh) {
			what := "a mix of old and new"
			switch {
			case bytes.Equal(got, oldCipher[c.name]):
				what = "the old ciphertext, stale"
			case len(got) != len(fresh):
				what = fmt.Sprintf("%d bytes, a fresh mount shows %d", len(got), len(fresh))
			}
			t.Errorf("%s: the first open after the change, in the mount that saw it, gives bytes that are not what a fresh mount shows: %s", c.name, what)
		}
		took, ok := harness.Poll(2*time.Second, func() bool {
			got, lastErr = os.ReadFile(filepath.Join(view, viewPath[c.name]))
			return lastErr == nil && bytes.Equal(got, fresh)
		})
		if !ok {
			t.Errorf("%s: a fresh open in the mount that saw the change does not show what a fresh mount shows within %v (last read: %d bytes, error %v, old ciphertext: %v)",
				c.name, took.Round(time.Millisecond), len(got), lastErr, bytes.Equal(got, oldCipher[c.name]))
		} else {
			t.Logf("%s: fresh open consistent after %v", c.name, took.Round(time.Millisecond))
		}
	}
	harness.Unmount(t, other)
	harness.Unmount(t, view)

	harness.MountVolume(t, cp, other, password, "--ro")
	for _, c := range cases {
		if got, err := os.ReadFile(filepath.Join(other, c.name)); err != nil {
			t.Errorf("%s: reading the copy of the changed file through a forward mount: %v", c.name, err)
		} else if !bytes.Equal(got, c.want) {
			t.Errorf("%s: the copy of the changed file decrypts to %d bytes that are not the new plaintext (%d bytes)", c.name, len(got), len(c.want))
		}
	}
}

// TestReadOnly: the view is mounted read-only and every call that would
// change it fails with EROFS; the plaintext stays as it was.
func TestReadOnly(t *testing.T) {
	harness.RequireFUSE(t)
	plain, mnts := newDirs(t, 1)
	view := mnts[0]
	if err := os.WriteFile(filepath.Join(plain, "file"), []byte("content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(plain, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(plain, "link")); err != nil {
		t.Fatal(err)
	}
	initReverse(t, plain)
	before := plainLines(snapshot(t, plain, nil))
	mountReverse(t, plain, view)

	// Both: the superblock for the kernel, the mount for findmnt and
	// every tool that reads the mount table.
	if mountOpts, superOpts := mountinfoOptions(t, view); !slices.Contains(mountOpts, "ro") || !slices.Contains(superOpts, "ro") {
		t.Errorf("the view is not read-only everywhere: mount options %v, superblock options %v; want ro in both", mountOpts, superOpts)
	}
	tree := snapshotNoContent(t, view)
	var file, dir, link string
	for _, e := range tree {
		switch {
		case isVirtual(e.path):
		case e.typ == "file":
			file = filepath.Join(view, e.path)
		case e.typ == "dir":
			dir = filepath.Join(view, e.path)
		case e.typ == "link":
			link = filepath.Join(view, e.path)
		}
	}
	if file == "" || dir == "" || link == "" {
		t.Fatalf("the view lacks a file, a directory or a symlink: %v", tree)
	}
	diriv := filepath.Join(view, "gocryptfs.diriv")
	conf := filepath.Join(view, "gocryptfs.conf")
	newName := filepath.Join(view, "AAAAAAAAAAAAAAAAAAAAAA")
	ops := []struct {
		what string
		do   func() error
	}{
		{"open O_WRONLY", func() error { return openClose(file, os.O_WRONLY) }},
		{"open O_RDWR", func() error { return openClose(file, os.O_RDWR) }},
		{"open O_WRONLY|O_APPEND", func() error { return openClose(file, os.O_WRONLY|os.O_APPEND) }},
		{"open gocryptfs.diriv O_WRONLY", func() error { return openClose(diriv, os.O_WRONLY) }},
		{"open gocryptfs.conf O_WRONLY", func() error { return openClose(conf, os.O_WRONLY) }},
		{"create", func() error { return openClose(newName, os.O_WRONLY|os.O_CREATE|os.O_EXCL) }},
		{"truncate", func() error { return os.Truncate(file, 0) }},
		{"unlink", func() error { return os.Remove(file) }},
		{"unlink gocryptfs.diriv", func() error { return os.Remove(diriv) }},
		{"unlink gocryptfs.conf", func() error { return os.Remove(conf) }},
		{"unlink symlink", func() error { return os.Remove(link) }},
		{"mkdir", func() error { return os.Mkdir(newName, 0o755) }},
		{"rmdir", func() error { return unix.Rmdir(dir) }},
		{"rename", func() error { return os.Rename(file, newName) }},
		{"symlink", func() error { return os.Symlink("x", newName) }},
		{"link", func() error { return os.Link(file, newName) }},
		{"mknod fifo", func() error { return unix.Mkfifo(newName, 0o644) }},
		{"chmod", func() error { return os.Chmod(file, 0o600) }},
		{"chmod dir", func() error { return os.Chmod(dir, 0o700) }},
		{"chown", func() error { return os.Lchown(file, 1, 1) }},
		{"utimes", func() error { return os.Chtimes(file, time.Unix(1, 0), time.Unix(1, 0)) }},
		{"setxattr", func() error { return unix.Setxattr(file, "user.test", []byte("v"), 0) }},
		{"setxattr dir", func() error { return unix.Setxattr(dir, "user.test", []byte("v"), 0) }},
		{"removexattr", func() error { return unix.Removexattr(file, "user.test") }},
	}
	for _, op := range ops {
		err := op.do()
		if !errors.Is(err, unix.EROFS) {
			t.Errorf("%s in the view: %v, want EROFS", op.what, err)
		}
	}
	if _, err := os.Lstat(newName); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after the failed creates: %v", newName, err)
	}
	harness.Unmount(t, view)
	compareLines(t, "plaintext after the write attempts vs before", before, plainLines(snapshot(t, plain, nil)))
}

// mountinfoOptions returns the per-mount and the superblock options of the
// mount at mnt (fields 6 and 11 of /proc/self/mountinfo). A FUSE
// filesystem mounted by root with "ro" in its data is read-only through
// its superblock while the mount itself says rw.
func mountinfoOptions(t *testing.T, mnt string) (mountOpts, superOpts []string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep < 6 || sep+3 >= len(f) || f[4] != mnt {
			continue
		}
		mountOpts, superOpts = strings.Split(f[5], ","), strings.Split(f[sep+3], ",")
	}
	if mountOpts == nil {
		t.Fatalf("%s is not in /proc/self/mountinfo", mnt)
	}
	return mountOpts, superOpts
}

func openClose(p string, flag int) error {
	f, err := os.OpenFile(p, flag, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// TestXattrsHidden: extended attributes of the plaintext are not shown in
// the view (as with gocryptfs 2.3).
func TestXattrsHidden(t *testing.T) {
	harness.RequireFUSE(t)
	plain, mnts := newDirs(t, 1)
	p := filepath.Join(plain, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(p, "user.comment", []byte("secret note"), 0); err != nil {
		testenv.Missing(t, fmt.Sprintf("the plaintext filesystem has no user xattrs: %v", err))
	}
	if err := unix.Setxattr(plain, "user.on-root", []byte("root note"), 0); err != nil {
		t.Fatal(err)
	}
	initReverse(t, plain)
	mountReverse(t, plain, mnts[0])
	tree := snapshotNoContent(t, mnts[0])
	f := findOneBySize(t, tree, cipherSize(1))
	for _, q := range []string{filepath.Join(mnts[0], f.path), mnts[0]} {
		buf := make([]byte, 4096)
		n, err := unix.Llistxattr(q, buf)
		if err != nil && !errors.Is(err, unix.ENOTSUP) {
			t.Errorf("listxattr %s: %v", q, err)
		} else if n > 0 {
			t.Errorf("listxattr %s shows %q; the view must show no xattrs", q, buf[:n])
		}
	}
	for _, name := range []string{"user.comment", "user.gocryptfs.x"} {
		_, err := unix.Lgetxattr(filepath.Join(mnts[0], f.path), name, make([]byte, 256))
		if !errors.Is(err, unix.ENODATA) && !errors.Is(err, unix.ENOTSUP) {
			t.Errorf("getxattr %s in the view: %v, want ENODATA (or ENOTSUP)", name, err)
		}
	}
}

// TestInitReverse: `veilfs init --reverse` writes a 0400
// .gocryptfs.reverse.conf with AESSIV into a non-empty directory without
// touching anything else, refuses to overwrite one, refuses --xchacha, and
// a mount with the wrong password exits 12 saying so.
func TestInitReverse(t *testing.T) {
	harness.RequireFUSE(t)
	plain, mnts := newDirs(t, 1)
	confPath := filepath.Join(plain, ".gocryptfs.reverse.conf")
	if err := os.WriteFile(filepath.Join(plain, "existing"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(plain, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("xchacha", func(t *testing.T) {
		res := harness.Run(t, "", "init", "--reverse", "--xchacha", "--scryptn", "10", "--passfile", harness.Passfile(t, password), plain)
		if res.Code != 1 {
			t.Errorf("init --reverse --xchacha: want exit 1 (usage), got %v", res)
		}
		if _, err := os.Lstat(confPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("init --reverse --xchacha left %s behind (%v)", confPath, err)
		}
		if _, err := os.Lstat(filepath.Join(plain, "gocryptfs.conf")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("init --reverse --xchacha wrote gocryptfs.conf (%v)", err)
		}
	})

	before := plainLines(snapshot(t, plain, nil))
	initReverse(t, plain)
	compareLines(t, "plaintext directory after init --reverse, without the config, vs before", before, plainLines(snapshot(t, plain, skipReverseConf)))
	fi, err := os.Lstat(confPath)
	if err != nil {
		t.Fatalf("init --reverse wrote no %s: %v", confPath, err)
	}
	if fi.Mode() != 0o400 {
		t.Errorf("%s has mode %v, want -r-------- (0400)", confPath, fi.Mode())
	}
	if _, err := os.Lstat(filepath.Join(plain, "gocryptfs.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("init --reverse wrote a forward gocryptfs.conf too (%v)", err)
	}
	conf, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct{ FeatureFlags []string }
	if err := json.Unmarshal(conf, &parsed); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", confPath, err, conf)
	}
	for _, f := range []string{"AESSIV", "GCMIV128", "HKDF", "DirIV", "EMENames", "LongNames", "Raw64"} {
		if !slices.Contains(parsed.FeatureFlags, f) {
			t.Errorf("feature flags %v lack %s", parsed.FeatureFlags, f)
		}
	}

	t.Run("exists-already", func(t *testing.T) {
		res := harness.Run(t, "", "init", "--reverse", "--scryptn", "10", "--passfile", harness.Passfile(t, "another password"), plain)
		if res.Code == 0 {
			t.Errorf("a second init --reverse succeeded: %v", res)
		}
		msg := strings.ToLower(res.Stderr)
		if !strings.Contains(msg, ".gocryptfs.reverse.conf") && !strings.Contains(msg, "exist") {
			t.Errorf("the second init --reverse does not say that the config exists: %v", res)
		}
		if got, err := os.ReadFile(confPath); err != nil || !bytes.Equal(got, conf) {
			t.Errorf("a refused init --reverse changed %s (err %v)", confPath, err)
		}
	})

	t.Run("wrong-password", func(t *testing.T) {
		res := harness.TryMount(t, plain, mnts[0], "--reverse", "--passfile", harness.Passfile(t, "wrong password"))
		if res.Code != 12 {
			t.Errorf("mount --reverse with a wrong password: want exit 12, got %v", res)
		}
		if !strings.Contains(strings.ToLower(res.Stderr), "wrong password") {
			t.Errorf("mount --reverse with a wrong password does not say so: %v", res)
		}
		if _, ok := harness.FindMount(mnts[0]); ok {
			t.Errorf("%s is mounted after a wrong password", mnts[0])
		}
	})

	t.Run("kind-mismatch", func(t *testing.T) {
		// A forward mount of PLAINDIR, and a reverse mount of a forward volume.
		res := harness.TryMount(t, plain, mnts[0], "--passfile", harness.Passfile(t, password))
		if res.Code == 0 || !strings.Contains(res.Stderr, "reverse") {
			t.Errorf("mount (without --reverse) of a directory with .gocryptfs.reverse.conf: want a failure that mentions --reverse, got %v", res)
		}
		fwd := filepath.Join(t.TempDir(), "forward")
		harness.InitVolume(t, fwd, password)
		res = harness.TryMount(t, fwd, mnts[0], "--reverse", "--passfile", harness.Passfile(t, password))
		if res.Code == 0 {
			t.Errorf("mount --reverse of a forward volume succeeded: %v", res)
		}
		if _, ok := harness.FindMount(mnts[0]); ok {
			t.Errorf("%s is mounted after a mount of the wrong kind", mnts[0])
			harness.Unmount(t, mnts[0])
		}
	})

	t.Run("mounts", func(t *testing.T) {
		mountReverse(t, plain, mnts[0])
		got := viewLines(snapshot(t, mnts[0], nil), viewOpts{})
		if len(got) != 5 { // gocryptfs.conf, gocryptfs.diriv, existing, sub, sub/gocryptfs.diriv
			t.Errorf("the view of a directory with one file and one empty subdirectory:\n%s", strings.Join(got, "\n"))
		}
		harness.Unmount(t, mnts[0])
	})
}

// TestSnapshotSeesDifferences guards the comparisons: a one-byte content
// change, a new mtime, a new mode and a retargeted symlink are reported.
func TestSnapshotSeesDifferences(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, treeOpts{})
	writeTree(t, b, treeOpts{})
	if d := diffLines(plainLines(snapshot(t, a, nil)), plainLines(snapshot(t, b, nil))); d != "" {
		t.Fatalf("two writes of the tree differ: writeTree is not deterministic:\n%s", d)
	}
	mutations := map[string]func(dir string) error{
		"content": func(dir string) error {
			f, err := os.OpenFile(filepath.Join(dir, "sizes/size-4097"), os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte{'!'}, 4096)
			return err
		},
		"mtime": func(dir string) error {
			return os.Chtimes(filepath.Join(dir, "sizes/size-1"), time.Unix(5, 0), time.Unix(5, 0))
		},
		"perm": func(dir string) error { return os.Chmod(filepath.Join(dir, "sizes/exec.sh"), 0o644) },
		"symlink": func(dir string) error {
			p := filepath.Join(dir, "links/relative")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("../sizes/size-0", p)
		},
	}
	for name, mutate := range mutations {
		dir := t.TempDir()
		writeTree(t, dir, treeOpts{})
		if err := mutate(dir); err != nil {
			t.Fatal(err)
		}
		s := snapshot(t, dir, nil)
		if diffLines(plainLines(snapshot(t, a, nil)), plainLines(s)) == "" {
			t.Errorf("plainLines missed a %s change", name)
		}
		if name != "mtime" && diffLines(viewLines(snapshot(t, a, nil), viewOpts{}), viewLines(s, viewOpts{})) == "" {
			t.Errorf("viewLines missed a %s change", name)
		}
	}
	if diffLines([]string{"x"}, []string{"x", "x"}) == "" {
		t.Errorf("diffLines misses a duplicated line")
	}
}
