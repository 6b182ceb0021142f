// Package rotate re-encrypts a volume, in place and offline, under a fresh
// master key (veilfs rotate).
//
// It owns the rotation journal (gocryptfs.rotation in CIPHERDIR) and the
// order of operations that makes a rotation crash-safe and resumable: the
// new key goes into the journal only as the final config wraps it (under
// the password and the re-enrolled unlockers), never under the old key; the config is
// flagged so that mount and gocryptfs refuse the half-rotated volume, every
// object is rewritten and swapped in atomically, and the config switches to
// the new key in one rename at the end. Extra disk space is one object's
// copy at a time. The on-disk layout itself (names, sidecars, IVs, xattrs,
// symlinks) comes from fs/cipherdir.
package rotate
