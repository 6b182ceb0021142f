// Package diskio holds the system-call primitives that every tool reading
// or writing CIPHERDIR (the FUSE data path, reverse mode, fsck, rotate and
// fs/cipherdir) shares: full positional reads and writes, xattr listing
// and reading, directory listing, opens that leave atime alone, and the
// test for an all-zero (hole) block.
//
// It knows nothing of the CIPHERDIR layout, of names or of keys, and it
// imports only the standard library and golang.org/x/sys/unix, so each
// tool keeps its own policy (what to open, what an error means) and
// shares only how the system is asked. Errors are the system's, unwrapped
// where a caller compares them (EINTR is retried here, never returned).
package diskio
