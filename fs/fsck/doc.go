// Package fsck checks an unmounted volume for damage and, when asked,
// repairs what can be repaired without guessing (veilfs fsck).
//
// What it checks, against docs/FORMAT.md: gocryptfs.conf (every rule of
// §2.1, through config.Validate, and that each extra unlocker
// authenticates with the master key); an unfinished key rotation, which
// stops the check (half the files are under each key); every directory IV
// (§5.1: present, 16 bytes, not all zero, not shared with another
// directory); every name (§5.3: decrypts to a valid name; a long name has
// a sidecar whose content hashes to it, §5.4; no sidecar without its
// entry; a sync client's conflict copy is noted, not counted); every file
// header and block (§4: a valid header, every block authenticates under
// its number and the file ID, all-zero full blocks are holes, a last block
// too short to hold data means a cut file; 0-byte and 18-byte header-only
// files are valid); every symlink target (§6); every encrypted xattr name
// and value (§7); and leftovers of interrupted gocryptfs or veilfs
// operations. Names not being authenticated, a name that decrypts is all
// that can be said of it.
//
// What --repair does (Options.Repair), each step safe at any instant of a
// crash and never deleting data:
//
//   - a missing or invalid IV of a directory that holds no encrypted name
//     is replaced by a fresh one (nothing was encrypted under it);
//   - a directory that shares its IV with another (found earlier in the
//     walk, the root first) gets a fresh IV and its names are
//     re-encrypted under it, when every name in it decrypts exactly (see
//     reiv.go for how a crash is survived);
//   - a long-name sidecar without its entry is removed (it is only ever
//     read through the entry);
//   - an empty temporary of ours (gocryptfs.conf.tmp, gocryptfs.rotate.*,
//     ...) is removed;
//   - an entry whose name does not decrypt (not a conflict copy) and a
//     file whose header is invalid are moved, with one rename each, into
//     a quarantine directory "veilfs-quarantine-YYYYMMDD-HHMMSS" (UTC) in
//     the root of the volume: an ordinary encrypted directory, so the
//     mount shows it, with names that say where each entry came from.
//
// Everything else is reported and left alone: a file with bad blocks (the
// rest of it is readable), a cut file, a bad symlink or xattr, a missing
// IV of a directory with names in it (a new IV would not decrypt them:
// restore the old one), a damaged config or unlocker, and leftovers that
// hold data.
//
// The package reads and writes CIPHERDIR only through fs/cipherdir's
// layout rules and *at system calls; it never logs, prompts or exits, and
// does not import the FUSE layer. The report (report.go) is the contract
// of `veilfs fsck --json`.
package fsck
