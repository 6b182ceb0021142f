//go:build linux

package posix

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func caseCreateReadWrite(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_RDWR|unix.O_EXCL, 0o644)
	writeAll(t, fd, []byte("hello world"))
	pwriteAll(t, fd, []byte("HELLO"), 0)
	got := preadFull(t, fd, 100, 0)
	o.add("pread=%q fstat=%s", got, fst(t, fd))
	if string(got) != "HELLO world" {
		t.Errorf("read back %q, want %q", got, "HELLO world")
	}
	o.add("pread at EOF=%d", len(preadFull(t, fd, 10, 11)))
	closeFD(t, fd)
	o.add("stat=%s", lst(p))

	// Overwrite the first byte without O_TRUNC.
	fd = mustOpen(t, p, unix.O_WRONLY, 0)
	writeAll(t, fd, []byte("J"))
	closeFD(t, fd)
	o.add("after overwrite: %s", checkContent(t, p, []byte("JELLO world")))

	// Replace with a shorter content through O_TRUNC.
	writeFile(t, p, []byte("abc"), 0o600)
	o.add("after O_TRUNC rewrite: %s stat=%s", checkContent(t, p, []byte("abc")), lst(p))

	// Read/write on wrong fd modes.
	fd = mustOpen(t, p, unix.O_RDONLY, 0)
	_, err := unix.Write(fd, []byte("x"))
	o.add("write on O_RDONLY fd: %s", en(err))
	closeFD(t, fd)
	fd = mustOpen(t, p, unix.O_WRONLY, 0)
	_, err = unix.Read(fd, make([]byte, 4))
	o.add("read on O_WRONLY fd: %s", en(err))
	closeFD(t, fd)
	_, err = unix.Open(filepath.Join(dir, "missing"), unix.O_RDONLY, 0)
	o.add("open missing: %s", en(err))
	_, err = unix.Open(dir, unix.O_WRONLY, 0)
	o.add("open dir for writing: %s", en(err))
	_, err = unix.Open(filepath.Join(p, "x"), unix.O_RDONLY, 0)
	o.add("open file/x: %s", en(err))
	return o.String()
}

func caseOverwriteBlocks(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	model := pattern(10000, 1)
	writeFile(t, p, model, 0o644)
	fd := mustOpen(t, p, unix.O_WRONLY, 0)
	patch := pattern(5000, 2)
	pwriteAll(t, fd, patch, 3000)
	copy(model[3000:], patch)
	// A one-byte write at each block edge.
	for _, off := range []int64{4095, 4096, 8191, 8192, 9999} {
		pwriteAll(t, fd, []byte{0xAA}, off)
		model[off] = 0xAA
	}
	closeFD(t, fd)
	o.add("%s", checkContent(t, p, model))
	o.add("stat=%s", lst(p))
	return o.String()
}

func casePreadPwriteOdd(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	model := pattern(16384, 3)
	writeFile(t, p, model, 0o644)
	fd := mustOpen(t, p, unix.O_RDWR, 0)
	writes := []struct {
		off int64
		n   int
	}{{4095, 2}, {8191, 4098}, {1, 4096}, {12287, 1}, {16383, 3}, {20000, 5000}, {0, 1}, {4096 * 5, 4096}}
	for i, w := range writes {
		b := pattern(w.n, uint64(100+i))
		pwriteAll(t, fd, b, w.off)
		if end := int(w.off) + w.n; end > len(model) {
			model = append(model, make([]byte, end-len(model))...)
		}
		copy(model[w.off:], b)
		o.add("pwrite off=%d n=%d -> fstat size %d", w.off, w.n, fsize(t, fd))
	}
	reads := []struct {
		off int64
		n   int
	}{{0, 20}, {4090, 20}, {8185, 4110}, {16380, 10}, {16386, 5000}, {19990, 20}, {24990, 100}, {30000, 10}, {int64(len(model)) - 1, 10}}
	for _, r := range reads {
		got := preadFull(t, fd, r.n, r.off)
		var want []byte
		if int(r.off) < len(model) {
			want = model[r.off:min(len(model), int(r.off)+r.n)]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("pread off=%d n=%d: %s", r.off, r.n, firstDiff(got, want))
		}
		o.add("pread off=%d n=%d -> %d bytes sha=%s", r.off, r.n, len(got), sum(got))
	}
	closeFD(t, fd)
	o.add("final %s", checkContent(t, p, model))
	return o.String()
}

