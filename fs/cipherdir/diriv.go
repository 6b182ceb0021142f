package cipherdir

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrBadDirIV is returned for a gocryptfs.diriv that is not exactly 16
// non-zero bytes (FORMAT §5.1).
var ErrBadDirIV = errors.New("invalid gocryptfs.diriv")

// dirIVPerm is what gocryptfs writes (FORMAT §1): the IV is not secret, and a
// world-readable IV keeps the volume usable when another user mounts it.
const dirIVPerm = 0o444

var zeroIV = make([]byte, nametransform.DirIVLen)

// ZeroIV returns the all-zero IV used by volumes without DirIV.
func ZeroIV() []byte { return zeroIV }

// ReadDirIV reads dirfd/gocryptfs.diriv. Every way the file can be wrong
// (missing, not a regular file, wrong size, all zero) matches ErrBadDirIV:
// in a DirIV volume each of them means a damaged or tampered directory.
func ReadDirIV(dirfd int) ([]byte, error) {
	fd, size, err := openRegularSize(dirfd, nametransform.DirIVFilename)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDirIV, err)
	}
	defer closeFD(fd)
	// The size from the stat that checked the type rules out an
	// over-long file without reading on to the end: every directory
	// operation that resolves a directory reads its IV, so the read
	// saved is one system call in nine there.
	if size != nametransform.DirIVLen {
		return nil, fmt.Errorf("%s has %d bytes: %w", nametransform.DirIVFilename, size, ErrBadDirIV)
	}
	buf := make([]byte, nametransform.DirIVLen)
	n, err := diskio.ReadFull(fd, buf)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", nametransform.DirIVFilename, err)
	}
	iv := buf[:n]
	if n != nametransform.DirIVLen || bytes.Equal(iv, zeroIV) {
		return nil, fmt.Errorf("%s has %d bytes: %w", nametransform.DirIVFilename, n, ErrBadDirIV)
	}
	return iv, nil
}

// WriteDirIV creates dirfd/gocryptfs.diriv with a fresh random IV. It never
// overwrites an existing IV file (O_EXCL) and removes a partial one.
//
// It does not fsync: like any new file, the IV becomes durable when its
// directory is fsynced (SyncDirIV, called from the directory's fsync), or
// with the backing filesystem's next writeback. An fsync per mkdir made
// unpacking a source tree markedly slower.
func WriteDirIV(dirfd int) error {
	iv := make([]byte, nametransform.DirIVLen)
	rand.Read(iv)
	return createDirIV(dirfd, iv)
}

// createDirIV creates dirfd/gocryptfs.diriv holding iv, with O_EXCL, and
// removes a partial file.
func createDirIV(dirfd int, iv []byte) error {
	fd, err := unix.Openat(dirfd, nametransform.DirIVFilename,
		unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, dirIVPerm)
	if err != nil {
		return fmt.Errorf("create %s: %w", nametransform.DirIVFilename, err)
	}
	_, werr := unix.Write(fd, iv)
	cerr := unix.Close(fd)
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = unix.Unlinkat(dirfd, nametransform.DirIVFilename, 0)
		return fmt.Errorf("write %s: %w", nametransform.DirIVFilename, werr)
	}
	return nil
}

// SyncDirIV flushes dirfd/gocryptfs.diriv to stable storage, so that a
// directory fsynced by the user cannot come back after a crash with a
// missing or empty IV. A volume without per-directory IVs has nothing to
// flush.
func (v *Volume) SyncDirIV(dirfd int) error {
	if !v.DirIV || v.PlaintextNames {
		return nil
	}
	fd, err := openRegular(dirfd, nametransform.DirIVFilename)
	if err != nil {
		return fmt.Errorf("sync %s: %w", nametransform.DirIVFilename, err)
	}
	defer closeFD(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("sync %s: %w", nametransform.DirIVFilename, err)
	}
	return nil
}

// openRegular opens name in dirfd for reading, refusing anything but a
// regular file. O_NONBLOCK keeps a FIFO planted in CIPHERDIR from blocking
// the open until a writer appears (it would hang the mount); O_NOFOLLOW
// refuses symlinks.
func openRegular(dirfd int, name string) (int, error) {
	fd, _, err := openRegularSize(dirfd, name)
	return fd, err
}

// openRegularSize is openRegular that also returns the file's size.
func openRegularSize(dirfd int, name string) (int, int64, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("open %s: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		closeFD(fd)
		return -1, 0, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		closeFD(fd)
		return -1, 0, fmt.Errorf("%s is not a regular file (mode %#o)", name, st.Mode&unix.S_IFMT)
	}
	return fd, st.Size, nil
}
