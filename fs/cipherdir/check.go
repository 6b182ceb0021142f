package cipherdir

// What an offline checker (veilfs fsck, fs/fsck) needs from the layout
// beyond what a mount uses: the ways a directory IV can be wrong told
// apart (a mount only needs "usable or not"), and replacing a damaged IV
// of an empty directory atomically. Whether CIPHERDIR is mounted right now
// is internal/mounttable's.

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// DirIVState is what InspectDirIV found.
type DirIVState int

const (
	// DirIVOK: 16 bytes, not all zero (FORMAT §5.1).
	DirIVOK DirIVState = iota
	// DirIVMissing: there is no gocryptfs.diriv.
	DirIVMissing
	// DirIVInvalid: wrong size, all zero, or not a regular file.
	DirIVInvalid
	// DirIVUnreadable: it exists but could not be opened or read (a
	// permission or I/O error): nothing is known about its content.
	DirIVUnreadable
)

// InspectDirIV reads dirfd/gocryptfs.diriv like ReadDirIV, but tells the
// caller which of the ways it can be wrong applies, so that a checker can
// say "missing" rather than "invalid" and repair only what is safe. err
// describes the problem for every state but DirIVOK.
func InspectDirIV(dirfd int) (iv []byte, state DirIVState, err error) {
	// O_NONBLOCK: a FIFO planted under the name must not block us.
	fd, err := unix.Openat(dirfd, nametransform.DirIVFilename, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENOENT:
		return nil, DirIVMissing, fmt.Errorf("%s is missing", nametransform.DirIVFilename)
	case err == unix.ELOOP:
		return nil, DirIVInvalid, fmt.Errorf("%s is a symlink", nametransform.DirIVFilename)
	case err != nil:
		return nil, DirIVUnreadable, fmt.Errorf("open %s: %w", nametransform.DirIVFilename, err)
	}
	defer closeFD(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, DirIVUnreadable, fmt.Errorf("stat %s: %w", nametransform.DirIVFilename, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, DirIVInvalid, fmt.Errorf("%s is not a regular file (mode %#o)", nametransform.DirIVFilename, st.Mode&unix.S_IFMT)
	}
	buf := make([]byte, nametransform.DirIVLen+1)
	n, err := diskio.ReadFull(fd, buf)
	if err != nil {
		return nil, DirIVUnreadable, fmt.Errorf("read %s: %w", nametransform.DirIVFilename, err)
	}
	switch {
	case n != nametransform.DirIVLen:
		return nil, DirIVInvalid, fmt.Errorf("%s has %d bytes, want %d", nametransform.DirIVFilename, st.Size, nametransform.DirIVLen)
	case bytes.Equal(buf[:n], zeroIV):
		return nil, DirIVInvalid, fmt.Errorf("%s is all zero", nametransform.DirIVFilename)
	}
	return buf[:n], DirIVOK, nil
}

// ReplaceDirIV gives the directory open at dirfd (a readable descriptor,
// not O_PATH: it is fsynced) a fresh random IV, replacing whatever
// gocryptfs.diriv holds in one rename. It is only safe for a directory
// that holds no encrypted name: every name in it would stop decrypting.
// The new IV is durable when ReplaceDirIV returns.
func ReplaceDirIV(dirfd int) error {
	iv := make([]byte, nametransform.DirIVLen)
	rand.Read(iv)
	_ = unix.Unlinkat(dirfd, DirIVTmpName, 0) // our own leftover, if any
	fd, err := unix.Openat(dirfd, DirIVTmpName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, dirIVPerm)
	if err != nil {
		return fmt.Errorf("create %s: %w", DirIVTmpName, err)
	}
	_, err = unix.Write(fd, iv)
	if err == nil {
		err = unix.Fsync(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dirfd, DirIVTmpName, dirfd, nametransform.DirIVFilename)
	}
	if err != nil {
		_ = unix.Unlinkat(dirfd, DirIVTmpName, 0)
		return fmt.Errorf("replace %s: %w", nametransform.DirIVFilename, err)
	}
	if err := unix.Fsync(dirfd); err != nil {
		return fmt.Errorf("replace %s: fsync directory: %w", nametransform.DirIVFilename, err)
	}
	return nil
}
