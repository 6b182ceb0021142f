package nametransform

import (
	"errors"
	"fmt"
	"strings"
)

// Xattr name constants (§7).
const (
	// XattrStorePrefix starts every encrypted xattr name on the backing file.
	XattrStorePrefix = "user.gocryptfs."
	// XattrTrustedPrefix takes the place of XattrStorePrefix on backing
	// objects that cannot carry user. xattrs (symlinks, FIFOs, sockets,
	// device nodes on Linux), for the attributes of other namespaces
	// (trusted., security.) that the kernel lets root set there: a veilfs
	// extension of §7, which gocryptfs does not list.
	XattrTrustedPrefix = "trusted.gocryptfs."
	// XattrNameMax is the longest plaintext xattr name: the stored name must
	// fit the kernel's 255-byte limit (15 + B64 of 176 bytes = 250).
	XattrNameMax = 175
	// ACLAccess and ACLDefault are stored unencrypted under their own names.
	ACLAccess  = "system.posix_acl_access"
	ACLDefault = "system.posix_acl_default"
)

// xattrNameIV is the fixed EME tweak for xattr names, the 16 ASCII bytes
// "xattr_name_iv_xx" (§7). A string constant, so it cannot be mutated.
const xattrNameIV = "xattr_name_iv_xx"

// maxXattrCipherLen is pad16 of XattrNameMax bytes.
const maxXattrCipherLen = XattrNameMax/blockSize*blockSize + blockSize

var (
	// ErrXattrNameTooLong: a plaintext xattr name over XattrNameMax bytes.
	// gocryptfs answers ERANGE. (fs: ERANGE)
	ErrXattrNameTooLong = errors.New("xattr name too long")
	// ErrNotEncryptedXattr: a backing xattr that is neither an encrypted
	// name nor an ACL name; not ours, the caller skips it (§7 "Listing").
	ErrNotEncryptedXattr = errors.New("not an encrypted xattr name")
)

// IsACLName reports whether name is one of the two POSIX ACL names that
// are stored unencrypted (§7).
func IsACLName(name string) bool {
	return name == ACLAccess || name == ACLDefault
}

// ValidXattrName checks a plaintext xattr name: non-empty, NUL-free
// (ErrInvalidName) and at most XattrNameMax bytes (ErrXattrNameTooLong).
func ValidXattrName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty xattr name", ErrInvalidName)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: xattr name contains NUL", ErrInvalidName)
	case len(name) > XattrNameMax:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrXattrNameTooLong, len(name), XattrNameMax)
	}
	return nil
}

// EncryptXattrName returns the backing-file name of a plaintext xattr name:
// XattrStorePrefix + B64(EME(K_name, "xattr_name_iv_xx", pad16(name))),
// or the name itself for the two ACL names (§7). Any namespace (user.,
// trusted., security.) is folded in.
func (t *Transform) EncryptXattrName(name string) (string, error) {
	if IsACLName(name) {
		return name, nil
	}
	if err := ValidXattrName(name); err != nil {
		return "", fmt.Errorf("encrypt xattr name: %w", err)
	}
	return XattrStorePrefix + t.encrypt(name, []byte(xattrNameIV)), nil
}

// AsTrustedXattr returns the name that stored (of EncryptXattrName, not an
// ACL name) has under XattrTrustedPrefix.
func AsTrustedXattr(stored string) string {
	return XattrTrustedPrefix + strings.TrimPrefix(stored, XattrStorePrefix)
}

// DecryptXattrName returns the plaintext name of a backing-file xattr (§7).
// ACL names pass through. A name without XattrStorePrefix or
// XattrTrustedPrefix returns ErrNotEncryptedXattr; one that fails strict decoding, decrypts to an
// invalid name, or decrypts to an ACL name (an obsolete scheme) returns
// ErrCorruptName. In all error cases the caller skips the attribute.
func (t *Transform) DecryptXattrName(stored string) (string, error) {
	if IsACLName(stored) {
		return stored, nil
	}
	enc, ok := strings.CutPrefix(stored, XattrStorePrefix)
	if !ok {
		enc, ok = strings.CutPrefix(stored, XattrTrustedPrefix)
	}
	if !ok {
		return "", fmt.Errorf("decrypt xattr name: %w", ErrNotEncryptedXattr)
	}
	name, err := t.decrypt(enc, []byte(xattrNameIV), maxXattrCipherLen)
	if err != nil {
		return "", fmt.Errorf("decrypt xattr name: %w", err)
	}
	if err := ValidXattrName(name); err != nil {
		return "", fmt.Errorf("decrypt xattr name: %w: plaintext: %v", ErrCorruptName, err)
	}
	if IsACLName(name) {
		return "", fmt.Errorf("decrypt xattr name: %w: encrypted ACL name (obsolete scheme)", ErrCorruptName)
	}
	return name, nil
}
