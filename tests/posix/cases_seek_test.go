//go:build linux

package posix

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// holeMap lists the data ranges of the open file as SEEK_DATA and
// SEEK_HOLE report them, widened to whole 4 KiB blocks (and cut at the
// end of the file).
func holeMap(t testing.TB, fd int) string {
	t.Helper()
	size := fsize(t, fd)
	var out []string
	for off := int64(0); off < size; {
		d, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		must(t, err, fmt.Sprintf("SEEK_DATA from %d", off))
		h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
		must(t, err, fmt.Sprintf("SEEK_HOLE from %d", d))
		if d < off || h <= d || h > size {
			t.Fatalf("SEEK_DATA from %d = %d, SEEK_HOLE from there = %d (size %d)", off, d, h, size)
		}
		out = append(out, fmt.Sprintf("[%d,%d)", d/pageSize*pageSize, min(size, (h+pageSize-1)/pageSize*pageSize)))
		off = h
	}
	return fmt.Sprintf("%v", out)
}

// caseSeekHoles: SEEK_DATA and SEEK_HOLE on a file with holes left by
// writes past the end, by PUNCH_HOLE and by ZERO_RANGE, from aligned and
// unaligned offsets, at and past the end; then the holes survive `cp`
// (which finds them with SEEK_DATA/SEEK_HOLE) and `cp --sparse=always`.
func caseSeekHoles(t *testing.T, dir string) string {
	requireFalloc(t, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, "PUNCH_HOLE")
	var o obs
	p := filepath.Join(dir, "sparse")
	fd := mustOpen(t, p, unix.O_CREAT|unix.O_RDWR, 0o644)
	pwriteAll(t, fd, pattern(2*pageSize, 44), 0)             // blocks 0-1
	pwriteAll(t, fd, []byte("in block ten"), 10*pageSize+50) // block 10
	pwriteAll(t, fd, pattern(30*pageSize+500, 45), 31*pageSize)
	must(t, unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 45*pageSize, 10*pageSize), "punch")
	must(t, unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 50*pageSize-100, 200), "punch")
	must(t, unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 58*pageSize+10, 3*pageSize), "punch")
	size := fsize(t, fd)
	o.add("size=%d", size)
	o.add("map %s", holeMap(t, fd))
	for _, off := range []int64{0, 100, 2 * pageSize, 5*pageSize + 7, 10 * pageSize, 10*pageSize + 4095, 11 * pageSize,
		30*pageSize + 1, 45 * pageSize, 50 * pageSize, 54*pageSize + 9, 58 * pageSize, 59*pageSize + 5, 61 * pageSize,
		size - 1, size, size + 1, size + 5*pageSize} {
		d, derr := unix.Seek(fd, off, unix.SEEK_DATA)
		h, herr := unix.Seek(fd, off, unix.SEEK_HOLE)
		if derr != nil {
			d = -1
		}
		if herr != nil {
			h = -1
		}
		o.add("from %d: SEEK_DATA=%d %s SEEK_HOLE=%d %s", off, d, en(derr), h, en(herr))
	}
	// A file that is all hole but for a final partial block.
	q := filepath.Join(dir, "tail")
	qfd := mustOpen(t, q, unix.O_CREAT|unix.O_RDWR, 0o644)
	pwriteAll(t, qfd, []byte("end"), 40*pageSize+1)
	o.add("tail: map %s", holeMap(t, qfd))
	d, err := unix.Seek(qfd, 0, unix.SEEK_DATA)
	o.add("tail: SEEK_DATA from 0 = %d %s", d, en(err))
	closeFD(t, qfd)
	closeFD(t, fd)

	// What a user sees: copies that stay sparse.
	for _, args := range [][]string{{}, {"--sparse=always"}} {
		dst := filepath.Join(dir, fmt.Sprintf("copy%d", len(args)))
		out, err := exec.Command("cp", append(args, p, dst)...).CombinedOutput()
		if err != nil {
			t.Fatalf("cp %v: %v\n%s", args, err, out)
		}
		cfd := mustOpen(t, dst, unix.O_RDONLY, 0)
		o.add("cp %v: map %s", args, holeMap(t, cfd))
		closeFD(t, cfd)
	}
	return o.String()
}
