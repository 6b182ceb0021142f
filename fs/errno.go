package fs

import (
	"errors"
	"syscall"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// toErrno is the one place where errors become errno values.
func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	switch {
	case isCorruption(err):
		// Before the errno check: a damaged IV file or sidecar wraps the
		// errno of the failed open (ENOENT, ELOOP), which would otherwise
		// make a damaged directory look empty or missing.
		return syscall.EIO
	case errors.Is(err, errStale):
		// The kernel answers ESTALE from open, stat and the other path
		// calls with one retry after a fresh lookup (identity.go).
		return syscall.ESTALE
	case errors.As(err, &errno):
		return errno
	case errors.Is(err, nametransform.ErrNameTooLong), errors.Is(err, cipherdir.ErrTargetTooLong):
		return syscall.ENAMETOOLONG
	case errors.Is(err, nametransform.ErrXattrNameTooLong):
		return syscall.ERANGE
	case errors.Is(err, nametransform.ErrInvalidName):
		return syscall.EINVAL
	case errors.Is(err, cipherdir.ErrReservedName):
		return syscall.EPERM
	default:
		return syscall.EIO
	}
}

// isCorruption reports whether err means the ciphertext is damaged or was
// tampered with, as opposed to an ordinary system-call failure.
func isCorruption(err error) bool {
	for _, target := range []error{
		cipher.ErrAuthFailed, cipher.ErrBadHeader, cipherdir.ErrBadDirIV,
		cipherdir.ErrBadSidecar, nametransform.ErrCorruptName,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// fail maps err to an errno and reports corruption of the ciphertext object
// at cpath through the mount's logger.
func (r *root) fail(cpath string, err error) syscall.Errno {
	if isCorruption(err) {
		r.reportCorruption(cpath, err)
	}
	return toErrno(err)
}

// failAt is fail for the entry disk of d, whose path is worked out only
// when there is corruption to report: it costs a name encryption per
// directory level, and the common failure (ENOENT from a lookup) has
// nothing to report.
func (r *root) failAt(d *dirHandle, disk string, err error) syscall.Errno {
	if !isCorruption(err) {
		return toErrno(err)
	}
	return r.fail(d.childPath(disk), err)
}

// fail maps err, about n's own backing object, to an errno, reporting
// corruption with n's ciphertext path, worked out only when there is
// something to report.
func (n *Node) fail(err error) syscall.Errno {
	if !isCorruption(err) {
		return toErrno(err)
	}
	p, perr := n.cipherPath()
	if perr != nil {
		p = "(unlinked)"
	}
	return n.r.fail(p, err)
}