func caseTruncate(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	model := pattern(3*4096+100, 4)
	writeFile(t, p, model, 0o644)
	resize := func(n int) {
		if n <= len(model) {
			model = model[:n]
		} else {
			model = append(model, make([]byte, n-len(model))...)
		}
	}
	steps := []struct {
		what string
		size int64
	}{
		{"in-block down", 3*4096 + 50},
		{"across blocks down", 5000},
		{"in-block up", 6000},
		{"across blocks up", 20000},
		{"to 4096 multiple", 8192},
		{"to exactly one block", 4096},
		{"to 0", 0},
		{"up from 0", 10000},
		{"down to 1", 1},
	}
	for i, s := range steps {
		must(t, unix.Truncate(p, s.size), "truncate "+s.what)
		resize(int(s.size))
		o.add("truncate %s: stat=%s %s", s.what, lst(p), checkContent(t, p, model))
		// Write after truncating, inside the new tail, so that a stale
		// block or wrong size shows up.
		if i == 3 {
			fd := mustOpen(t, p, unix.O_WRONLY, 0)
			pwriteAll(t, fd, []byte("0123456789"), 19995)
			closeFD(t, fd)
			resize(20005)
			copy(model[19995:], "0123456789")
			o.add("write past new end: %s", checkContent(t, p, model))
		}
	}
	// ftruncate through an open fd, with fstat and stat right away.
	fd := mustOpen(t, p, unix.O_RDWR, 0)
	for _, n := range []int64{4097, 12288, 100, 0, 9000} {
		must(t, unix.Ftruncate(fd, n), "ftruncate")
		resize(int(n))
		o.add("ftruncate %d: fstat=%s stat=%s", n, fst(t, fd), lst(p))
		if got := preadFull(t, fd, len(model)+10, 0); !bytes.Equal(got, model) {
			t.Errorf("after ftruncate %d: %s", n, firstDiff(got, model))
		}
	}
	data := pattern(3000, 5)
	pwriteAll(t, fd, data, 8000)
	resize(11000)
	copy(model[8000:], data)
	must(t, unix.Ftruncate(fd, 8500), "ftruncate")
	resize(8500)
	closeFD(t, fd)
	o.add("final %s", checkContent(t, p, model))
	err := unix.Truncate(dir, 0)
	o.add("truncate dir: %s", en(err))
	err = unix.Truncate(filepath.Join(dir, "missing"), 0)
	o.add("truncate missing: %s", en(err))
	return o.String()
}

