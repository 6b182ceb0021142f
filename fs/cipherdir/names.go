package cipherdir

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrReservedName is returned for a plaintext name the volume reserves for
// itself (gocryptfs.conf in the root of a plaintext-names volume, §5.7) and
// for a disk name that is one of our own files, never a user entry.
var ErrReservedName = errors.New("reserved name")

// ErrSyncClientFile is returned for a disk name that is a sync client's own
// file or folder (nametransform.SyncClientFile: .stfolder,
// .syncthing.*.tmp, desktop.ini, ...) in an encrypted-names volume. It
// matches ErrReservedName, because every caller that leaves the volume's
// own files alone (listings, key checks, lost-IV repairs, rotation) must
// leave these alone too; callers that count or report them test for it
// first.
var ErrSyncClientFile = fmt.Errorf("a sync client's own file: %w", ErrReservedName)

// ErrBadSidecar is returned for a long-name sidecar that is empty, too long
// or not what the object's hashed name promises.
var ErrBadSidecar = errors.New("invalid long-name sidecar")

// NameError is a name on disk that does not decrypt. It names the entry,
// so that a caller which knows no more than the entry (a path walk, fsck's
// report line) can tell and add only what it knows.
type NameError struct {
	Disk string // the name on disk; for a long name, the hashed object name
	Err  error  // why: wraps nametransform.ErrCorruptName or ErrBadDirIV
}

func (e *NameError) Error() string { return "decrypt name " + e.Disk + ": " + e.Err.Error() }
func (e *NameError) Unwrap() error { return e.Err }

// maxSidecar is B64 of a 256-byte padded name with padding (FORMAT §5.4).
const maxSidecar = 344

// DirIVAt returns the IV under which the names in dirfd are encrypted: the
// directory's gocryptfs.diriv, the all-zero IV without DirIV, nil with
// plaintext names.
func (v *Volume) DirIVAt(dirfd int) ([]byte, error) {
	switch {
	case v.PlaintextNames:
		return nil, nil
	case !v.DirIV:
		return zeroIV, nil
	default:
		return ReadDirIV(dirfd)
	}
}

// DiskName maps a plaintext name in a directory with IV iv to the name of
// its object on disk. For a long name, disk is the hashed
// gocryptfs.longname.* name and cname the full encrypted name its sidecar
// must hold; otherwise disk == cname.
func (v *Volume) DiskName(plain string, iv []byte, atRoot bool) (disk, cname string, err error) {
	if err := nametransform.ValidName(plain); err != nil {
		return "", "", err
	}
	if v.PlaintextNames {
		if atRoot && plain == config.Filename {
			return "", "", fmt.Errorf("%q: %w", plain, ErrReservedName)
		}
		return plain, plain, nil
	}
	cname, err = v.Names.EncryptName(plain, iv)
	if err != nil {
		return "", "", err
	}
	if v.Names.IsLong(cname) {
		return v.Names.HashLongName(cname), cname, nil
	}
	return cname, cname, nil
}

// IsLong reports whether disk is a hashed long-name object that needs a
// sidecar.
func (v *Volume) IsLong(disk string) bool {
	return !v.PlaintextNames && nametransform.Classify(disk) == nametransform.KindLongName
}

// PlainName decrypts the name of the entry disk found in directory dirfd
// (whose IV is iv). Our own files (config, IVs, sidecars, leftovers) give an
// error matching ErrReservedName; the caller skips them silently. So do a
// sync client's own files, with ErrSyncClientFile (which matches
// ErrReservedName), except with plaintext names, where every name is the
// user's. Any other error means a name that does not decrypt: skip it and
// report it.
func (v *Volume) PlainName(dirfd int, disk string, iv []byte, atRoot bool) (string, error) {
	if v.PlaintextNames {
		if atRoot && disk == config.Filename {
			return "", ErrReservedName
		}
		return disk, nametransform.ValidName(disk)
	}
	if client, ok := nametransform.SyncClientFile(disk); ok {
		return "", fmt.Errorf("%s belongs to %s: %w", disk, client, ErrSyncClientFile)
	}
	cname := disk
	switch nametransform.Classify(disk) {
	case nametransform.KindReserved, nametransform.KindLongNameSidecar:
		return "", ErrReservedName
	case nametransform.KindLongName:
		var err error
		if cname, err = v.ReadSidecar(dirfd, disk); err != nil {
			return "", err
		}
	}
	plain, err := v.Names.DecryptName(cname, iv)
	if err != nil {
		return "", &NameError{Disk: disk, Err: err}
	}
	return plain, nil
}

// ReadSidecar returns the full encrypted name stored in disk's sidecar. It
// checks that the sidecar's content hashes to disk, so a planted or swapped
// sidecar cannot rename an object.
func (v *Volume) ReadSidecar(dirfd int, disk string) (string, error) {
	return v.readSidecarFile(dirfd, nametransform.SidecarName(disk), disk)
}

