package cipher

// Primitives of veilfs's extra unlockers (cipher/config, "VeilfsUnlockers").
// They are not part of the gocryptfs format: gocryptfs ignores the config
// field that holds them.
//
// An unlocker is a way into a volume besides the gocryptfs password: its own
// password or a keyfile. Each one owns an X25519 key pair. The private key is
// kept encrypted under the unlocker's key-encryption key (KEK: scrypt of its
// password, or HKDF of its keyfile); the master key is sealed to the public
// key. Sealing needs only the public key, so whoever holds the master key
// (a key rotation, say) can seal a new master key to every unlocker without
// knowing their passwords or keyfiles.
//
// The seal is age's X25519 recipient stanza with AES-256-GCM in place of
// ChaCha20-Poly1305 and veilfs's own info string:
//
//	e  = 32 random bytes, E = X25519(e, basepoint)
//	ss = X25519(e, pub)                                   (refused if all zero)
//	wk = HKDF-SHA256(ikm = ss, salt = E ‖ pub, info = InfoSealKey, 32)
//	sealed = E ‖ AES-256-GCM(wk, nonce = 12 zero bytes, key, aad)
//
// The all-zero nonce is safe because wk is used once: every seal draws a
// fresh e. The public key itself is stored encrypted under a key derived
// from the master key ([SealPublicKey]): a seal can only be made by someone
// who knows the public key, so an attacker who can write gocryptfs.conf but
// never had the master key cannot seal a key of their choosing to an
// unlocker.
//
// Whoever once had the master key did learn the public keys, though, and a
// seal does not say who made it. So each unlocker also carries a
// commitment to the master key ([KeyCommitment]) that its private-key
// envelope authenticates: a key sealed by anyone else does not match it.
// Only the unlocker's secret can make a new commitment, which is why a key
// rotation re-enrols every unlocker with a fresh key pair.

import (
	"crypto/aes"
	gocipher "crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
)

// Sizes of the unlocker primitives.
const (
	// X25519KeySize is the length of an X25519 private or public key.
	X25519KeySize = curve25519.ScalarSize
	// SealedKeySize is the length of a sealed 32-byte key: E ‖ ciphertext ‖ tag.
	SealedKeySize = X25519KeySize + MasterKeySize + tagSize
	// EnvelopeSize is the length of an encrypted 32-byte key (private or
	// public): nonce(12) ‖ ciphertext(32) ‖ tag(16).
	EnvelopeSize = envelopeNonceSize + X25519KeySize + tagSize
	// MinKeyfileSize is the shortest keyfile accepted: a keyfile is a
	// secret key, so it must hold at least 256 bits.
	MinKeyfileSize = 32
	// KeyfileSaltSize is the length of the random HKDF salt stored with a
	// keyfile unlocker.
	KeyfileSaltSize = 32

	envelopeNonceSize = 12 // standard GCM nonce; envelopes use random nonces
)

// HKDF info strings of the unlocker primitives. Each key has its own, so no
// key derived for one purpose can be used for another.
const (
	// InfoSealKey derives the one-time key of a seal to an X25519 public key.
	InfoSealKey = "veilfs/v1 X25519 sealed key"
	// InfoUnlockerPrivateKey derives, from an unlocker's KEK, the key that
	// encrypts its X25519 private key.
	InfoUnlockerPrivateKey = "veilfs/v1 unlocker private key"
	// InfoUnlockerPublicKey derives, from the master key, the key that
	// encrypts the unlockers' public keys.
	InfoUnlockerPublicKey = "veilfs/v1 unlocker public key"
	// InfoKeyfile derives a keyfile unlocker's KEK from the keyfile bytes.
	InfoKeyfile = "veilfs/v1 keyfile KEK"
	// InfoKeyCommitment derives, from the master key, the HMAC key of an
	// unlocker's key commitment.
	InfoKeyCommitment = "veilfs/v1 unlocker key commitment"
)

// KeyCommitmentSize is the length of a [KeyCommitment].
const KeyCommitmentSize = sha256.Size

