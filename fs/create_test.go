//go:build linux

package fs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestCreateOverNameThatAppeared sends the CREATE the kernel sends when a
// name appears in CIPHERDIR between its lookup and the open (a sync
// client writing the file): the daemon must open the file that is there
// as open(2) would, keeping its owner, mode and long-name sidecar, and
// truncating only for O_TRUNC.
func TestCreateOverNameThatAppeared(t *testing.T) {
	for kind, name := range map[string]string{"default": "f", "longnamemax62": strings.Repeat("n", 100)} {
		t.Run(kind, func(t *testing.T) {
			tm := newTestMount(t, volumeKinds[kind])
			p := filepath.Join(tm.mnt, name)
			if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
				t.Fatal(err)
			}
			cfile := findCipherFileByContent(t, tm, name)
			var full unix.Stat_t
			if err := unix.Stat(cfile, &full); err != nil {
				t.Fatal(err)
			}
			// A caller other than the file's owner: a created file would
			// be given to it, an existing one must not be.
			ctx := fuse.NewContext(context.Background(), &fuse.Caller{Owner: fuse.Owner{Uid: 4242, Gid: 4242}})
			create := func(flags uint32) (*File, syscall.Errno) {
				var out fuse.EntryOut
				_, fh, _, errno := tm.m.top.Create(ctx, name, flags, 0o600, &out)
				if errno != 0 {
					return nil, errno
				}
				if got := out.Attr.Mode & 07777; got != 0o644 {
					t.Errorf("CREATE over an existing file answered mode %o, want the file's 644", got)
				}
				return fh.(*File), 0
			}

			if _, errno := create(syscall.O_WRONLY | syscall.O_CREAT | syscall.O_EXCL); errno != syscall.EEXIST {
				t.Fatalf("O_EXCL over an existing file: errno %v, want EEXIST", errno)
			}
			fh, errno := create(syscall.O_WRONLY | syscall.O_CREAT)
			if errno != 0 {
				t.Fatalf("O_CREAT over an existing file: %v", errno)
			}
			fh.Release(ctx)
			checkCipherFile(t, cfile, full.Size, full.Uid)

			fh, errno = create(syscall.O_WRONLY | syscall.O_CREAT | syscall.O_TRUNC)
			if errno != 0 {
				t.Fatalf("O_CREAT|O_TRUNC over an existing file: %v", errno)
			}
			fh.Release(ctx)
			checkCipherFile(t, cfile, 0, full.Uid)
			if strings.Contains(filepath.Base(cfile), "longname") {
				if _, err := os.Stat(cfile + ".name"); err != nil {
					t.Errorf("long-name sidecar: %v", err)
				}
			}
		})
	}
}

func checkCipherFile(t *testing.T, cfile string, size int64, uid uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(cfile, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size || st.Uid != uid || st.Mode&07777 != 0o644 {
		t.Errorf("%s: size %d uid %d mode %o, want size %d uid %d mode 644", cfile, st.Size, st.Uid, st.Mode&07777, size, uid)
	}
}

// TestNewFileBlocks: a file just written and closed reports the blocks it
// occupies, as on a plain directory. When CREATE truncated the new
// backing file, ext4 began writeback at close, and a stat racing it saw
// st_blocks 0 about once in a hundred files (go-fuse's FstatDeleted
// caught it).
func TestNewFileBlocks(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	zeros := make([]byte, 9)
	for i := range 2000 {
		p := filepath.Join(tm.mnt, "f")
		if err := os.WriteFile(p, zeros, 0o644); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Blocks == 0 {
			t.Fatalf("file %d: stat right after writing and closing it shows 0 blocks", i)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}