func caseSparse(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_RDWR, 0o644)
	var model []byte
	put := func(b []byte, off int) {
		pwriteAll(t, fd, b, int64(off))
		if end := off + len(b); end > len(model) {
			model = append(model, make([]byte, end-len(model))...)
		}
		copy(model[off:], b)
	}
	put([]byte("start"), 0)
	put([]byte("abc"), 1<<20+7)
	o.add("after write past EOF: fstat=%s stat=%s", fst(t, fd), lst(p))
	hole := preadFull(t, fd, 4096*3, 4096*10)
	if !bytes.Equal(hole, make([]byte, len(hole))) || len(hole) != 4096*3 {
		t.Errorf("hole does not read as %d zeros (got %d bytes, sha %s)", 4096*3, len(hole), sum(hole))
	}
	put([]byte("XYZ"), 10000)       // inside the hole, mid block
	put(pattern(4096, 6), 4096*50)  // a whole block inside the hole
	put([]byte("tail"), 1<<20+4093) // straddles a block edge at the end
	end, err := unix.Seek(fd, 0, unix.SEEK_END)
	o.add("SEEK_END=%d %s", end, en(err))
	// SEEK_DATA/SEEK_HOLE may or may not know about holes; only what
	// every implementation must answer is checked, and not compared.
	if off, err := unix.Seek(fd, 0, unix.SEEK_DATA); err != nil || off != 0 {
		t.Errorf("SEEK_DATA from 0 = %d, %v; want 0 (data at offset 0)", off, err)
	}
	if off, err := unix.Seek(fd, 0, unix.SEEK_HOLE); err != nil || off <= 0 || off > end {
		t.Errorf("SEEK_HOLE from 0 = %d, %v; want in (0, %d]", off, err, end)
	}
	if _, err := unix.Seek(fd, end+10, unix.SEEK_DATA); err != unix.ENXIO {
		t.Errorf("SEEK_DATA past EOF: %v, want ENXIO", err)
	}
	closeFD(t, fd)
	o.add("%s", checkContent(t, p, model))

	// A file whose last block is partially written, extended past EOF
	// within the same block.
	q := filepath.Join(dir, "g")
	writeFile(t, q, []byte("0123456789"), 0o644)
	fd = mustOpen(t, q, unix.O_WRONLY, 0)
	pwriteAll(t, fd, []byte("x"), 2000)
	closeFD(t, fd)
	want := append([]byte("0123456789"), make([]byte, 1990)...)
	want = append(want, 'x')
	o.add("g %s", checkContent(t, q, want))

	// Sparse by truncate, then write at the end.
	r := filepath.Join(dir, "h")
	writeFile(t, r, nil, 0o644)
	must(t, unix.Truncate(r, 3*4096), "truncate")
	fd = mustOpen(t, r, unix.O_WRONLY|unix.O_APPEND, 0)
	writeAll(t, fd, []byte("end"))
	closeFD(t, fd)
	o.add("h %s", checkContent(t, r, append(make([]byte, 3*4096), "end"...)))
	return o.String()
}

func caseOTrunc(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, pattern(10000, 7), 0o644)
	fd := mustOpen(t, p, unix.O_WRONLY|unix.O_TRUNC, 0)
	o.add("O_WRONLY|O_TRUNC: fstat=%s stat=%s", fst(t, fd), lst(p))
	writeAll(t, fd, []byte("x"))
	o.add("after write: fstat=%s stat=%s", fst(t, fd), lst(p))
	closeFD(t, fd)
	o.add("%s", checkContent(t, p, []byte("x")))

	writeFile(t, p, pattern(5000, 8), 0o644)
	fd = mustOpen(t, p, unix.O_RDWR|unix.O_TRUNC, 0)
	o.add("O_RDWR|O_TRUNC: fstat=%s read=%d", fst(t, fd), len(preadFull(t, fd, 100, 0)))
	closeFD(t, fd)

	writeFile(t, p, pattern(5000, 9), 0o644)
	fd = mustOpen(t, p, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o600)
	o.add("O_CREAT|O_TRUNC on existing: fstat=%s", fst(t, fd))
	closeFD(t, fd)
	o.add("mode kept=%s", lst(p))
	return o.String()
}

