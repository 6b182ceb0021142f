package fs

import "golang.org/x/sys/unix"

// punchHole deallocates [off, off+length) of the file, which then reads
// as zeros, without changing its size.
func punchHole(fd int, off, length int64) error {
	return unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, length)
}
