package fsck

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
)

// tvol is a volume written directly through fs/cipherdir, without a mount,
// so that these tests need no FUSE: what a mount would write, byte for byte
// in format (the e2e tests in tests/fsck use real mounts and gocryptfs).
type tvol struct {
	t      testing.TB
	dir    string
	master []byte
	conf   *config.File
	v      *cipherdir.Volume
}

const testPassword = "fsck test password"

func newVolume(t testing.TB, opts config.CreateOptions) *tvol {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cipher")
	opts.LogN = 10
	master, err := cipherdir.Init(dir, []byte(testPassword), opts)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cipherdir.OpenWithMasterKey(dir, master)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Wipe)
	return &tvol{t: t, dir: dir, master: master, conf: v.Config, v: v}
}

// resolve returns the open parent directory of the plaintext path p, its
// IV and the disk and full encrypted name of p's last component.
func (tv *tvol) resolve(p string) (dirfd int, iv []byte, disk, cname string) {
	tv.t.Helper()
	parts := strings.Split(p, "/")
	fd, err := unix.Open(tv.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		tv.t.Fatal(err)
	}
	for i, part := range parts {
		iv, err = tv.v.DirIVAt(fd)
		if err != nil {
			tv.t.Fatalf("%s: %v", p, err)
		}
		disk, cname, err = tv.v.DiskName(part, iv, i == 0)
		if err != nil {
			tv.t.Fatal(err)
		}
		if i == len(parts)-1 {
			return fd, iv, disk, cname
		}
		next, err := cipherdir.OpenReadDirAt(fd, disk)
		unix.Close(fd)
		if err != nil {
			tv.t.Fatalf("%s: %v", p, err)
		}
		fd = next
	}
	panic("unreachable")
}

// cpath is the ciphertext path of the plaintext path p, relative to dir.
func (tv *tvol) cpath(p string) string {
	tv.t.Helper()
	var out []string
	for i := range strings.Split(p, "/") {
		fd, _, disk, _ := tv.resolve(strings.Join(strings.Split(p, "/")[:i+1], "/"))
		unix.Close(fd)
		out = append(out, disk)
	}
	return strings.Join(out, "/")
}

func (tv *tvol) abs(p string) string { return filepath.Join(tv.dir, tv.cpath(p)) }

func (tv *tvol) mkdir(p string) {
	tv.t.Helper()
	fd, _, disk, cname := tv.resolve(p)
	defer unix.Close(fd)
	if err := tv.v.PrepareName(fd, disk, cname, func() error { _, err := tv.v.Mkdir(fd, disk, 0o755); return err }); err != nil {
		tv.t.Fatal(err)
	}
}