// KeyCommitment commits to the master key for one context (an unlocker's
// identity): HMAC-SHA256(HKDF(master, InfoKeyCommitment), context).
// HMAC-SHA256 is collision resistant in its key as well as its message, so
// no other master key gives the same value: an attacker who substitutes a
// key of their own cannot make it match. The value reveals nothing of the
// master key beyond letting a guess be checked, which 256 random bits
// make useless.
func KeyCommitment(master, context []byte) []byte {
	if len(master) != MasterKeySize {
		panic(fmt.Sprintf("cipher: key commitment: master key is %d bytes, want %d", len(master), MasterKeySize))
	}
	k := HKDF(master, InfoKeyCommitment, 32)
	defer Wipe(k)
	m := hmac.New(sha256.New, k)
	m.Write(context)
	return m.Sum(nil)
}

// NewX25519Key returns a fresh X25519 key pair. The caller wipes priv.
func NewX25519Key() (priv, pub []byte, err error) {
	priv = make([]byte, X25519KeySize)
	rand.Read(priv) // cannot fail since Go 1.24
	pub, err = X25519PublicKey(priv)
	if err != nil {
		Wipe(priv)
		return nil, nil, err
	}
	return priv, pub, nil
}

// X25519PublicKey returns the public key of priv.
func X25519PublicKey(priv []byte) ([]byte, error) {
	if len(priv) != X25519KeySize {
		return nil, fmt.Errorf("x25519: private key is %d bytes, want %d", len(priv), X25519KeySize)
	}
	pub, err := curve25519.X25519(priv, curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("x25519: %w", err)
	}
	return pub, nil
}

// SealKey seals a 32-byte key to the X25519 public key pub, bound to aad
// (see the file comment for the construction). Only the holder of the
// matching private key can open it, with the same aad.
func SealKey(pub, key, aad []byte) ([]byte, error) {
	e := make([]byte, X25519KeySize)
	defer Wipe(e)
	rand.Read(e)
	return sealKeyWith(pub, key, aad, e)
}

// sealKeyWith is SealKey with a given ephemeral private key: the seam for
// known-answer tests. Deliberately unexported (a reused e must never be an API).
func sealKeyWith(pub, key, aad, e []byte) ([]byte, error) {
	if len(pub) != X25519KeySize {
		return nil, fmt.Errorf("seal key: public key is %d bytes, want %d", len(pub), X25519KeySize)
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("seal key: key is %d bytes, want %d", len(key), MasterKeySize)
	}
	share, err := X25519PublicKey(e)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	ss, err := curve25519.X25519(e, pub)
	if err != nil {
		// A low-order public key: nobody could open the result.
		return nil, fmt.Errorf("seal key: unusable public key: %w", err)
	}
	defer Wipe(ss)
	a := sealAEAD(ss, share, pub)
	var nonce [12]byte
	out := make([]byte, 0, SealedKeySize)
	out = append(out, share...)
	return a.Seal(out, nonce[:], key, aad), nil
}

// OpenSealedKey reverses [SealKey] with the private key priv. A seal for
// another key pair, another aad, or a modified seal returns an error
// wrapping [ErrAuthFailed]. The caller wipes the result.
func OpenSealedKey(priv, sealed, aad []byte) ([]byte, error) {
	if len(sealed) != SealedKeySize {
		return nil, fmt.Errorf("open sealed key: it is %d bytes, want %d: %w", len(sealed), SealedKeySize, ErrAuthFailed)
	}
	pub, err := X25519PublicKey(priv)
	if err != nil {
		return nil, fmt.Errorf("open sealed key: %w", err)
	}
	share := sealed[:X25519KeySize]
	ss, err := curve25519.X25519(priv, share)
	if err != nil {
		// A low-order ephemeral share: not something SealKey writes.
		return nil, fmt.Errorf("open sealed key: invalid ephemeral key: %w", ErrAuthFailed)
	}
	defer Wipe(ss)
	var nonce [12]byte
	key, err := sealAEAD(ss, share, pub).Open(nil, nonce[:], sealed[X25519KeySize:], aad)
	if err != nil {
		return nil, fmt.Errorf("open sealed key: %w", ErrAuthFailed)
	}
	return key, nil
}

