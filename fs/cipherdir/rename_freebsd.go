package cipherdir

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// RenameNoReplace renames old in olddirfd to new in newdirfd, failing with
// EEXIST instead of replacing an existing new. FreeBSD has no
// RENAME_NOREPLACE: a file is moved with link and unlink, which fails on
// an existing name as rename must (for a moment both names exist); a
// directory is checked for and then renamed, which leaves a window in which
// a concurrently created empty directory of that name would be replaced (a
// non-empty one, such as every ciphertext directory with its
// gocryptfs.diriv, makes rename fail with ENOTEMPTY).
func RenameNoReplace(olddirfd int, old string, newdirfd int, new string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(olddirfd, old, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Linkat(olddirfd, old, newdirfd, new, 0); err != nil {
			return err
		}
		return unix.Unlinkat(olddirfd, old, 0)
	}
	var nst unix.Stat_t
	switch err := unix.Fstatat(newdirfd, new, &nst, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		return unix.EEXIST
	case err != unix.ENOENT:
		return err
	}
	return unix.Renameat(olddirfd, old, newdirfd, new)
}

// RenameExchange would swap two names atomically; FreeBSD cannot, and the
// repairs that need it fail with an error that is unix.ENOTSUP.
func RenameExchange(olddirfd int, old string, newdirfd int, new string) error {
	return fmt.Errorf("exchanging two names atomically (RENAME_EXCHANGE) is not supported on this system: %w", unix.ENOTSUP)
}
