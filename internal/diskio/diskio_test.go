package diskio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
)

func openDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestPreadPwriteFull(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	data := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB: several syscalls on some systems
	if err := PwriteFull(fd, data, 7); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(data))
	if n, err := PreadFull(fd, buf, 7); err != nil || n != len(data) || !bytes.Equal(buf, data) {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	// At end of file: fewer bytes, no error.
	if n, err := PreadFull(fd, buf, int64(len(data))); err != nil || n != 7 {
		t.Fatalf("read at the end: %d bytes, %v; want 7", n, err)
	}
	if n, err := PreadFull(-1, buf, 0); err != unix.EBADF || n != 0 {
		t.Fatalf("bad fd: %d, %v", n, err)
	}
	if err := PwriteFull(-1, buf, 0); err != unix.EBADF {
		t.Fatalf("bad fd: %v", err)
	}
}

func TestReadWriteFull(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	data := bytes.Repeat([]byte("abc"), 300_000)
	if err := WriteFull(fd, data); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(data)+10)
	if n, err := ReadFull(fd, buf); err != nil || n != len(data) || !bytes.Equal(buf[:n], data) {
		t.Fatalf("read back %d bytes, %v; want %d (fewer than asked at end of file, no error)", n, err, len(data))
	}
	if err := WriteFull(-1, data); err != unix.EBADF {
		t.Fatalf("bad fd: %v", err)
	}
	if n, err := ReadFull(-1, buf); err != unix.EBADF || n != 0 {
		t.Fatalf("bad fd: %d, %v", n, err)
	}
}

func TestAllZeroHoleBlock(t *testing.T) {
	if !AllZero(nil) || !AllZero(make([]byte, 10)) || AllZero([]byte{0, 0, 1}) {
		t.Fatal("AllZero")
	}
	buf := make([]byte, 10) // blocks of 4: [0,4) [4,8) and a partial [8,10)
	buf[5] = 1
	for i, want := range []bool{true, false, false} {
		if got := HoleBlock(buf, int64(i), 4); got != want {
			t.Errorf("block %d: hole %v, want %v", i, got, want)
		}
	}
	if HoleBlock(buf, 3, 4) {
		t.Error("a block past the end is no hole")
	}
}

func TestXattrs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{'v'}, 2000) // past the first two buffers
	if err := unix.Setxattr(p, "user.big", big, 0); errors.Is(err, unix.ENOTSUP) {
		testenv.Missing(t, "no user xattrs on the filesystem of $TMPDIR: run the tests with TMPDIR on ext4, xfs, btrfs or tmpfs")
	} else if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 40 { // a list longer than the first buffer
		name := "user." + strings.Repeat("n", 20) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := unix.Setxattr(p, name, []byte{byte(i)}, 0); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	want = append(want, "user.big")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	got, err := ListXattrs(fd)
	if err != nil {
		t.Fatal(err)
	}
	got = slices.DeleteFunc(got, func(n string) bool { return !strings.HasPrefix(n, "user.") })
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	if v, err := GetXattr(fd, "user.big"); err != nil || !bytes.Equal(v, big) {
		t.Fatalf("user.big: %d bytes, %v", len(v), err)
	}
	if v, err := GetXattrWith(func(b []byte) (int, error) { return unix.Lgetxattr(p, "user.missing", b) }); err == nil {
		t.Fatalf("a missing xattr read as %q", v)
	}
	empty := filepath.Join(t.TempDir(), "e")
	os.WriteFile(empty, nil, 0o644)
	if names, err := ListXattrsWith(func(b []byte) (int, error) { return unix.Llistxattr(empty, b) }); err != nil || slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "user.") }) {
		t.Fatalf("a file without xattrs lists %q, %v", names, err)
	}
}

func TestReadDirents(t *testing.T) {
	dir := t.TempDir()
	want := map[string]bool{}
	for i := range 3000 { // several getdents buffers
		name := strings.Repeat("n", 50) + string(rune('a'+i%26)) + strings.Repeat("0", i%7) + string(rune('A'+i/26%26)) + string(rune('A'+i/676))
		want[name] = true
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	fd := openDir(t, dir)
	got := map[string]bool{}
	if err := ReadDirents(fd, func(name string, ino uint64, typ uint8) bool {
		if ino == 0 || typ != unix.DT_REG {
			t.Errorf("%s: ino %d type %d", name, ino, typ)
		}
		got[name] = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d entries, want %d", len(got), len(want))
	}
	// Stopping early, then reading again from the start.
	n := 0
	ReadDirents(fd, func(string, uint64, uint8) bool { n++; return n < 5 })
	if n != 5 {
		t.Fatalf("fn called %d times after returning false at 5", n)
	}
	names, err := ListNames(fd)
	if err != nil || len(names) != len(want) || !slices.IsSorted(names) {
		t.Fatalf("ListNames: %d names, sorted %v, %v", len(names), slices.IsSorted(names), err)
	}
}

func TestOpenRead(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	os.Symlink("file", filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	dfd := openDir(t, dir)
	fd, err := OpenRead(dfd, "file")
	if err != nil {
		t.Fatal(err)
	}
	fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	unix.Close(fd)
	if fl&unix.O_ACCMODE != unix.O_RDONLY || fl&unix.O_NONBLOCK == 0 || ONoatime != 0 && fl&ONoatime == 0 {
		t.Errorf("flags %#x: want O_RDONLY|O_NONBLOCK|O_NOATIME", fl)
	}
	if _, err := OpenRead(dfd, "link"); !errors.Is(err, unix.ELOOP) {
		t.Errorf("a symlink: %v, want ELOOP", err)
	}
	for _, name := range []string{"fifo", "sub"} {
		if _, err := OpenRead(dfd, name); err != ErrNotRegular {
			t.Errorf("%s: %v, want ErrNotRegular", name, err)
		}
	}
	if _, err := OpenRead(dfd, "missing"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("a missing file: %v, want ENOENT", err)
	}
	sfd, err := OpenDirNoatime(dfd)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sfd)
	if names, err := ListNames(sfd); err != nil || !slices.Equal(names, []string{"fifo", "file", "link", "sub"}) {
		t.Errorf("OpenDirNoatime lists %q, %v", names, err)
	}
}

// TestOpenNoatimeRetries: EPERM for O_NOATIME (not the owner) is retried
// without it, once; other errors are not.
func TestOpenNoatimeRetries(t *testing.T) {
	var calls []int
	open := func(err error) func(int) (int, error) {
		return func(f int) (int, error) {
			calls = append(calls, f)
			if f&ONoatime != 0 || ONoatime == 0 {
				return -1, err
			}
			return 3, nil
		}
	}
	fd, err := OpenNoatime(open(unix.EPERM), unix.O_RDONLY)
	if ONoatime == 0 {
		if err != unix.EPERM || len(calls) != 1 {
			t.Fatalf("without O_NOATIME: %d, %v after %d calls", fd, err, len(calls))
		}
		return
	}
	if fd != 3 || err != nil || !slices.Equal(calls, []int{unix.O_RDONLY | ONoatime, unix.O_RDONLY}) {
		t.Fatalf("EPERM: %d, %v, calls %#x", fd, err, calls)
	}
	calls = nil
	if _, err := OpenNoatime(open(unix.EACCES), unix.O_RDONLY); err != unix.EACCES || len(calls) != 1 {
		t.Fatalf("EACCES: %v after %d calls", err, len(calls))
	}
}