// WriteSidecar creates disk's sidecar holding cname (FORMAT §5.4: before
// the object). An existing sidecar with the same content is reused, and
// created is false so that a failed operation does not delete a sidecar it
// did not make.
func (v *Volume) WriteSidecar(dirfd int, disk, cname string) (created bool, err error) {
	side := nametransform.SidecarName(disk)
	fd, err := unix.Openat(dirfd, side, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, dirIVPerm)
	if err == unix.EEXIST {
		old, rerr := v.ReadSidecar(dirfd, disk)
		if rerr == nil && old == cname {
			return false, nil // remembered by ReadSidecar
		}
		return false, fmt.Errorf("create %s: %w", side, err)
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", side, err)
	}
	_, werr := unix.Write(fd, []byte(cname))
	if cerr := unix.Close(fd); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = unix.Unlinkat(dirfd, side, 0)
		return false, fmt.Errorf("write %s: %w", side, werr)
	}
	v.remember(cname)
	return true, nil
}

// RemoveSidecar deletes disk's sidecar; a missing one is not an error.
func RemoveSidecar(dirfd int, disk string) error {
	side := nametransform.SidecarName(disk)
	if err := unix.Unlinkat(dirfd, side, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove %s: %w", side, err)
	}
	return nil
}

// PrepareName runs fn, which creates the object disk in dirfd, after writing
// the sidecar a long name needs, and removes a sidecar it wrote if fn fails.
func (v *Volume) PrepareName(dirfd int, disk, cname string, fn func() error) error {
	var created bool
	if v.IsLong(disk) {
		var err error
		if created, err = v.WriteSidecar(dirfd, disk, cname); err != nil {
			return err
		}
	}
	if err := fn(); err != nil {
		if created {
			_ = RemoveSidecar(dirfd, disk)
		}
		return err
	}
	return nil
}

// EntryName is what a directory listing shows for the entry disk: its
// decrypted name, or, for a sync client's conflict copy of an entry (see
// nametransform.SplitConflict), the decrypted name of the original with a
// readable marker, "report (conflict 2026-11-27 laptop).txt". conflict is
// nil for an ordinary entry. Errors are PlainName's: ErrReservedName for
// the volume's own files (ErrSyncClientFile for a sync client's), anything
// else for a name that is neither valid nor a known conflict pattern (skip
// it and report it).
func (v *Volume) EntryName(dirfd int, disk string, iv []byte, atRoot bool) (name string, conflict *nametransform.Conflict, err error) {
	plain, err := v.PlainName(dirfd, disk, iv, atRoot)
	if err == nil || v.PlaintextNames || errors.Is(err, ErrSyncClientFile) {
		// Plaintext names: a conflict copy is already a readable name. A
		// client's file, conflict copies of it included, is the client's.
		return plain, nil, err
	}
	// A marked long name looks like one of our reserved names
	// ("gocryptfs.longname.HASH (conflicted copy ...)"): try the patterns
	// on every name that does not decrypt.
	orig, c, ok := nametransform.SplitConflict(disk)
	if !ok {
		return "", nil, err
	}
	switch nametransform.Classify(orig) {
	case nametransform.KindReserved:
		// A copy of one of our files whose marker hides the reserved
		// prefix (unison: "gocryptfs (conflict_on_DATE).diriv"): ours,
		// as "gocryptfs.diriv.sync-conflict-..." is by its prefix.
		return "", nil, ErrReservedName
	case nametransform.KindLongNameSidecar:
		return "", nil, ErrReservedName // a conflict copy of a sidecar: ours
	}
	origPlain, err2 := v.PlainName(dirfd, orig, iv, atRoot)
	if errors.Is(err2, ErrNoSidecar) && !errors.Is(err, ErrBadSidecar) {
		// The copy's name is lost with the original's sidecar (ShownName).
		// A long name's own sidecar problem comes first: OneDrive's weak
		// "-HOST" pattern also matches inside a hash.
		return "", nil, err2
	}
	if err2 != nil {
		return "", nil, err // report the name as it is on disk
	}
	return nametransform.ConflictDisplayName(origPlain, c), &c, nil
}

// ConflictDiskName finds the conflict copy that EntryName (or, for a copy
// of a long name whose sidecar is missing, ShownName) shows as name in
// dirfd. It scans the directory and compares display names (a long one is
// shortened, so it cannot be parsed back); only names with a conflict
// marker are looked for. It returns ENOENT when there is none.
func (v *Volume) ConflictDiskName(dirfd int, name string, iv []byte, atRoot bool) (string, error) {
	if _, _, ok := nametransform.ParseConflictDisplay(name); !ok || v.PlaintextNames {
		return "", unix.ENOENT
	}
	fd, err := diskio.OpenDirNoatime(dirfd)
	if err != nil {
		return "", err
	}
	defer closeFD(fd)
	found := ""
	err = diskio.ReadDirents(fd, func(disk string, _ uint64, _ uint8) bool {
		if _, _, ok := nametransform.SplitConflict(disk); !ok {
			return true
		}
		if shown, err := v.ShownName(dirfd, disk, iv, atRoot); err == nil && shown.Conflict != nil && shown.Name == name {
			found = disk
			return false
		}
		return true
	})
	if err != nil {
		return "", err
	}
	if found == "" {
		return "", unix.ENOENT
	}
	return found, nil
}
