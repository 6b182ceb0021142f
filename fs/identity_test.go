//go:build linux

package fs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// childNode looks name up through the mount (so that go-fuse has its node)
// and returns that node.
func childNode(t *testing.T, tm *testMount, name string) *Node {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(tm.mnt, name)); err != nil {
		t.Fatal(err)
	}
	ch := tm.m.top.GetChild(name)
	if ch == nil {
		t.Fatalf("go-fuse has no node for %s after a lookup", name)
	}
	return ch.Operations().(*Node)
}

// diskName returns n's name in its ciphertext directory.
func diskName(t *testing.T, n *Node) string {
	t.Helper()
	d, disk, err := n.openParent()
	if err != nil {
		t.Fatal(err)
	}
	d.close()
	return disk
}

// openAndRead opens n as the kernel's OPEN would and returns the first
// bytes it reads through the handle.
func openAndRead(ctx context.Context, n *Node) (string, syscall.Errno) {
	fh, _, errno := n.Open(ctx, syscall.O_RDONLY)
	f, ok := fh.(*File)
	if !ok {
		return "", errno
	}
	defer f.Release(ctx)
	buf := make([]byte, 100)
	res, rerr := f.Read(ctx, buf, 0)
	if rerr != 0 {
		return "", errno
	}
	b, _ := res.Bytes(buf)
	return string(b), errno
}

// backingState is what a test compares to see that an object was left
// alone: its stat (mode, owner, size, times), ciphertext and xattrs.
type backingState struct {
	st      unix.Stat_t
	content [32]byte
	xattrs  string
}