// writeFile writes data as a file's content; holes lists blocks written as
// holes (left out of the file).
func (tv *tvol) writeFile(p string, data []byte, holes ...uint64) {
	tv.t.Helper()
	fd, _, disk, cname := tv.resolve(p)
	defer unix.Close(fd)
	err := tv.v.PrepareName(fd, disk, cname, func() error {
		f, err := unix.Openat(fd, disk, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		defer unix.Close(f)
		if len(data) == 0 {
			return nil
		}
		id := cipher.NewFileID()
		if _, err := unix.Pwrite(f, cipher.MarshalHeader(id), 0); err != nil {
			return err
		}
		for bn := uint64(0); int(bn)*cipher.PlainBlockSize < len(data); bn++ {
			end := min(len(data), int(bn+1)*cipher.PlainBlockSize)
			if slices.Contains(holes, bn) {
				continue
			}
			blk := tv.v.Content.SealBlock(nil, data[int(bn)*cipher.PlainBlockSize:end], bn, id)
			if _, err := unix.Pwrite(f, blk, tv.v.Content.BlockCipherOffset(bn)); err != nil {
				return err
			}
		}
		return unix.Ftruncate(f, tv.v.Content.CipherSize(int64(len(data))))
	})
	if err != nil {
		tv.t.Fatal(err)
	}
}

// writeHeaderOnly makes an 18-byte file: a header without blocks.
func (tv *tvol) writeHeaderOnly(p string) {
	tv.t.Helper()
	fd, _, disk, _ := tv.resolve(p)
	defer unix.Close(fd)
	f, err := unix.Openat(fd, disk, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
	if err != nil {
		tv.t.Fatal(err)
	}
	unix.Write(f, cipher.MarshalHeader(cipher.NewFileID()))
	unix.Close(f)
}

func (tv *tvol) symlink(p, target string) {
	tv.t.Helper()
	fd, _, disk, cname := tv.resolve(p)
	defer unix.Close(fd)
	stored, err := tv.v.EncryptLink(target)
	if err != nil {
		tv.t.Fatal(err)
	}
	if err := tv.v.PrepareName(fd, disk, cname, func() error { return unix.Symlinkat(stored, fd, disk) }); err != nil {
		tv.t.Fatal(err)
	}
}

func (tv *tvol) setxattr(p, name string, value []byte) {
	tv.t.Helper()
	stored, err := tv.v.Names.EncryptXattrName(name)
	if err != nil {
		tv.t.Fatal(err)
	}
	if err := unix.Lsetxattr(tv.abs(p), stored, tv.v.EncryptXattrValue(value), 0); err != nil {
		tv.t.Fatal(err)
	}
}

// readFile decrypts a file through the volume, as a mount would.
func (tv *tvol) readFile(p string) ([]byte, error) {
	tv.t.Helper()
	fd, _, disk, _ := tv.resolve(p)
	defer unix.Close(fd)
	f, err := unix.Openat(fd, disk, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(f)
	return tv.decrypt(f)
}

func (tv *tvol) decrypt(f int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f, &st); err != nil {
		return nil, err
	}
	if st.Size == 0 {
		return nil, nil
	}
	buf := make([]byte, st.Size)
	if _, err := unix.Pread(f, buf, 0); err != nil {
		return nil, err
	}
	id, err := cipher.ParseHeader(buf)
	if err != nil {
		return nil, err
	}
	cbs := tv.v.Content.CipherBlockSize()
	var out []byte
	for bn, off := uint64(0), cipher.HeaderSize; off < len(buf); bn, off = bn+1, off+cbs {
		blk := buf[off:min(off+cbs, len(buf))]
		if len(blk) == cbs && diskio.AllZero(blk) {
			out = append(out, make([]byte, cipher.PlainBlockSize)...)
			continue
		}
		if out, err = tv.v.Content.OpenBlock(out, blk, bn, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// list returns the plaintext names of the directory p ("" for the root) as
// a mount shows them (EntryName), skipping the volume's own files and
// names that do not decrypt.
func (tv *tvol) list(p string) []string {
	tv.t.Helper()
	var fd int
	var err error
	if p == "" {
		fd, err = unix.Open(tv.dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	} else {
		pfd, _, disk, _ := tv.resolve(p)
		fd, err = cipherdir.OpenReadDirAt(pfd, disk)
		unix.Close(pfd)
	}
	if err != nil {
		tv.t.Fatal(err)
	}
	defer unix.Close(fd)
	iv, err := tv.v.DirIVAt(fd)
	if err != nil {
		tv.t.Fatalf("%s: %v", p, err)
	}
	names, _ := diskio.ListNames(fd)
	var out []string
	for _, n := range names {
		if name, _, err := tv.v.EntryName(fd, n, iv, p == ""); err == nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// check runs fsck and returns its report.
func (tv *tvol) check(opts Options) *Report {
	tv.t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC) }
	}
	conf, err := cipherdir.LoadConfig(tv.dir)
	if err != nil {
		tv.t.Fatal(err)
	}
	rep, err := Run(tv.dir, conf, tv.master, opts)
	if err != nil {
		tv.t.Fatalf("fsck: %v", err)
	}
	return rep
}

func kinds(r *Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, string(p.Kind))
	}
	return out
}

// errorKinds returns the kinds of the problems that are errors and were
// not repaired.
func errorKinds(r *Report) []string {
	var out []string
	for _, p := range r.Problems {
		if p.Severity == Error && !p.Repaired {
			out = append(out, string(p.Kind))
		}
	}
	return out
}

func dumpReport(r *Report) string {
	var b bytes.Buffer
	r.WriteText(&b)
	return b.String()
}

// snapshot is every ciphertext file's path and a hash of its content,
// symlink target or IV: a check must not change any of it.
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = sha256.Sum256([]byte(l))
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			out[rel] = sha256.Sum256(b)
		default:
			out[rel] = sha256.Sum256(nil)
		}
		return nil
	})
	return out
}

// payload is deterministic test content of n bytes.
func payload(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte(seed + string(rune(i))))
		out = append(out, h[:]...)
	}
	return out[:n]
}