// sealAEAD is AES-256-GCM keyed with HKDF(ss, salt = share ‖ pub, InfoSealKey).
func sealAEAD(ss, share, pub []byte) gocipher.AEAD {
	salt := make([]byte, 0, 2*X25519KeySize)
	salt = append(append(salt, share...), pub...)
	wk := make([]byte, 32)
	defer Wipe(wk)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ss, salt, []byte(InfoSealKey)), wk); err != nil {
		panic("cipher: internal error: hkdf: " + err.Error())
	}
	return newGCM(wk)
}

// newGCM returns AES-256-GCM with the standard 12-byte nonce.
func newGCM(key []byte) gocipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("cipher: internal error: " + err.Error())
	}
	a, err := gocipher.NewGCM(b)
	if err != nil {
		panic("cipher: internal error: " + err.Error())
	}
	return a
}

// KeyfileKEK derives a keyfile unlocker's KEK: HKDF-SHA256(ikm = keyfile,
// salt, InfoKeyfile, 32). No slow KDF: a keyfile of at least
// [MinKeyfileSize] random bytes cannot be guessed, so stretching it would
// only cost time. The caller wipes the result.
func KeyfileKEK(keyfile, salt []byte) ([]byte, error) {
	if len(keyfile) < MinKeyfileSize {
		return nil, fmt.Errorf("keyfile is %d bytes, want at least %d", len(keyfile), MinKeyfileSize)
	}
	if len(salt) != KeyfileSaltSize {
		return nil, fmt.Errorf("keyfile salt is %d bytes, want %d", len(salt), KeyfileSaltSize)
	}
	kek := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, keyfile, salt, []byte(InfoKeyfile)), kek); err != nil {
		panic("cipher: internal error: hkdf: " + err.Error())
	}
	return kek, nil
}

// SealPrivateKey encrypts an unlocker's X25519 private key under its KEK:
// nonce ‖ AES-256-GCM(HKDF(kek, InfoUnlockerPrivateKey), nonce, priv, aad),
// with a fresh random nonce.
func SealPrivateKey(kek, priv, aad []byte) []byte {
	return sealEnvelope(kek, InfoUnlockerPrivateKey, priv, aad, nil)
}

// OpenPrivateKey reverses [SealPrivateKey]. A wrong KEK (wrong password or
// keyfile), another aad or a modified envelope return an error wrapping
// [ErrAuthFailed]. The caller wipes the result.
func OpenPrivateKey(kek, envelope, aad []byte) ([]byte, error) {
	return openEnvelope(kek, InfoUnlockerPrivateKey, envelope, aad)
}

// SealPublicKey encrypts an unlocker's public key under a key derived from
// the master key (InfoUnlockerPublicKey), so that only holders of the
// master key can seal to it (see the file comment).
func SealPublicKey(master, pub, aad []byte) []byte {
	return sealEnvelope(master, InfoUnlockerPublicKey, pub, aad, nil)
}

// OpenPublicKey reverses [SealPublicKey]. It fails with [ErrAuthFailed]
// for another master key, so it doubles as a check of the master key.
func OpenPublicKey(master, envelope, aad []byte) ([]byte, error) {
	return openEnvelope(master, InfoUnlockerPublicKey, envelope, aad)
}

func sealEnvelope(key []byte, info string, plain, aad, nonce []byte) []byte {
	if len(key) != 32 || len(plain) != X25519KeySize {
		panic(fmt.Sprintf("cipher: envelope: key %d bytes, content %d bytes; want 32 and %d", len(key), len(plain), X25519KeySize))
	}
	k := HKDF(key, info, 32)
	defer Wipe(k)
	out := make([]byte, envelopeNonceSize, EnvelopeSize)
	if nonce == nil {
		rand.Read(out)
	} else {
		copy(out, nonce)
	}
	return newGCM(k).Seal(out, out, plain, aad)
}

func openEnvelope(key []byte, info string, envelope, aad []byte) ([]byte, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("open envelope: key is %d bytes, want 32", len(key))
	}
	if len(envelope) != EnvelopeSize {
		return nil, fmt.Errorf("open envelope: it is %d bytes, want %d: %w", len(envelope), EnvelopeSize, ErrAuthFailed)
	}
	k := HKDF(key, info, 32)
	defer Wipe(k)
	plain, err := newGCM(k).Open(nil, envelope[:envelopeNonceSize], envelope[envelopeNonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w", ErrAuthFailed)
	}
	return plain, nil
}
