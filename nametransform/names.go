package nametransform

import (
	"crypto/aes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rfjakob/eme"
)

// On-disk constants. Each names its FORMAT.md section.
const (
	// DirIVLen is the length of a directory IV and of gocryptfs.diriv (§5.1).
	DirIVLen = 16
	// DirIVFilename is the per-directory IV file (§1, §5.1).
	DirIVFilename = "gocryptfs.diriv"
	// LongNamePrefix starts a hashed long name (§5.4).
	LongNamePrefix = "gocryptfs.longname."
	// LongNameSuffix ends a long name's sidecar (§5.4).
	LongNameSuffix = ".name"
	// NameMax is the longest valid plaintext name in bytes (§5.3 step 5, §8).
	NameMax = 255
	// ReservedPrefix starts every name gocryptfs reserves for itself (§1, §8).
	ReservedPrefix = "gocryptfs."
	// EMEKeyLen is the length of K_name, an AES-256 key (§3.1).
	EMEKeyLen = 32
	// MinLongNameMax is the smallest accepted LongNameMax: a hashed name is
	// 62 characters with Raw64 (§2.1, §5.4).
	MinLongNameMax = 62
	// MaxSidecarLen is the longest valid sidecar content: B64 of 256 bytes
	// with padding (§5.4).
	MaxSidecarLen = 344
)

// blockSize is the EME/AES block size that PKCS#7 pads to (§5.2).
const blockSize = aes.BlockSize

// maxNameCipherLen is the longest decoded name ciphertext that can hold a
// valid name: pad16 of 255 bytes (§5.3, §5.4). Checking it before EME also
// keeps us inside EME's 128-block limit, where rfjakob/eme would panic.
const maxNameCipherLen = NameMax/blockSize*blockSize + blockSize

// Sentinel errors. They are always returned wrapped with context; test with
// errors.Is. They are never syscall.Errno: package fs maps them.
var (
	// ErrInvalidName: a plaintext name (file or xattr) that may not be
	// created: empty, '/', NUL, "." or "..". (fs: EINVAL)
	ErrInvalidName = errors.New("invalid name")
	// ErrNameTooLong: a plaintext file name over NameMax bytes.
	// (fs: ENAMETOOLONG)
	ErrNameTooLong = errors.New("name too long")
	// ErrCorruptName: a stored name (file name, xattr name, symlink base64)
	// that fails strict decoding or decryption. (fs: skip the entry, or EIO)
	ErrCorruptName = errors.New("corrupt encrypted name")
	// ErrBadDirIV: a directory IV that is not DirIVLen bytes.
	ErrBadDirIV = errors.New("invalid directory IV")
)

// Options are the volume's name-format choices, taken from the config file.
type Options struct {
	// Raw64 selects unpadded base64url (feature flag Raw64, §0).
	Raw64 bool
	// LongNameMax is the long-name threshold (§5.4); 0 means NameMax (255).
	LongNameMax int
}

// Transform encrypts and decrypts names for one volume. It holds the
// expanded AES key schedule of K_name and no other state; it is immutable
// after New and safe for concurrent use.
type Transform struct {
	eme         *eme.EMECipher
	b64         *base64.Encoding
	raw64       bool
	longNameMax int
}

// New returns a Transform for K_name (32 bytes, §3.1). New does not keep
// emeKey; the caller may wipe it afterwards.
func New(emeKey []byte, opts Options) (*Transform, error) {
	if len(emeKey) != EMEKeyLen {
		return nil, fmt.Errorf("nametransform: EME key must be %d bytes, got %d", EMEKeyLen, len(emeKey))
	}
	lnm := opts.LongNameMax
	if lnm == 0 {
		lnm = NameMax
	}
	if lnm < MinLongNameMax || lnm > NameMax {
		return nil, fmt.Errorf("nametransform: LongNameMax %d out of range %d..%d", opts.LongNameMax, MinLongNameMax, NameMax)
	}
	block, err := aes.NewCipher(emeKey)
	if err != nil {
		return nil, fmt.Errorf("nametransform: %w", err)
	}
	enc := base64.URLEncoding.Strict()
	if opts.Raw64 {
		enc = base64.RawURLEncoding.Strict()
	}
	return &Transform{eme: eme.New(block), b64: enc, raw64: opts.Raw64, longNameMax: lnm}, nil
}

// Raw64 reports whether the volume uses unpadded base64.
func (t *Transform) Raw64() bool { return t.raw64 }

// LongNameMax returns the effective long-name threshold (never 0).
func (t *Transform) LongNameMax() int { return t.longNameMax }

// EncryptName returns the B64 cName of a plaintext name under dirIV (§5.2).
// The result may be longer than LongNameMax; see IsLong and EncryptDiskName.
// Errors: ErrNameTooLong (> NameMax bytes), ErrInvalidName, ErrBadDirIV.
func (t *Transform) EncryptName(plain string, dirIV []byte) (string, error) {
	if err := ValidName(plain); err != nil {
		return "", fmt.Errorf("encrypt name: %w", err)
	}
	if len(dirIV) != DirIVLen {
		return "", fmt.Errorf("encrypt name: %w: length %d", ErrBadDirIV, len(dirIV))
	}
	return t.encrypt(plain, dirIV), nil
}

// EncryptDiskName returns the name to use in the ciphertext directory. For a
// long name (§5.4), diskName is the hashed gocryptfs.longname.* name and
// sidecar is the content of its .name file (the full cName); otherwise
// sidecar is "".
func (t *Transform) EncryptDiskName(plain string, dirIV []byte) (diskName, sidecar string, err error) {
	cname, err := t.EncryptName(plain, dirIV)
	if err != nil {
		return "", "", err
	}
	if t.IsLong(cname) {
		return t.HashLongName(cname), cname, nil
	}
	return cname, "", nil
}

