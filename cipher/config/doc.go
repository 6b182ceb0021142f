// Package config owns the volume config file gocryptfs.conf (FORMAT.md §2,
// docs/FORMAT.md): its JSON schema and exact byte layout, the feature
// flags (§11), the validation rules of §2.1, password handling (§2.2),
// master-key wrapping through package cipher (§2.3), password change
// (re-wrap, §2.4) and the crash-safe write (§2.4).
//
// It is the only part of the cipher tree that does file I/O, and only in
// [Load] and [File.Save]. It never logs and imports nothing of ours except
// package cipher.
//
// Feature flags follow ext4 semantics: a flag we do not know means refuse
// ([UnsupportedFeatureError]), because it names a format change we would
// misread. Legacy volumes without HKDF (gocryptfs <= 1.2) are refused too.
// The FIDO2 object is kept opaque so such a volume can be parsed and
// re-saved byte for byte, but unlocking it returns an
// [UnsupportedFeatureError]: veilfs cannot talk to FIDO2 tokens.
//
// veilfs's own extra unlockers (unlockers.go) are kept in one more
// top-level field, VeilfsUnlockers, that gocryptfs ignores and that is
// omitted when empty, so a volume without them keeps gocryptfs's exact
// bytes. [File.UnlockWithPassword] tries the primary password, then every
// password unlocker; [File.ReenrolUnlockers] gives the unlockers a key
// rotation keeps fresh key pairs committed to the new master key.
//
// The format record (format.go) is one more such field, VeilfsFormat: the
// format fields with an HMAC under a key derived from the master key, so
// that a CIPHERDIR writer who changes a flag (PlaintextNames, say) is
// caught once the volume is unlocked ([File.VerifyFormat]).
//
// Tests and tools that need a cheap KDF use CreateOptions.LogN =
// cipher.MinScryptLogN (N = 1024), the same floor gocryptfs accepts.
package config
