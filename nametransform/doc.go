// Package nametransform encrypts and decrypts file names, long-name hashes,
// xattr names and the base64 encoding shared with symlink targets, exactly as
// gocryptfs v2 stores them (docs/FORMAT.md §5–§8).
//
// What it owns:
//
//   - Name encryption (FORMAT §5.2): cName = B64(EME(K_name, tweak=dirIV,
//     pad16(name))), where pad16 is PKCS#7 to a multiple of 16 bytes and EME
//     is github.com/rfjakob/eme over AES-256. The EME key arrives as bytes;
//     this package never imports package cipher.
//   - Strict decoding (FORMAT §5.3): names containing CR or LF, non-canonical
//     base64 (non-zero unused bits, wrong or missing '=' padding), empty or
//     non-multiple-of-16 ciphertext, bad PKCS#7 padding and invalid plaintext
//     names are all rejected with ErrCorruptName. Anything DecryptName
//     accepts re-encrypts to exactly the same cName, so one plaintext name
//     has exactly one spelling on disk.
//   - B64 (FORMAT §0): base64url, unpadded when the volume has Raw64, padded
//     otherwise. The same variant is used for names, long-name hashes,
//     symlink targets (§6) and xattr names (§7).
//   - Long names (FORMAT §5.4): a cName longer than LongNameMax (default 255)
//     is stored as "gocryptfs.longname." + B64(SHA256(cName)) with a
//     "….name" sidecar holding cName.
//   - Xattr names (FORMAT §7): "user.gocryptfs." + B64(EME(K_name,
//     tweak="xattr_name_iv_xx", pad16(name))); the two POSIX ACL names are
//     stored unencrypted.
//   - Reserved on-disk names (FORMAT §1, §8), see Classify:
//     gocryptfs.conf, gocryptfs.diriv, gocryptfs.conf.tmp,
//     gocryptfs.conf.bak, gocryptfs.diriv.rmdir.<n>, and every other name
//     starting with "gocryptfs." that is not a long-name object or sidecar.
//     Encrypted names never contain '.', so no reserved name can collide
//     with one.
//   - Sync clients' own files (SyncClientFile): .stfolder,
//     .syncthing.*.tmp, desktop.ini and the like, which a sync client puts
//     among the encrypted names and no encrypted name can be.
//
// What it does not own: reading or writing gocryptfs.diriv files and .name
// sidecars (that is fs/cipherdir), PlaintextNames volumes' name handling
// (names are stored as they are; only xattr names go through this package),
// and mapping errors to errno (that is fs). The package does no I/O, never
// logs, returns only its own sentinel errors (wrapped with context), has no
// package-level mutable state, and a *Transform is safe for concurrent use.
//
// Error messages never contain plaintext names.
package nametransform