// encrypt pads, EME-encrypts with tweak and encodes. The name has been
// validated, so the padded length is 16..256 bytes (1..16 EME blocks).
func (t *Transform) encrypt(plain string, tweak []byte) string {
	return t.b64.EncodeToString(t.eme.Encrypt(tweak, pad16([]byte(plain))))
}

// DecryptName decrypts a cName (not a gocryptfs.longname.* name: resolve
// those through the sidecar first) under dirIV, strictly per §5.3. Every
// failure wraps ErrCorruptName, except a wrong-length dirIV (ErrBadDirIV).
// The errors say only why: every caller says which name it was decrypting
// (for a long name, the name on disk rather than cname), so a "decrypt
// name" here would be said twice.
func (t *Transform) DecryptName(cname string, dirIV []byte) (string, error) {
	if len(dirIV) != DirIVLen {
		return "", fmt.Errorf("%w: length %d", ErrBadDirIV, len(dirIV))
	}
	plain, err := t.decrypt(cname, dirIV, maxNameCipherLen)
	if err != nil {
		return "", err
	}
	if err := ValidName(plain); err != nil {
		return "", fmt.Errorf("%w: plaintext: %v", ErrCorruptName, err)
	}
	return plain, nil
}

// decrypt implements §5.3 steps 1–4. maxCipher bounds the decoded length
// (a multiple of 16, at most EME's 2048-byte limit). Errors wrap
// ErrCorruptName.
func (t *Transform) decrypt(s string, tweak []byte, maxCipher int) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrCorruptName)
	}
	// Cheap bound before decoding: longer text cannot decode to <= maxCipher.
	if len(s) > t.b64.EncodedLen(maxCipher) {
		return "", fmt.Errorf("%w: %d characters is too long", ErrCorruptName, len(s))
	}
	bin, err := t.DecodeBase64(s)
	if err != nil {
		return "", err
	}
	if len(bin) == 0 || len(bin)%blockSize != 0 {
		return "", fmt.Errorf("%w: ciphertext length %d is not a positive multiple of %d", ErrCorruptName, len(bin), blockSize)
	}
	if len(bin) > maxCipher {
		return "", fmt.Errorf("%w: ciphertext length %d exceeds %d", ErrCorruptName, len(bin), maxCipher)
	}
	plain, err := unpad16(t.eme.Decrypt(tweak, bin))
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// EncodeBase64 encodes b with the volume's B64 variant (§0; used for
// symlink targets, §6). The output is canonical.
func (t *Transform) EncodeBase64(b []byte) string {
	return t.b64.EncodeToString(b)
}

// DecodeBase64 decodes s with the volume's B64 variant, strictly: CR/LF
// (which Go's decoder would silently skip), non-alphabet characters,
// non-zero unused bits and, for the padded variant, missing or wrong '='
// padding are rejected with ErrCorruptName. The empty string decodes to an
// empty slice (an empty symlink target, §6).
func (t *Transform) DecodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: contains CR or LF", ErrCorruptName)
	}
	b, err := t.b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrCorruptName, err)
	}
	return b, nil
}

// pad16 appends PKCS#7 padding to a multiple of 16 bytes; 1..16 bytes are
// always added (§5.2).
func pad16(b []byte) []byte {
	k := blockSize - len(b)%blockSize
	out := make([]byte, len(b)+k)
	copy(out, b)
	for i := len(b); i < len(out); i++ {
		out[i] = byte(k)
	}
	return out
}

// unpad16 strictly removes PKCS#7 padding (§5.3 step 4): 1 <= k <= 16,
// k < len, and the last k bytes all equal k.
func unpad16(b []byte) ([]byte, error) {
	if len(b) == 0 || len(b)%blockSize != 0 {
		return nil, fmt.Errorf("%w: padded length %d", ErrCorruptName, len(b))
	}
	k := int(b[len(b)-1])
	if k < 1 || k > blockSize || k >= len(b) {
		return nil, fmt.Errorf("%w: bad padding length %d", ErrCorruptName, k)
	}
	for _, c := range b[len(b)-k:] {
		if int(c) != k {
			return nil, fmt.Errorf("%w: inconsistent padding", ErrCorruptName)
		}
	}
	return b[:len(b)-k], nil
}

// ValidName reports whether name may exist as a plaintext file name
// (§5.3 step 5, §8): non-empty, at most NameMax bytes, no '/', no NUL, not
// "." or "..". It returns ErrNameTooLong for length, ErrInvalidName
// otherwise (both wrapped).
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > NameMax:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrNameTooLong, len(name), NameMax)
	case name == "." || name == "..":
		return fmt.Errorf("%w: dot or dot-dot", ErrInvalidName)
	case strings.IndexByte(name, '/') >= 0:
		return fmt.Errorf("%w: contains '/'", ErrInvalidName)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: contains NUL", ErrInvalidName)
	}
	return nil
}

// Plausible reports whether a decrypted name looks like one a person or a
// program made: valid UTF-8 without control characters. Names carry no MAC
// (§5.2), so a name decrypted under the wrong directory IV passes the
// PKCS#7 check about one time in 256 and is then random bytes, which this
// rejects with near certainty (a 15-byte random string is valid, printable
// UTF-8 about one time in a million). Callers that must choose between
// IVs (a directory IV lost to a sync client) use it to tell the real name
// from that garbage; a real name that is not UTF-8 is still valid, only
// less likely.
func Plausible(name string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
