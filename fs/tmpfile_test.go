//go:build linux

package fs

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// TestTmpfileExclNeverLinked sends the LINK that the kernel itself holds
// back for an O_TMPFILE|O_EXCL file (it has no links and is not
// linkable): the daemon must refuse it too, with ENOENT as ext4 does,
// although its backing file, opened without O_EXCL, could be linked. The
// same request for a file made without O_EXCL gives it its name.
func TestTmpfileExclNeverLinked(t *testing.T) {
	tm := newTestMount(t, volumeKinds["default"])
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		flags uint32
		want  syscall.Errno
	}{
		{"excl", syscall.O_RDWR | unix.O_TMPFILE | syscall.O_EXCL, syscall.ENOENT},
		{"plain", syscall.O_RDWR | unix.O_TMPFILE, 0},
	} {
		var out fuse.EntryOut
		inode, fh, _, errno := tm.m.top.Tmpfile(ctx, tc.flags, 0o600, &out)
		if errno != 0 {
			t.Fatalf("%s: TMPFILE: %v", tc.name, errno)
		}
		if out.Attr.Nlink != 0 {
			t.Errorf("%s: TMPFILE answered nlink %d, want 0", tc.name, out.Attr.Nlink)
		}
		if _, errno := fh.(*File).Write(ctx, []byte("content"), 0); errno != 0 {
			t.Fatalf("%s: write: %v", tc.name, errno)
		}
		_, errno = tm.m.top.Link(ctx, inode.Operations(), tc.name, &out)
		if errno != tc.want {
			t.Errorf("%s: LINK: errno %v, want %v", tc.name, errno, tc.want)
		}
		fh.(*File).Release(ctx)
	}
	ents, err := os.ReadDir(tm.cipherDir)
	if err != nil {
		t.Fatal(err)
	}
	// gocryptfs.conf, gocryptfs.diriv and the one linked file.
	if len(ents) != 3 {
		t.Errorf("CIPHERDIR holds %d entries, want 3: %v", len(ents), ents)
	}
}
