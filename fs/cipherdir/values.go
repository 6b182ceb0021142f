package cipherdir

import (
	"errors"
	"fmt"
)

// ErrTargetTooLong is returned for a symlink target whose encrypted form
// does not fit the 4095 bytes Linux allows (FORMAT §6).
var ErrTargetTooLong = errors.New("symlink target too long")

// MaxLinkLen is the longest symlink content Linux stores (PATH_MAX - 1).
const MaxLinkLen = 4095

// EncryptLink turns a plaintext symlink target into the stored link content
// (FORMAT §6): one content block numbered 0 without file ID, base64 encoded
// like names. Plaintext-names volumes store targets as they are.
func (v *Volume) EncryptLink(target string) (string, error) {
	if v.PlaintextNames {
		if len(target) > MaxLinkLen {
			return "", ErrTargetTooLong
		}
		return target, nil
	}
	if target == "" {
		return "", nil
	}
	// Cheap bound first: base64 of the sealed block must fit.
	if (len(target)+v.Content.Overhead())*4/3 > MaxLinkLen {
		return "", ErrTargetTooLong
	}
	stored := v.Names.EncodeBase64(v.Content.SealBlock(nil, []byte(target), 0, nil))
	if len(stored) > MaxLinkLen {
		return "", ErrTargetTooLong
	}
	return stored, nil
}

// DecryptLink reverses EncryptLink.
func (v *Volume) DecryptLink(stored string) (string, error) {
	if v.PlaintextNames || stored == "" {
		return stored, nil
	}
	raw, err := v.Names.DecodeBase64(stored)
	if err != nil {
		return "", fmt.Errorf("decode symlink target: %w", err)
	}
	plain, err := v.Content.OpenBlock(nil, raw, 0, nil)
	if err != nil {
		return "", fmt.Errorf("decrypt symlink target: %w", err)
	}
	return string(plain), nil
}

// LinkTargetSize returns the plaintext length of a symlink target from
// the length of its stored content (the backing link's st_size), without
// reading the link: a readlink on the backing filesystem moves the link's
// atime (relatime), so an lstat after lutimes would report another atime
// than the one just set. The length follows from FORMAT §6: unpadded
// base64 of nonce ‖ ciphertext ‖ tag. With padded base64 (no Raw64) the
// padding is only seen in the content, and a length no EncryptLink can
// produce is left to the content to judge (DecryptLink reports it): ok is
// false for both, and the caller reads the link.
func (v *Volume) LinkTargetSize(stored int64) (size int64, ok bool) {
	switch {
	case v.PlaintextNames || stored == 0:
		return stored, true
	case !v.Names.Raw64() || stored%4 == 1:
		return 0, false
	}
	size = stored*6/8 - int64(v.Content.Overhead()) // base64.RawURLEncoding.DecodedLen
	if size <= 0 {
		// An empty target is stored empty, so a sealed one holds a byte.
		return 0, false
	}
	return size, true
}

// EncryptXattrValue seals an xattr value (FORMAT §7); empty stays empty.
func (v *Volume) EncryptXattrValue(value []byte) []byte {
	if len(value) == 0 {
		return nil
	}
	return v.Content.SealBlock(nil, value, 0, nil)
}

// DecryptXattrValue opens a stored xattr value, with gocryptfs's fallback
// for very old volumes that stored it base64 encoded.
func (v *Volume) DecryptXattrValue(stored []byte) ([]byte, error) {
	if len(stored) == 0 {
		return nil, nil
	}
	plain, err := v.Content.OpenBlock(nil, stored, 0, nil)
	if err == nil {
		return plain, nil
	}
	if raw, derr := v.Names.DecodeBase64(string(stored)); derr == nil {
		if plain, err2 := v.Content.OpenBlock(nil, raw, 0, nil); err2 == nil {
			return plain, nil
		}
	}
	return nil, fmt.Errorf("decrypt xattr value: %w", err)
}