func caseOExcl(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, []byte("keep"), 0o644)
	_, err := unix.Open(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
	o.add("O_EXCL existing file: %s", en(err))
	_, err = unix.Open(dir, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
	o.add("O_EXCL existing dir: %s", en(err))
	must(t, unix.Symlink("nowhere", filepath.Join(dir, "dangling")), "symlink")
	_, err = unix.Open(filepath.Join(dir, "dangling"), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
	o.add("O_EXCL dangling symlink: %s", en(err))
	o.add("dangling target created: %s", lst(filepath.Join(dir, "nowhere")))
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_WRONLY, 0o600)
	closeFD(t, fd)
	o.add("O_CREAT without O_EXCL keeps content and mode: %s %s", checkContent(t, p, []byte("keep")), lst(p))
	fd, err = unix.Open(filepath.Join(dir, "new"), unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, 0o640)
	o.add("O_EXCL new: %s", en(err))
	if err == nil {
		closeFD(t, fd)
	}
	o.add("new: %s", lst(filepath.Join(dir, "new")))
	// O_CREAT through a dangling symlink creates the target.
	fd, err = unix.Open(filepath.Join(dir, "dangling"), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	o.add("O_CREAT via dangling symlink: %s", en(err))
	if err == nil {
		closeFD(t, fd)
	}
	o.add("target now: %s", lst(filepath.Join(dir, "nowhere")))
	return o.String()
}

// caseAppendPwrite: pwrite on an O_APPEND fd appends on Linux (documented
// bug in pwrite(2)); FUSE must keep that.
func caseAppendPwrite(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, []byte("0123456789"), 0o644)
	fd := mustOpen(t, p, unix.O_WRONLY|unix.O_APPEND, 0)
	pwriteAll(t, fd, []byte("A"), 0)
	writeAll(t, fd, []byte("BC"))
	o.add("fstat=%s", fst(t, fd))
	closeFD(t, fd)
	o.add("%s", checkContent(t, p, []byte("0123456789ABC")))
	// O_APPEND on a file that another fd truncates in between.
	fd = mustOpen(t, p, unix.O_WRONLY|unix.O_APPEND, 0)
	must(t, unix.Truncate(p, 3), "truncate")
	writeAll(t, fd, []byte("Z"))
	closeFD(t, fd)
	o.add("%s", checkContent(t, p, []byte("012Z")))
	return o.String()
}

func caseFallocate(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "new")
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_RDWR, 0o644)
	err := unix.Fallocate(fd, 0, 0, 10000)
	o.add("fallocate mode 0 on empty file: %s fstat=%s stat=%s", en(err), fst(t, fd), lst(p))
	closeFD(t, fd)
	if err == nil {
		o.add("%s", checkContent(t, p, make([]byte, 10000)))
	}

	q := filepath.Join(dir, "existing")
	model := pattern(5000, 10)
	writeFile(t, q, model, 0o644)
	fd = mustOpen(t, q, unix.O_RDWR, 0)
	err = unix.Fallocate(fd, 0, 3000, 5000)
	if err == nil {
		model = append(model, make([]byte, 3000)...)
	}
	o.add("fallocate mode 0 growing: %s fstat=%s", en(err), fst(t, fd))
	err = unix.Fallocate(fd, 0, 100, 200)
	o.add("fallocate mode 0 inside: %s fstat=%s", en(err), fst(t, fd))
	err = unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, 0, 100000)
	o.add("fallocate KEEP_SIZE: %s fstat=%s stat=%s", en(err), fst(t, fd), lst(q))
	// Writing after the preallocation must still work and land right.
	pwriteAll(t, fd, []byte("after"), 9000)
	model = append(model, make([]byte, 9005-len(model))...)
	copy(model[9000:], "after")
	closeFD(t, fd)
	o.add("%s", checkContent(t, q, model))
	fd = mustOpen(t, q, unix.O_RDONLY, 0)
	err = unix.Fallocate(fd, 0, 0, 1)
	o.add("fallocate on O_RDONLY fd: %s", en(err))
	closeFD(t, fd)
	return o.String()
}

