// Package cipherdir owns the ciphertext directory (CIPHERDIR) as it lies on
// disk: the config file, the per-directory IV files (gocryptfs.diriv), the
// long-name sidecars (gocryptfs.longname.*.name), the reserved names, and the
// procedures that keep them consistent (mkdir writes the IV, rmdir moves it
// aside first, long names get their sidecar before the object).
//
// It also assembles an unlocked Volume (config + content cipher + name
// transform) from a password or a master key. The FUSE nodes, fsck and key
// rotation all go through this package, so the layout rules of
// docs/FORMAT.md §1, §5.1, §5.4-§5.7 and §8 live in exactly one place.
// keycheck.go tells whether a master key is the volume's by looking at its
// files, since nothing in gocryptfs.conf can (Volume.CheckKey).
//
// For a reverse volume (FORMAT §10) Volume.Dir is the plaintext directory;
// what its encrypted view shows is computed in fs/reverse/view, on top of
// this package (which does not import it).
//
// Every backing-file access is relative to a directory file descriptor
// (*at system calls), and directories are opened with openat2 and
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS (at_linux.go; elsewhere one
// component at a time with O_NOFOLLOW, beneath.go), so a symlink planted in
// CIPHERDIR can never make us operate outside it. The system calls that
// only Linux has are in *_linux.go files, with what other systems get
// instead in *_other.go (or _darwin.go, _freebsd.go); the Linux build is
// the one tested. The package does not import go-fuse and
// does not log; callers get wrapped errors.
package cipherdir
