//go:build linux

package posix

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
)

// Holes made by fallocate PUNCH_HOLE and ZERO_RANGE (SEEK_DATA and
// SEEK_HOLE in cases_seek_test.go). Blocks are 4 KiB, the unit of both the
// plain directory's filesystem (ext4, tmpfs) and of veilfs.

const pageSize = 4096

// requireFalloc skips the case unless the filesystem of the plain
// directory (the temp directory, which also holds the veilfs CIPHERDIR)
// supports fallocate mode: tmpfs has no ZERO_RANGE, for one.
func requireFalloc(t *testing.T, mode uint32, what string) {
	t.Helper()
	f, err := os.CreateTemp("", "falloc-probe")
	must(t, err, "create probe file")
	defer os.Remove(f.Name())
	defer f.Close()
	_, err = f.Write(make([]byte, 2*pageSize))
	must(t, err, "write probe file")
	if err := unix.Fallocate(int(f.Fd()), mode, 0, pageSize); err != nil {
		testenv.Missing(t, fmt.Sprintf("the temp directory's filesystem has no %s: %v", what, err))
	}
}

// stBlocks returns st_blocks of fd.
func stBlocks(t testing.TB, fd int) int64 {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Fstat(fd, &st), "fstat")
	return st.Blocks
}

// zeroModel zeros model[off:off+n), clipped to the model.
func zeroModel(model []byte, off, n int64) {
	if off < int64(len(model)) {
		clear(model[off:min(off+n, int64(len(model)))])
	}
}

// casePunchHole: fallocate(PUNCH_HOLE|KEEP_SIZE) on aligned and unaligned
// ranges, across the partial last block and past the end. The range reads
// as zeros at once through the descriptor whose cache held the old data,
// the size stays, and a punch of whole blocks frees space.
func casePunchHole(t *testing.T, dir string) string {
	requireFalloc(t, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, "PUNCH_HOLE")
	var o obs
	p := filepath.Join(dir, "f")
	model := pattern(20*pageSize+1000, 41)
	writeFile(t, p, model, 0o644)
	fd := mustOpen(t, p, unix.O_RDWR, 0)
	if got := preadFull(t, fd, len(model), 0); !bytes.Equal(got, model) { // fills the page cache
		t.Fatalf("read before punching: %s", firstDiff(got, model))
	}
	punch := func(what string, off, n int64) {
		err := unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		if err == nil {
			zeroModel(model, off, n)
		}
		got := preadFull(t, fd, len(model)+pageSize, 0)
		if !bytes.Equal(got, model) {
			t.Errorf("after punching %s: %s", what, firstDiff(got, model))
		}
		o.add("punch %s [%d, %d): %s fstat=%s read=%s", what, off, off+n, en(err), fst(t, fd), sum(got))
	}
	before := stBlocks(t, fd)
	punch("10 whole blocks", 2*pageSize, 10*pageSize)
	o.add("  st_blocks decreased: %v", stBlocks(t, fd) < before)
	punch("unaligned in the hole and past it", 11*pageSize+100, 2*pageSize)
	punch("inside one block", 15*pageSize+10, 100)
	punch("across a block edge", 16*pageSize-7, 14)
	punch("the partial last block", 20*pageSize, 1000)
	punch("to past the end", 19*pageSize-5, 3*pageSize)
	punch("past the end", 25*pageSize, pageSize)
	punch("zero length", 0, 0)
	err := unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE, 0, pageSize)
	o.add("punch without KEEP_SIZE: %s fstat=%s", en(err), fst(t, fd))
	closeFD(t, fd)
	o.add("reopened: %s", checkContent(t, p, model))

	// All of a file, ending in a partial block: zeros of the same size.
	q := filepath.Join(dir, "g")
	writeFile(t, q, pattern(3*pageSize+10, 42), 0o644)
	fd = mustOpen(t, q, unix.O_RDWR, 0)
	err = unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 1<<20)
	o.add("punch all: %s fstat=%s", en(err), fst(t, fd))
	closeFD(t, fd)
	o.add("g %s", checkContent(t, q, make([]byte, 3*pageSize+10)))
	return o.String()
}

// caseZeroRange: fallocate(ZERO_RANGE) with and without KEEP_SIZE, inside
// the file, across its end and past it.
func caseZeroRange(t *testing.T, dir string) string {
	requireFalloc(t, unix.FALLOC_FL_ZERO_RANGE, "ZERO_RANGE")
	var o obs
	p := filepath.Join(dir, "f")
	model := pattern(10*pageSize+500, 43)
	writeFile(t, p, model, 0o644)
	fd := mustOpen(t, p, unix.O_RDWR, 0)
	_ = preadFull(t, fd, len(model), 0) // fills the page cache
	zero := func(what string, mode uint32, off, n int64) {
		err := unix.Fallocate(fd, unix.FALLOC_FL_ZERO_RANGE|mode, off, n)
		if err == nil {
			if mode&unix.FALLOC_FL_KEEP_SIZE == 0 && off+n > int64(len(model)) {
				model = append(model, make([]byte, off+n-int64(len(model)))...)
			}
			zeroModel(model, off, n)
		}
		got := preadFull(t, fd, len(model)+pageSize, 0)
		if !bytes.Equal(got, model) {
			t.Errorf("after zeroing %s: %s", what, firstDiff(got, model))
		}
		o.add("zero %s [%d, %d): %s fstat=%s read=%s", what, off, off+n, en(err), fst(t, fd), sum(got))
	}
	zero("whole blocks", 0, pageSize, 2*pageSize)
	zero("unaligned", 0, 4*pageSize+100, 2*pageSize+300)
	zero("inside one block", unix.FALLOC_FL_KEEP_SIZE, 8*pageSize+1, 10)
	zero("across the end, KEEP_SIZE", unix.FALLOC_FL_KEEP_SIZE, 10*pageSize+400, 5000)
	zero("past the end, KEEP_SIZE", unix.FALLOC_FL_KEEP_SIZE, 12*pageSize, 5000)
	zero("across the end", 0, 10*pageSize+300, 5000)
	zero("past the end", 0, 14*pageSize+3, 2*pageSize)
	// The file grew: a write after its new end lands right.
	pwriteAll(t, fd, []byte("after"), 17*pageSize)
	model = append(model, make([]byte, 17*pageSize+5-len(model))...)
	copy(model[17*pageSize:], "after")
	closeFD(t, fd)
	o.add("reopened: %s", checkContent(t, p, model))

	// ZERO_RANGE on an empty file grows it like fallocate mode 0.
	q := filepath.Join(dir, "empty")
	fd = mustOpen(t, q, unix.O_CREAT|unix.O_RDWR, 0o644)
	err := unix.Fallocate(fd, unix.FALLOC_FL_ZERO_RANGE, 100, 10000)
	o.add("zero range on an empty file: %s fstat=%s", en(err), fst(t, fd))
	closeFD(t, fd)
	o.add("empty %s", checkContent(t, q, make([]byte, 10100)))
	return o.String()
}