func caseFsync(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_RDWR, 0o644)
	data := pattern(9000, 11)
	writeAll(t, fd, data)
	o.add("fsync: %s", en(unix.Fsync(fd)))
	pwriteAll(t, fd, []byte("more"), 9000)
	o.add("fdatasync: %s", en(unix.Fdatasync(fd)))
	o.add("fstat=%s", fst(t, fd))
	closeFD(t, fd)
	o.add("%s", checkContent(t, p, append(data, "more"...)))
	fd = mustOpen(t, p, unix.O_RDONLY, 0)
	o.add("fsync on O_RDONLY fd: %s", en(unix.Fsync(fd)))
	closeFD(t, fd)
	dfd := mustOpen(t, dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	o.add("fsync dir: %s", en(unix.Fsync(dfd)))
	closeFD(t, dfd)
	o.add("syncfs: %s", en(func() error {
		fd := mustOpen(t, p, unix.O_RDONLY, 0)
		defer unix.Close(fd)
		return unix.Syncfs(fd)
	}()))
	return o.String()
}

func caseMmap(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	size := 3*4096 + 123
	model := pattern(size, 12)
	writeFile(t, p, model, 0o644)

	fd := mustOpen(t, p, unix.O_RDWR, 0)
	m, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	must(t, err, "mmap")
	if !bytes.Equal(m, model) {
		t.Errorf("mmap read: %s", firstDiff(m, model))
	}
	o.add("mmap read sha=%s", sum(m))
	edits := map[int]byte{0: 'A', 4095: 'B', 4096: 'C', 4097: 'D', 8200: 'E', size - 1: 'F'}
	for off, c := range edits {
		m[off] = c
		model[off] = c
	}
	o.add("msync: %s", en(unix.Msync(m, unix.MS_SYNC)))
	got := preadFull(t, fd, size+10, 0)
	if !bytes.Equal(got, model) {
		t.Errorf("read after msync: %s", firstDiff(got, model))
	}
	o.add("read after msync sha=%s", sum(got))
	must(t, unix.Munmap(m), "munmap")
	closeFD(t, fd)
	o.add("reopened %s", checkContent(t, p, model))

	// Write through write(2), read through a fresh read-only mapping.
	fd = mustOpen(t, p, unix.O_RDWR, 0)
	pwriteAll(t, fd, []byte("written"), 5000)
	copy(model[5000:], "written")
	ro, err := unix.Mmap(fd, 0, size, unix.PROT_READ, unix.MAP_SHARED)
	must(t, err, "mmap ro")
	if !bytes.Equal(ro, model) {
		t.Errorf("mmap after write: %s", firstDiff(ro, model))
	}
	o.add("mmap after write sha=%s", sum(ro))
	must(t, unix.Munmap(ro), "munmap")

	// MAP_PRIVATE writes must not reach the file.
	pm, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	must(t, err, "mmap private")
	pm[10] = 'P'
	must(t, unix.Munmap(pm), "munmap")
	closeFD(t, fd)
	o.add("after MAP_PRIVATE %s", checkContent(t, p, model))

	// A mapping that grows the file through ftruncate, written via mmap.
	q := filepath.Join(dir, "g")
	fd = mustOpen(t, q, unix.O_CREAT|unix.O_RDWR, 0o644)
	must(t, unix.Ftruncate(fd, 10000), "ftruncate")
	gm, err := unix.Mmap(fd, 0, 10000, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	must(t, err, "mmap g")
	want := make([]byte, 10000)
	for i := 0; i < 10000; i += 997 {
		gm[i] = byte(i)
		want[i] = byte(i)
	}
	must(t, unix.Msync(gm, unix.MS_SYNC), "msync")
	must(t, unix.Munmap(gm), "munmap")
	closeFD(t, fd)
	o.add("g %s", checkContent(t, q, want))
	return o.String()
}

func caseLargeFile(t *testing.T, dir string) string {
	var o obs
	const size = 20 << 20
	data := pattern(size, 13)
	p := filepath.Join(dir, "big")
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_WRONLY, 0o644)
	for off := 0; off < size; off += 1<<20 + 13 {
		writeAll(t, fd, data[off:min(size, off+1<<20+13)])
	}
	o.add("fstat after write=%s", fst(t, fd))
	closeFD(t, fd)
	want := sha256.Sum256(data)
	h := sha256.New()
	h.Write(readFile(t, p))
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Errorf("sha256 of 20 MiB read back = %x, want %x", got, want)
	}
	o.add("sha256=%s", hex.EncodeToString(h.Sum(nil)))
	// Patch 1 MiB at an odd offset and spot-check with pread.
	fd = mustOpen(t, p, unix.O_RDWR, 0)
	patch := pattern(1<<20, 14)
	pwriteAll(t, fd, patch, 7<<20+4093)
	copy(data[7<<20+4093:], patch)
	for _, off := range []int64{0, 7<<20 + 4000, 8<<20 + 4090, size - 5000} {
		got := preadFull(t, fd, 9000, off)
		if !bytes.Equal(got, data[off:min(size, int(off)+9000)]) {
			t.Errorf("pread at %d after patch differs", off)
		}
	}
	closeFD(t, fd)
	o.add("after patch %s", checkContent(t, p, data))
	return o.String()
}

