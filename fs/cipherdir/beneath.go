package cipherdir

import (
	"strings"

	"golang.org/x/sys/unix"
)

// openBeneathPortable opens rel beneath dirfd as openat2 with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS does, with nothing but openat: it is
// OpenBeneath on systems without openat2, and built everywhere so that its
// tests run on Linux against the kernel's version.
//
// rel is walked one component at a time, every directory on the way opened
// with O_RDONLY|O_DIRECTORY|O_NOFOLLOW relative to the one before, and the
// last component with flags|O_NOFOLLOW, all O_CLOEXEC. No symlink is
// followed, in any component: one fails with ELOOP, as under
// RESOLVE_NO_SYMLINKS. The walk cannot leave dirfd because rel must be
// made of plain names: an absolute path or a ".." component fails with
// EXDEV (openat2's error for an escape; it is stricter, openat2 allows a
// ".." that stays beneath), an empty component ("a//b", "a/") or a "."
// component with EINVAL. rel "." alone opens dirfd itself; "" fails with
// ENOENT, as with openat2. The error is the bare errno, like unix.Openat2's.
func openBeneathPortable(dirfd int, rel string, flags int) (int, error) {
	if rel == "" {
		return -1, unix.ENOENT // as openat2 says
	}
	if strings.HasPrefix(rel, "/") {
		return -1, unix.EXDEV
	}
	if strings.IndexByte(rel, 0) >= 0 {
		return -1, unix.EINVAL
	}
	comps := []string{"."}
	if rel != "." {
		comps = strings.Split(rel, "/")
		for _, c := range comps {
			switch c {
			case "..":
				return -1, unix.EXDEV
			case "", ".":
				return -1, unix.EINVAL
			}
		}
	}
	cur := dirfd
	for i, c := range comps {
		fl := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(comps)-1 {
			fl = flags | unix.O_NOFOLLOW | unix.O_CLOEXEC
		}
		fd, err := unix.Openat(cur, c, fl, 0)
		if err != nil && isSymlinkAt(cur, c) {
			// O_NOFOLLOW with O_DIRECTORY says ENOTDIR on Linux, and
			// FreeBSD says EMLINK: a symlink is ELOOP, whatever the system.
			err = unix.ELOOP
		}
		if cur != dirfd {
			closeFD(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = fd
	}
	return cur, nil
}

// isSymlinkAt reports whether name in dirfd is a symlink.
func isSymlinkAt(dirfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}
