package cipherdir

import "golang.org/x/sys/unix"

// RenameNoReplace renames old in olddirfd to new in newdirfd, failing with
// EEXIST instead of replacing an existing new (renameatx_np RENAME_EXCL).
func RenameNoReplace(olddirfd int, old string, newdirfd int, new string) error {
	return unix.RenameatxNp(olddirfd, old, newdirfd, new, unix.RENAME_EXCL)
}

// RenameExchange swaps old in olddirfd and new in newdirfd atomically
// (renameatx_np RENAME_SWAP); both must exist.
func RenameExchange(olddirfd int, old string, newdirfd int, new string) error {
	return unix.RenameatxNp(olddirfd, old, newdirfd, new, unix.RENAME_SWAP)
}
