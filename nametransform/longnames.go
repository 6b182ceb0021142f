package nametransform

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// IsLong reports whether cname must be stored hashed: len(cname) >
// LongNameMax (§5.4).
func (t *Transform) IsLong(cname string) bool {
	return len(cname) > t.longNameMax
}

// HashLongName returns the on-disk name of a long cName:
// LongNamePrefix + B64(SHA256(cname)), B64 in the volume's variant (§5.4).
func (t *Transform) HashLongName(cname string) string {
	h := sha256.Sum256([]byte(cname))
	return LongNamePrefix + t.b64.EncodeToString(h[:])
}

// LongNameMatches reports whether diskName is the hashed name of cname.
// gocryptfs does not check this when reading; fsck may (§5.4 "we MAY").
func (t *Transform) LongNameMatches(diskName, cname string) bool {
	return subtle.ConstantTimeCompare([]byte(t.HashLongName(cname)), []byte(diskName)) == 1
}

// SidecarName returns the sidecar file name of a long-name object (§5.4).
func SidecarName(longName string) string {
	return longName + LongNameSuffix
}

// ValidSidecar checks a sidecar's content before it is decrypted as a cName
// (§5.4): non-empty and at most MaxSidecarLen bytes. Errors wrap
// ErrCorruptName.
func ValidSidecar(content []byte) error {
	if len(content) == 0 {
		return fmt.Errorf("%w: empty long-name sidecar", ErrCorruptName)
	}
	if len(content) > MaxSidecarLen {
		return fmt.Errorf("%w: long-name sidecar of %d bytes exceeds %d", ErrCorruptName, len(content), MaxSidecarLen)
	}
	return nil
}

// NameKind is what an entry of an encrypted-name cipherdir is (§5.5, §8).
type NameKind int

const (
	// KindRegular: anything not starting with "gocryptfs.": should be a
	// cName; decrypt it (it may still fail, then skip it).
	KindRegular NameKind = iota
	// KindLongName: "gocryptfs.longname.<H>": resolve through the sidecar.
	KindLongName
	// KindLongNameSidecar: "gocryptfs.longname.<H>.name": skip in listings.
	KindLongNameSidecar
	// KindReserved: every other "gocryptfs.*" name (gocryptfs.conf,
	// gocryptfs.diriv, gocryptfs.conf.tmp, gocryptfs.conf.bak,
	// gocryptfs.diriv.rmdir.<n>, malformed long names): never a file of the
	// plaintext tree; skip in listings, refuse as a lookup result.
	KindReserved
)

// String returns a short name for logs and test output.
func (k NameKind) String() string {
	switch k {
	case KindRegular:
		return "regular"
	case KindLongName:
		return "longname"
	case KindLongNameSidecar:
		return "longname-sidecar"
	case KindReserved:
		return "reserved"
	}
	return fmt.Sprintf("NameKind(%d)", int(k))
}

// Classify tells what a directory entry of an encrypted-name cipherdir is,
// from its name alone (§1, §5.4, §5.5, §8). The rule:
//
//   - a name not starting with ReservedPrefix ("gocryptfs.") is KindRegular;
//   - LongNamePrefix + H, where H is non-empty and made only of base64url
//     characters and '=' (so it contains no '.'), is KindLongName;
//   - the same followed by LongNameSuffix (".name") is KindLongNameSidecar;
//   - every other name starting with "gocryptfs." is KindReserved.
//
// H's length and variant are not checked here (gocryptfs does not check
// them either); the sidecar and LongNameMatches decide. Classify does not
// apply to PlaintextNames volumes, where names are stored as they are and
// only "gocryptfs.conf" in the root is reserved (§5.7).
func Classify(diskName string) NameKind {
	if !strings.HasPrefix(diskName, ReservedPrefix) {
		return KindRegular
	}
	rest, ok := strings.CutPrefix(diskName, LongNamePrefix)
	if !ok {
		return KindReserved
	}
	if isHashChars(rest) {
		return KindLongName
	}
	if h, ok := strings.CutSuffix(rest, LongNameSuffix); ok && isHashChars(h) {
		return KindLongNameSidecar
	}
	return KindReserved
}

// isHashChars reports whether s is non-empty and only base64url characters
// or '=' (either B64 variant of a SHA-256 hash).
func isHashChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '=':
		default:
			return false
		}
	}
	return true
}