func caseAttrsEveryReply(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_RDWR, 0o644)
	writeAll(t, fd, pattern(5000, 15))
	// Without closing: path stat, fstat and a directory listing must all
	// see the new size.
	o.add("after write: stat=%s fstat=%s", lst(p), fst(t, fd))
	if s := sizeOf(t, p); s != 5000 {
		t.Errorf("stat size right after write = %d, want 5000", s)
	}
	names(t, dir)
	o.add("after readdir: stat=%s", lst(p))
	pwriteAll(t, fd, []byte("z"), 10000)
	o.add("after write at 10000: stat=%s fstat=%s", lst(p), fst(t, fd))
	if s := sizeOf(t, p); s != 10001 {
		t.Errorf("stat size after write at 10000 = %d, want 10001", s)
	}
	must(t, unix.Ftruncate(fd, 100), "ftruncate")
	o.add("after ftruncate 100: stat=%s fstat=%s", lst(p), fst(t, fd))
	must(t, unix.Truncate(p, 50), "truncate")
	o.add("after truncate 50: stat=%s fstat=%s", lst(p), fst(t, fd))
	if s := fsize(t, fd); s != 50 {
		t.Errorf("fstat size after truncate(path, 50) = %d, want 50", s)
	}
	// A second fd on the same file sees the size the first one made.
	fd2 := mustOpen(t, p, unix.O_RDWR, 0)
	pwriteAll(t, fd2, pattern(7000, 16), 0)
	o.add("after write via fd2: fstat(fd1)=%s stat=%s", fst(t, fd), lst(p))
	if s := fsize(t, fd); s != 7000 {
		t.Errorf("fstat(fd1) after a write via fd2 = %d, want 7000", s)
	}
	closeFD(t, fd2)
	closeFD(t, fd)
	o.add("after close: stat=%s", lst(p))
	return o.String()
}

// caseDirNlink checks st_nlink and st_size-independent attributes of
// directories as subdirectories come and go.
func caseDirNlink(t *testing.T, dir string) string {
	var o obs
	d := filepath.Join(dir, "d")
	must(t, unix.Mkdir(d, 0o755), "mkdir")
	o.add("empty: %s", lst(d))
	must(t, unix.Mkdir(filepath.Join(d, "a"), 0o755), "mkdir")
	must(t, unix.Mkdir(filepath.Join(d, "b"), 0o755), "mkdir")
	writeFile(t, filepath.Join(d, "f"), nil, 0o644)
	o.add("two subdirs: %s", lst(d))
	must(t, unix.Rename(filepath.Join(d, "a"), filepath.Join(dir, "a")), "rename")
	o.add("moved one out: d=%s parent=%s", lst(d), lst(dir))
	must(t, unix.Rmdir(filepath.Join(d, "b")), "rmdir")
	o.add("removed one: %s", lst(d))
	return o.String()
}
