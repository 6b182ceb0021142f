// Package view computes the reverse view of a plaintext directory
// (FORMAT §10) without FUSE: what each name of the view is (Classify),
// the derived IVs (DirIV, FileIVs, HardLinkKey, SymlinkNonce), names and
// symlink targets in both directions (Name, PlainName, LinkTarget), whole
// view paths both ways (EncryptPath, DecryptPath), listings of the view
// (ListDir), and the creation of a reverse volume's config (Init).
//
// The FUSE view (fs/reverse) serves what this package computes, and
// 'veilfs path' and 'veilfs ls' on a PLAINDIR use the same code without
// mounting. It builds on fs/cipherdir's layout (Volume, VolumePath,
// ListEntry, the name encryption shared with forward volumes), which in
// turn knows nothing of the view. No FUSE, no logging: callers report.
package view

import (
	"errors"
	"fmt"
	"strings"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// Reverse mode (FORMAT §10): a read-only ciphertext view of a plaintext
// directory. Nothing of the view is stored; every IV is derived from the
// entry's path in the view, so this file only computes. The FUSE view
// (fs/reverse) and 'veilfs path' on a reverse volume both map names here.
//
// For a reverse volume, Volume.Dir is the plaintext directory and
// Volume.Config comes from its .gocryptfs.reverse.conf.

// ErrNotInView is returned for a plaintext entry the view never shows: the
// reverse config itself, and gocryptfs.conf in the root of a
// plaintext-names volume (the view's own config takes that name).
var ErrNotInView = errors.New("not part of the reverse view")

// Kind says what a name in a directory of the reverse view is.
type Kind int

const (
	// KindEntry is the encrypted name of a plaintext entry (or, for a long
	// name, its hashed gocryptfs.longname.* name).
	KindEntry Kind = iota
	// KindDirIV is a directory's virtual gocryptfs.diriv.
	KindDirIV
	// KindConfig is the root's virtual gocryptfs.conf: the reverse config.
	KindConfig
	// KindSidecar is the virtual .name sidecar of a long name.
	KindSidecar
	// KindInvalid is a name that cannot be in the view.
	KindInvalid
)

// Classify classifies name, an entry of the view directory whose path is
// cdir.
func Classify(v *cipherdir.Volume, name, cdir string) Kind {
	atRoot := cdir == ""
	switch {
	case !cipherdir.ValidDiskName(name):
		return KindInvalid
	case atRoot && name == config.Filename:
		return KindConfig
	case v.PlaintextNames:
		return KindEntry
	}
	switch nametransform.Classify(name) {
	case nametransform.KindLongName:
		return KindEntry
	case nametransform.KindLongNameSidecar:
		return KindSidecar
	case nametransform.KindReserved:
		if v.DirIV && name == nametransform.DirIVFilename {
			return KindDirIV
		}
		return KindInvalid
	}
	return KindEntry
}

// DirIV returns the IV of the view directory cdir: derived from its
// path, the all-zero IV with deterministic names, nil with plaintext names.
// Its gocryptfs.diriv holds it.
func DirIV(v *cipherdir.Volume, cdir string) []byte {
	switch {
	case v.PlaintextNames:
		return nil
	case !v.DirIV:
		return cipherdir.ZeroIV()
	}
	return cipher.DerivedIV(cdir, cipher.PurposeDirIV)
}

// Name maps plaintext entry plain of the view directory cdir to its
// name in the view. For a long name, name is the hashed
// gocryptfs.longname.* name and cname the full encrypted name its sidecar
// shows; otherwise name == cname.
func Name(v *cipherdir.Volume, plain, cdir string) (name, cname string, err error) {
	if cdir == "" && (plain == config.ReverseFilename || (v.PlaintextNames && plain == config.Filename)) {
		return "", "", fmt.Errorf("%q: %w", plain, ErrNotInView)
	}
	return v.DiskName(plain, DirIV(v, cdir), cdir == "")
}

// PlainName is the inverse of Name for an entry (role
// KindEntry) of the view directory cdir. A long name cannot be decrypted
// from its hash: for those, list is called to enumerate the plaintext
// directory's names, and the one whose encryption hashes to name wins.
// A name that matches nothing gives an error wrapping ErrNotInView or
// nametransform's decryption error.
func PlainName(v *cipherdir.Volume, name, cdir string, list func(fn func(plain string) bool) error) (string, error) {
	if v.PlaintextNames {
		if _, _, err := Name(v, name, cdir); err != nil {
			return "", err
		}
		return name, nametransform.ValidName(name)
	}
	iv := DirIV(v, cdir)
	if nametransform.Classify(name) != nametransform.KindLongName {
		plain, err := v.Names.DecryptName(name, iv)
		if err != nil {
			return "", &cipherdir.NameError{Disk: name, Err: err}
		}
		// A name that decrypts is in the view only if it is the name the
		// plaintext encrypts to: a short name whose plaintext is long
		// enough to be shown as a gocryptfs.longname. is not.
		back, _, err := Name(v, plain, cdir)
		if err != nil {
			return "", err
		}
		if back != name {
			return "", fmt.Errorf("name %s: shown as %s: %w", name, back, ErrNotInView)
		}
		return plain, nil
	}
	found := ""
	err := list(func(plain string) bool {
		if got, _, err := Name(v, plain, cdir); err == nil && got == name {
			found = plain
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return "", err
	case found == "":
		return "", fmt.Errorf("long name %s: %w", name, ErrNotInView)
	}
	return found, nil
}

// FileIVs returns the file ID and the nonce of block 0 of the file
// the view shows at cpath (FORMAT §10). key is that path, except for files
// with several hard links, where the caller passes a key of its own (see
// HardLinkKey).
func FileIVs(key string) (fileID, block0 []byte) {
	return cipher.DerivedIV(key, cipher.PurposeFileID), cipher.DerivedIV(key, cipher.PurposeBlock0IV)
}

// HardLinkKey is what the IVs of a file with several hard links derive
// from: its inode number, with a NUL no path contains. gocryptfs derives
// them from whichever of its paths is opened first, so its bytes depend on
// the order of access; ours stay the same on every mount, and all links
// show one file, so a copy keeps them linked.
func HardLinkKey(ino uint64) string {
	return fmt.Sprintf("\x00inode %d", ino)
}

// SymlinkNonce returns the nonce of the target of the symlink the
// view shows at cpath. gocryptfs 2.3 doubles the last path component
// (FORMAT §10 quirk); we do the same so that views are byte-identical.
func SymlinkNonce(cpath string) []byte {
	base := cpath[strings.LastIndexByte(cpath, '/')+1:]
	return cipher.DerivedIV(cpath+"/"+base, cipher.PurposeSymlinkIV)
}

// LinkTarget encrypts a symlink target for the view at cpath, in the
// form its forward-mode volume stores it (FORMAT §6).
func LinkTarget(v *cipherdir.Volume, target, cpath string) (string, error) {
	if v.PlaintextNames {
		return target, nil
	}
	sealed, err := v.Content.SealBlockDerived(nil, []byte(target), 0, nil, SymlinkNonce(cpath))
	if err != nil {
		return "", fmt.Errorf("encrypt symlink target of %s: %w", cpath, err)
	}
	return v.Names.EncodeBase64(sealed), nil
}