func backingOf(t *testing.T, tm *testMount, disk string) backingState {
	t.Helper()
	var b backingState
	if err := unix.Fstatat(tm.m.root.rootfd, disk, &b.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
	b.st.Atim = unix.Timespec{} // reading it below may change it
	p := filepath.Join(tm.cipherDir, disk)
	if b.st.Mode&unix.S_IFMT == unix.S_IFREG {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.content = sha256.Sum256(data)
	}
	raw := make([]byte, 4096)
	n, err := unix.Llistxattr(p, raw)
	if err != nil && !errors.Is(err, unix.ENOTSUP) {
		t.Fatal(err)
	}
	b.xattrs = string(raw[:max(n, 0)])
	return b
}

// TestForeignInodeRefused puts nodes in the state of the rename-over
// window (FINDINGS, "Rename over a file races OPEN"): the backing file of
// "new" was renamed over "old", and go-fuse's tree was not updated yet, so
// node X of "old" resolves to Y's file. Every path-based operation on X
// must fail with ESTALE and leave Y alone; before the identity check X
// opened, read, truncated, chmodded, linked and listed Y.
func TestForeignInodeRefused(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	ctx := context.Background()
	for name, content := range map[string]string{"old": "X's content", "new": "Y's content, longer than X's"} {
		if err := os.WriteFile(filepath.Join(tm.mnt, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Setxattr(filepath.Join(tm.mnt, "new"), "user.k", []byte("Y's value"), 0); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"lold": "X's target", "lnew": "Y's target"} {
		if err := os.Symlink(target, filepath.Join(tm.mnt, name)); err != nil {
			t.Fatal(err)
		}
	}
	x, lx := childNode(t, tm, "old"), childNode(t, tm, "lold")
	disk, ldisk := diskName(t, x), diskName(t, lx)
	for from, to := range map[string]string{diskName(t, childNode(t, tm, "new")): disk, diskName(t, childNode(t, tm, "lnew")): ldisk} {
		if err := unix.Renameat(tm.m.root.rootfd, from, tm.m.root.rootfd, to); err != nil {
			t.Fatal(err)
		}
	}
	y, ly := backingOf(t, tm, disk), backingOf(t, tm, ldisk)

	expect := func(op string, errno syscall.Errno, got any) {
		t.Helper()
		if errno != syscall.ESTALE {
			t.Errorf("%s on a node whose name leads to another inode: %v (got %v), want ESTALE", op, errno, got)
		}
	}
	start := time.Now()

	read, errno := openAndRead(ctx, x)
	expect("Open", errno, "read "+read)

	var attr fuse.AttrOut
	expect("Getattr", x.Getattr(ctx, nil, &attr), attr.Size)

	for what, in := range map[string]fuse.SetAttrIn{
		"chmod":    {SetAttrInCommon: fuse.SetAttrInCommon{Valid: fuse.FATTR_MODE, Mode: 0o600}},
		"truncate": {SetAttrInCommon: fuse.SetAttrInCommon{Valid: fuse.FATTR_SIZE, Size: 0}},
		"utimens":  {SetAttrInCommon: fuse.SetAttrInCommon{Valid: fuse.FATTR_MTIME, Mtime: 12345}},
		"chown":    {SetAttrInCommon: fuse.SetAttrInCommon{Valid: fuse.FATTR_UID | fuse.FATTR_GID, Owner: fuse.Owner{Uid: 4242, Gid: 4242}}},
	} {
		expect("Setattr "+what, x.Setattr(ctx, nil, &in, &attr), attr.Mode)
	}

	buf := make([]byte, 100)
	n, errno := x.Getxattr(ctx, "user.k", buf)
	expect("Getxattr", errno, string(buf[:n]))
	n, errno = x.Listxattr(ctx, buf)
	expect("Listxattr", errno, string(buf[:n]))
	expect("Setxattr", x.Setxattr(ctx, "user.k", []byte("X's value"), 0), nil)
	expect("Removexattr", x.Removexattr(ctx, "user.k"), nil)

	var entry fuse.EntryOut
	_, errno = tm.m.top.Link(ctx, x, "linked", &entry)
	expect("Link", errno, entry.Ino)
	if _, errno := tm.m.top.Lookup(ctx, "linked", &entry); errno != syscall.ENOENT {
		t.Errorf("after the refused Link, looking up its new name: %v, want ENOENT", errno)
	}

	target, errno := lx.Readlink(ctx)
	expect("Readlink", errno, string(target))

	// Nothing moves the nodes here, so each operation waited moveWait
	// once; the bound is loose for -race.
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the refused operations took %v", el)
	}
	if got := backingOf(t, tm, disk); got != y {
		t.Errorf("Y's file changed through X's node:\n%+v\nwas\n%+v", got, y)
	}
	if got := backingOf(t, tm, ldisk); got != ly {
		t.Errorf("Y's symlink changed through X's node:\n%+v\nwas\n%+v", got, ly)
	}
}

// TestRenameWindowResolvesAgain runs the rename window as go-fuse's
// rawBridge.Rename does (our Rename, then MvChild a moment later) with an
// OPEN of the node of the old target in between. A node that was renamed
// over gets ESTALE (the kernel then looks the name up again and opens the
// new file). A node that keeps another name (a hard link) resolves again
// once it moved, and opens its own file; if the move comes later than
// awaitMove waits (a loaded machine), it gets ESTALE, so that case is tried
// a few times and must succeed once.
func TestRenameWindowResolvesAgain(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	ctx := context.Background()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(tm.mnt, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// openInWindow renames source over target and opens target's node
	// while go-fuse moves the nodes.
	openInWindow := func(target, source string) (string, syscall.Errno) {
		n := childNode(t, tm, target)
		childNode(t, tm, source)
		if name, _ := n.Parent(); name != target {
			t.Fatalf("node of %s resolves by %q", target, name)
		}
		if errno := tm.m.top.Rename(ctx, source, tm.m.top, target, 0); errno != 0 {
			t.Fatalf("Rename %s %s: %v", source, target, errno)
		}
		moved := make(chan struct{})
		go func() {
			defer close(moved)
			time.Sleep(300 * time.Microsecond)
			tm.m.top.MvChild(source, tm.m.top.EmbeddedInode(), target, true)
		}()
		got, errno := openAndRead(ctx, n)
		<-moved
		return got, errno
	}

	write("u", "U's content")
	write("b", "B's content, another inode")
	if got, errno := openInWindow("u", "b"); errno != syscall.ESTALE {
		t.Errorf("Open of u renamed over by b: %v, read %q; want ESTALE", errno, got)
	}

	const tries = 10
	for i := range tries {
		h, tname, a := fmt.Sprintf("h%d", i), fmt.Sprintf("t%d", i), fmt.Sprintf("a%d", i)
		write(h, "X's content")
		write(a, "A's content, another inode")
		// t is X's newest name, the one its node resolves by.
		if err := os.Link(filepath.Join(tm.mnt, h), filepath.Join(tm.mnt, tname)); err != nil {
			t.Fatal(err)
		}
		got, errno := openInWindow(tname, a)
		if errno == 0 && got == "X's content" {
			return
		}
		if errno != syscall.ESTALE {
			t.Fatalf("Open of %s (also named %s) renamed over by %s: %v, read %q; want X's content", tname, h, a, errno, got)
		}
	}
	t.Errorf("Open of a hard-linked node in the rename window: ESTALE in all %d tries, never resolved by its other name", tries)
}

// TestOpenSymlinkRace is go-fuse's posixtest.OpenSymlinkRace with ESTALE
// among the errors tolerated for an open racing renames over its name: a
// name flips between an empty file and a symlink to /etc/passwd while
// another thread opens it, and the open must never get /etc/passwd's
// content from the mount (the daemon following the backing symlink).
// posixtest accepts ENOENT there (a node renamed over before its OPEN
// arrived); veilfs answers ESTALE instead, so that the kernel looks the
// name up again, and the application sees it only when the retry raced a
// rename as well, which this loop makes likely.
func TestOpenSymlinkRace(t *testing.T) {
	// Names are what differs between kinds here: EME, in the clear, and
	// long (a sidecar renamed along).
	for _, kind := range []string{"default", "plaintext", "longnamemax62"} {
		t.Run(kind, func(t *testing.T) {
			tm := newTestMount(t, volumeKinds[kind])
			path := filepath.Join(tm.mnt, "OpenSymlinkRace")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			var mst unix.Stat_t
			if err := unix.Stat(tm.mnt, &mst); err != nil {
				t.Fatal(err)
			}
			const iterations = 500
			var stop atomic.Bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				tmp := path + ".tmp"
				for i := 0; i < iterations && !stop.Load(); i++ {
					for _, err := range []error{os.WriteFile(tmp, nil, 0o600), os.Rename(tmp, path), os.Symlink("/etc/passwd", tmp), os.Rename(tmp, path)} {
						if err != nil {
							t.Errorf("shuffler: %v", err)
							return
						}
					}
				}
			}()
			defer func() { stop.Store(true); <-done }()
			tolerated := map[syscall.Errno]int{}
			opens, followed := 0, 0
			for running := true; running; {
				select {
				case <-done:
					running = false
				default:
				}
				fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
				switch errno, _ := err.(syscall.Errno); errno {
				case 0:
				case syscall.EINVAL, syscall.ELOOP, syscall.ENOENT, syscall.ESTALE:
					tolerated[errno]++
					continue
				default:
					t.Errorf("opener: open: %v", err)
					return
				}
				var st unix.Stat_t
				err = unix.Fstat(fd, &st)
				unix.Close(fd)
				switch {
				case err != nil:
					t.Errorf("opener: fstat: %v", err)
					return
				case st.Dev != mst.Dev:
					followed++ // the kernel followed the symlink: fine
				case st.Size != 0:
					t.Errorf("opener: a file of the mount has %d bytes: the daemon opened /etc/passwd", st.Size)
					return
				}
				opens++
			}
			t.Logf("%d opens (%d through the symlink), tolerated errors %v", opens, followed, tolerated)
		})
	}
}
