// Package cipher owns veilfs's key hierarchy and the gocryptfs-compatible
// content format: pure functions of bytes, no file I/O, no logging, no FUSE.
//
// What lives here, with the FORMAT.md (docs/FORMAT.md) section each part
// implements:
//
//   - HKDF-SHA256 subkey derivation with gocryptfs's info strings (§0, §3.1):
//     [HKDF], [NameKey], and the Info* constants.
//   - scrypt parameters and password -> KEK derivation (§2.2): [ScryptParams].
//   - master-key wrapping with AES-256-GCM and a 16-byte nonce (§2.3):
//     [WrapMasterKey], [UnwrapMasterKey].
//   - the 18-byte file header (§4.2): [MarshalHeader], [ParseHeader].
//   - per-block content encryption with AES-256-GCM, AES-SIV-512 or
//     XChaCha20-Poly1305 (§4.1-§4.4), including the all-zero "hole" rule:
//     [Content].
//   - size and offset arithmetic with gocryptfs's quirks (§4.5):
//     [Content.CipherSize], [Content.PlainSize], [Content.BlockCipherOffset].
//   - veilfs's own extra unlockers, outside the gocryptfs format (unlocker.go):
//     X25519 sealing of a key to a public key ([SealKey], [OpenSealedKey]),
//     encryption of an unlocker's private key under its KEK
//     ([SealPrivateKey]) and of its public key under the master key
//     ([SealPublicKey]), and the keyfile KEK ([KeyfileKEK]).
//
// Symlink targets (§6) and xattr values (§7) are single content blocks with
// block number 0 and a nil file ID; callers use [Content.SealBlock] and
// [Content.OpenBlock] for them. Name encryption is package nametransform's
// job; the config file is package cipher/config's.
//
// Legacy volumes without the HKDF feature flag (§3.2) are not supported.
//
// The package has no mutable package-level state. Secrets are kept in
// []byte and never appear in errors. Wiping ([Wipe], [Content.Wipe]) is best
// effort: the Go runtime may have copied key material (garbage collector,
// stack growth), and the AES and ChaCha20 implementations keep expanded key
// schedules that this package cannot reach.
package cipher
