package cipherdir

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrNameFormatMismatch means the root of CIPHERDIR holds what only another
// name format writes: gocryptfs.conf's name flags were changed.
var ErrNameFormatMismatch = errors.New("gocryptfs.conf's name format does not match the files in CIPHERDIR")

// NameFormatError says which entry of the root contradicts the config.
type NameFormatError struct {
	// Dir is CIPHERDIR; Entry the name of the entry in its root.
	Dir, Entry string
	// Config is what gocryptfs.conf says, Found what the entry shows.
	Config, Found string
}

func (e *NameFormatError) Error() string {
	return fmt.Sprintf("gocryptfs.conf says %s, but the root of %s holds %q, %s: someone changed the config", e.Config, e.Dir, e.Entry, e.Found)
}

// Unwrap makes the error match ErrNameFormatMismatch.
func (e *NameFormatError) Unwrap() error { return ErrNameFormatMismatch }

// CheckNameFormat looks in the root of CIPHERDIR dir for files that the
// name format conf declares would never write, and refuses the pair: a
// CIPHERDIR writer who adds PlaintextNames to gocryptfs.conf (nothing in
// gocryptfs's config authenticates its flags) would make every new name
// and symlink target reach the sync service in the clear. It needs no key,
// so it also protects volumes whose config has no authenticated format
// record (config.File.VerifyFormat): those made by gocryptfs, or whose
// config gocryptfs -passwd rewrote. Only the root is read (one listing),
// and it only sees what the attacker left there: it is a second line, not
// a proof.
//
//   - PlaintextNames: a valid root gocryptfs.diriv, a long-name object or
//     sidecar, or a name that is base64 of a multiple of 16 bytes (every
//     EME name is), means the volume has encrypted names. Such a name can
//     be a user's own file, whence the entry is named in the error.
//   - encrypted names without DirIV (deterministic names): a valid root
//     gocryptfs.diriv means the volume has per-directory IVs, and names
//     would be encrypted under the all-zero IV instead.
//
// A config with DirIV over a root without gocryptfs.diriv is not checked
// here: mounting refuses it already (the root IV is needed for every name),
// and a sync client may still be delivering the IV.
func CheckNameFormat(dir string, conf *config.File) error {
	plain := conf.Has(config.FlagPlaintextNames)
	if !plain && conf.Has(config.FlagDirIV) {
		return nil
	}
	fd, err := openDirPath(dir)
	if err != nil {
		return fmt.Errorf("check the name format of %s: %w", dir, err)
	}
	defer closeFD(fd)
	if _, err := ReadDirIV(fd); err == nil {
		e := &NameFormatError{Dir: dir, Entry: nametransform.DirIVFilename,
			Config: "PlaintextNames", Found: "which only volumes with encrypted names have"}
		if !plain {
			e.Config = "deterministic names (no DirIV flag)"
			e.Found = "which only volumes with a per-directory IV have"
		}
		return e
	}
	if !plain {
		return nil
	}
	var found *NameFormatError
	err = diskio.ReadDirents(fd, func(name string, _ uint64, _ uint8) bool {
		if what := encryptedLooking(name); what != "" {
			found = &NameFormatError{Dir: dir, Entry: name, Config: "PlaintextNames", Found: what}
			return false
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("check the name format of %s: list it: %w", dir, err)
	}
	if found != nil {
		return found
	}
	return nil
}

// encryptedLooking says what name is if only an encrypted-name volume
// would hold it, else "".
func encryptedLooking(name string) string {
	switch nametransform.Classify(name) {
	case nametransform.KindLongName:
		if isBase64Of(strings.TrimPrefix(name, nametransform.LongNamePrefix), 32) {
			return "a long-name object of an encrypted-name volume"
		}
		return ""
	case nametransform.KindLongNameSidecar:
		h := strings.TrimSuffix(strings.TrimPrefix(name, nametransform.LongNamePrefix), nametransform.LongNameSuffix)
		if isBase64Of(h, 32) {
			return "a long-name sidecar of an encrypted-name volume"
		}
		return ""
	case nametransform.KindRegular:
		if isBase64Of(name, 0) {
			return "an encrypted name (base64 of whole 16-byte blocks)"
		}
	}
	return ""
}

// isBase64Of reports whether s is canonical base64url, padded or not (the
// Raw64 flag decides which, and the config at hand may lie about it), of
// exactly n bytes, or with n == 0 of a non-zero multiple of 16 bytes.
func isBase64Of(s string, n int) bool {
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return false // the decoder would skip CR and LF
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding.Strict(), base64.URLEncoding.Strict()} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if n != 0 {
			return len(b) == n
		}
		return len(b) > 0 && len(b)%16 == 0
	}
	return false
}
