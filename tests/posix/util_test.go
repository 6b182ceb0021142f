//go:build linux

package posix

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// obs accumulates one case's observation: one line per fact, compared
// verbatim between the plain run and the veilfs run.
type obs struct{ b strings.Builder }

func (o *obs) add(format string, args ...any) { fmt.Fprintf(&o.b, format+"\n", args...) }
func (o *obs) String() string                 { return o.b.String() }

// en names an error by its errno ("ok" for nil), so that observations
// compare the kind of failure and not the path in the message.
func en(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		if n := unix.ErrnoName(errno); n != "" {
			return n
		}
		return fmt.Sprintf("errno(%d)", int(errno))
	}
	return "error(" + err.Error() + ")"
}

// pattern returns n deterministic pseudo-random bytes for seed.
func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 'v', 'e', 'i', 'l'}))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustOpen(t testing.TB, path string, flags int, mode uint32) int {
	t.Helper()
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, mode)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	// No t.Cleanup close here: fd numbers are reused, and a late close
	// could hit another parallel case's descriptor. Cases close explicitly.
	return fd
}

// closeFD closes fd and fails the test on error (close reports deferred
// write errors on FUSE).
func closeFD(t testing.TB, fd int) {
	t.Helper()
	if err := unix.Close(fd); err != nil {
		t.Errorf("close: %v", err)
	}
}

func pwriteAll(t testing.TB, fd int, b []byte, off int64) {
	t.Helper()
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err != nil {
			t.Fatalf("pwrite at %d: %v", off, err)
		}
		if n == 0 {
			t.Fatalf("pwrite at %d: wrote 0 bytes", off)
		}
		b, off = b[n:], off+int64(n)
	}
}

func writeAll(t testing.TB, fd int, b []byte) {
	t.Helper()
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		if n == 0 {
			t.Fatal("write: wrote 0 bytes")
		}
		b = b[n:]
	}
}

// preadFull reads up to n bytes at off, looping over short reads, and stops
// at EOF.
func preadFull(t testing.TB, fd int, n int, off int64) []byte {
	t.Helper()
	buf := make([]byte, n)
	got := 0
	for got < n {
		k, err := unix.Pread(fd, buf[got:], off+int64(got))
		if err != nil {
			t.Fatalf("pread at %d: %v", off+int64(got), err)
		}
		if k == 0 {
			break
		}
		got += k
	}
	return buf[:got]
}

// readFile reads the whole file through a fresh fd with read(2) in odd
// sized chunks.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer unix.Close(fd)
	var out bytes.Buffer
	buf := make([]byte, 65536+7)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if n == 0 {
			return out.Bytes()
		}
		out.Write(buf[:n])
	}
}

func writeFile(t testing.TB, path string, b []byte, mode uint32) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, mode)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	writeAll(t, fd, b)
	if err := unix.Close(fd); err != nil {
		t.Fatalf("close %s: %v", path, err)
	}
}

// checkContent compares the file's content with want (a direct assertion
// that fails on its own) and returns a short digest for the observation.
func checkContent(t testing.TB, path string, want []byte) string {
	t.Helper()
	got := readFile(t, path)
	if !bytes.Equal(got, want) {
		t.Errorf("%s: content differs from model: %s", filepath.Base(path), firstDiff(got, want))
	}
	return fmt.Sprintf("len=%d sha=%s", len(got), sum(got))
}

func firstDiff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d (got %#x want %#x; len got %d want %d)", i, got[i], want[i], len(got), len(want))
		}
	}
	return fmt.Sprintf("length got %d want %d (common prefix equal)", len(got), len(want))
}

func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "reg"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "lnk"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "sock"
	case unix.S_IFCHR:
		return "chr"
	case unix.S_IFBLK:
		return "blk"
	}
	return fmt.Sprintf("type(%o)", mode&unix.S_IFMT)
}

// statLine describes the comparable attributes of a stat result.
func statLine(st *unix.Stat_t) string {
	s := fmt.Sprintf("%s perm=%04o nlink=%d uid=%d gid=%d", fileType(st.Mode), st.Mode&0o7777, st.Nlink, st.Uid, st.Gid)
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		s += fmt.Sprintf(" size=%d", st.Size)
	}
	return s
}

// lst returns the lstat line of path or its errno.
func lst(path string) string {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return en(err)
	}
	return statLine(&st)
}

func fst(t testing.TB, fd int) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat: %v", err)
	}
	return statLine(&st)
}

func sizeOf(t testing.TB, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Size
}

func fsize(t testing.TB, fd int) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat: %v", err)
	}
	return st.Size
}

func nlinkOf(t testing.TB, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat %s: %v", path, err)
	}
	return uint64(st.Nlink)
}

// dirent is one entry returned by getdents64.
type dirent struct {
	name string
	typ  uint8
}

// readdirRaw lists path with getdents64 and a small buffer, so that large
// directories take many calls and the offset bookkeeping is exercised.
func readdirRaw(t testing.TB, path string) []dirent {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opendir %s: %v", path, err)
	}
	defer unix.Close(fd)
	var out []dirent
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			t.Fatalf("getdents %s: %v", path, err)
		}
		if n == 0 {
			return out
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name
			reclen := int(b[16]) | int(b[17])<<8
			typ := b[18]
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			out = append(out, dirent{string(name), typ})
			b = b[reclen:]
		}
	}
}

// names returns the sorted names of path without "." and "..".
func names(t testing.TB, path string) []string {
	t.Helper()
	var out []string
	for _, d := range readdirRaw(t, path) {
		if d.name != "." && d.name != ".." {
			out = append(out, d.name)
		}
	}
	sort.Strings(out)
	return out
}

func dtName(typ uint8) string {
	switch typ {
	case unix.DT_REG:
		return "reg"
	case unix.DT_DIR:
		return "dir"
	case unix.DT_LNK:
		return "lnk"
	case unix.DT_FIFO:
		return "fifo"
	case unix.DT_SOCK:
		return "sock"
	case unix.DT_CHR:
		return "chr"
	case unix.DT_BLK:
		return "blk"
	case unix.DT_UNKNOWN:
		return "unknown"
	}
	return fmt.Sprintf("dt(%d)", typ)
}

func isRoot() bool { return os.Geteuid() == 0 }

// userXattrs lists path's attributes (without following symlinks) minus the
// security.* and system.* ones the backing filesystem may add by itself.
func userXattrs(path string) ([]string, error) {
	sz, err := unix.Llistxattr(path, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, sz+64)
	sz, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range strings.Split(string(buf[:sz]), "\x00") {
		if n == "" || strings.HasPrefix(n, "security.") || strings.HasPrefix(n, "system.") {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func getx(path, name string) string {
	buf := make([]byte, 8192)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		return en(err)
	}
	return fmt.Sprintf("%q", buf[:n])
}
