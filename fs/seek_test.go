//go:build linux

package fs

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestSeekCiphertext: SEEK_DATA and SEEK_HOLE find the blocks that are
// holes (all-zero ciphertext blocks), also where a backing block holding
// another block's data covers their edges; a partial last block is data,
// even of zeros; ENXIO at the end.
func TestSeekCiphertext(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	const blk = 4096
	data := make([]byte, 12*blk+100)
	rand.Read(data)
	p := filepath.Join(tm.mnt, "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	// Blocks 2-8 and 10-11 holes, in punches that leave backing blocks
	// shared with data at their edges; block 12 (partial) zeros.
	for _, r := range [][2]int64{{2 * blk, 6 * blk}, {8 * blk, blk}, {10 * blk, 3 * blk}} {
		if err := unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, r[0], r[1]); err != nil {
			t.Fatalf("punch %v: %v", r, err)
		}
	}
	for _, c := range []struct {
		off    int64
		whence int
		want   int64
	}{
		{0, unix.SEEK_HOLE, 2 * blk}, {3*blk + 7, unix.SEEK_HOLE, 3*blk + 7}, {2 * blk, unix.SEEK_DATA, 9 * blk},
		{9 * blk, unix.SEEK_HOLE, 10 * blk}, {10*blk + 1, unix.SEEK_DATA, 12 * blk}, {12 * blk, unix.SEEK_HOLE, 12*blk + 100},
		{12*blk + 100, unix.SEEK_DATA, -1}, {12*blk + 100, unix.SEEK_HOLE, -1},
	} {
		got, err := unix.Seek(fd, c.off, c.whence)
		if c.want < 0 && err != unix.ENXIO || c.want >= 0 && (err != nil || got != c.want) {
			t.Errorf("lseek(%d, whence %d) = %d, %v; want %d", c.off, c.whence, got, err, c.want)
		}
	}
}
