package cipherdir

import "golang.org/x/sys/unix"

// RenameNoReplace renames old in olddirfd to new in newdirfd, failing with
// EEXIST instead of replacing an existing new (renameat2 RENAME_NOREPLACE).
func RenameNoReplace(olddirfd int, old string, newdirfd int, new string) error {
	return unix.Renameat2(olddirfd, old, newdirfd, new, unix.RENAME_NOREPLACE)
}

// RenameExchange swaps old in olddirfd and new in newdirfd atomically
// (renameat2 RENAME_EXCHANGE); both must exist.
func RenameExchange(olddirfd int, old string, newdirfd int, new string) error {
	return unix.Renameat2(olddirfd, old, newdirfd, new, unix.RENAME_EXCHANGE)
}
