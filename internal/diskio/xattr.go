package diskio

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// Buffer bounds of the xattr calls: a buffer grows by 4x on ERANGE up to
// these. Linux caps a list and a value at 64 KiB; the bounds only stop a
// filesystem that keeps answering ERANGE.
const (
	listStart, listMax = 256, 1 << 24
	getStart, getMax   = 256, 1 << 20
)

// ListXattrs returns the names of the xattrs of the object open at fd. A
// filesystem without xattrs (ENOTSUP) has none.
func ListXattrs(fd int) ([]string, error) {
	return ListXattrsWith(func(b []byte) (int, error) { return unix.Flistxattr(fd, b) })
}

// ListXattrsWith returns the xattr names that list, a listxattr call
// (flistxattr, llistxattr of a path), puts in its buffer, growing the
// buffer on ERANGE. ENOTSUP means no names.
func ListXattrsWith(list func([]byte) (int, error)) ([]string, error) {
	for size := listStart; ; size *= 4 {
		buf := make([]byte, size)
		n, err := list(buf)
		switch {
		case err == unix.ERANGE && size < listMax:
			continue
		case err == unix.ENOTSUP:
			return nil, nil
		case err != nil:
			return nil, err
		}
		var names []string
		for s := range bytes.SplitSeq(buf[:n], []byte{0}) {
			if len(s) > 0 {
				names = append(names, string(s))
			}
		}
		return names, nil
	}
}

// GetXattr returns the value of the xattr name of the object open at fd.
// The error is the system's (ENODATA/ENOATTR for a missing one).
func GetXattr(fd int, name string) ([]byte, error) {
	return GetXattrWith(func(b []byte) (int, error) { return unix.Fgetxattr(fd, name, b) })
}

// GetXattrWith returns the value that get, a getxattr call (fgetxattr,
// lgetxattr of a path), puts in its buffer, growing the buffer on ERANGE.
func GetXattrWith(get func([]byte) (int, error)) ([]byte, error) {
	for size := getStart; ; size *= 4 {
		buf := make([]byte, size)
		n, err := get(buf)
		if err == unix.ERANGE && size < getMax {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
