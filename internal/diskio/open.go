package diskio

import (
	"errors"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is OpenRead's error for a name that is not (or no longer)
// a regular file.
var ErrNotRegular = errors.New("no longer a regular file")

// OpenRead opens the regular file name in dirfd for reading without
// changing its atime: the offline tools leave no trace of having read a
// file, and a rotation keeps atimes (relatime would otherwise update every
// file whose ctime it changed). O_NOATIME needs ownership (or
// CAP_FOWNER); on EPERM the open is retried without it. O_NOFOLLOW: never
// through a symlink; O_NONBLOCK: a FIFO swapped in for the file never
// blocks. Anything but a regular file is closed again and refused with
// ErrNotRegular (the name could be swapped between a stat and the open).
func OpenRead(dirfd int, name string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd, err := OpenNoatime(func(f int) (int, error) { return unix.Openat(dirfd, name, f, 0) }, flags)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, ErrNotRegular
	}
	return fd, nil
}

// OpenDirNoatime opens dirfd's directory again for reading its entries
// without changing its atime (O_NOATIME, without it where refused): for
// scans that are no reads by a user, which a nodiratime mount must not
// show (xfstests generic/003).
func OpenDirNoatime(dirfd int) (int, error) {
	return OpenNoatime(func(f int) (int, error) { return unix.Openat(dirfd, ".", f, 0) },
		unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
}

// OpenNoatime calls open with flags|ONoatime and, if that is refused with
// EPERM (O_NOATIME is for the owner and CAP_FOWNER only), once more with
// flags alone. Where there is no O_NOATIME, open is called once.
func OpenNoatime(open func(flags int) (int, error), flags int) (int, error) {
	fd, err := open(flags | ONoatime)
	if err == unix.EPERM && ONoatime != 0 {
		fd, err = open(flags)
	}
	return fd, err
}
