package cipherdir

// Long-name objects whose .name sidecar is missing (FORMAT §5.4). A sync
// client loses one when a long-named file is deleted or renamed on one
// machine while it is edited on another: the edit wins, the object comes
// back, the sidecar does not. gocryptfs then hides the object for good.
// Here, a missing sidecar (not a damaged one: that stays corruption) is
// told apart (ErrNoSidecar), and the entry is either given its name back
// from this machine's memory of long names (LongNameMemory, checked
// against the object's hash), or shown under a synthetic name
// (nametransform.LostLongName) that maps back to exactly that object, so
// that it can be read, renamed to a real name and deleted like any other.
// The callers decide what to write: a mount and fsck --repair restore the
// sidecar, listings only show.

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrNoSidecar is returned (matching ErrBadSidecar too) for a long-name
// object whose sidecar does not exist at all, and for a conflict copy of
// one: a half-synced or lost sidecar rather than a damaged one.
var ErrNoSidecar = fmt.Errorf("%w: it is missing", ErrBadSidecar)

// LongNameMemory is this machine's memory of full encrypted long names
// (fs/syncmem.LongNames), kept outside CIPHERDIR. Record is told every
// name read from or written to a sidecar, so it must be cheap for a name it
// knows; Recall returns the name whose hash the object obj is named by.
type LongNameMemory interface {
	Record(cname string)
	Recall(obj string) (cname string, ok bool)
}

// remember tells the memory, if any, about a long name just read or
// written.
func (v *Volume) remember(cname string) {
	if v.LongNames != nil {
		v.LongNames.Record(cname)
	}
}

// RememberEntry tells the memory, if any, the long name of the entry plain
// of a directory with IV iv, found by a lookup: a file this machine only
// ever opened by name (never listed) must be recoverable too when a sync
// client loses its sidecar.
func (v *Volume) RememberEntry(plain string, iv []byte, atRoot bool) {
	if v.LongNames == nil {
		return
	}
	if disk, cname, err := v.DiskName(plain, iv, atRoot); err == nil && disk != cname {
		v.LongNames.Record(cname)
	}
}

// LongObject returns the long-name object whose sidecar the entry disk
// reads: disk itself, or the original of a sync client's conflict copy of
// one. It returns "" for any other entry.
func (v *Volume) LongObject(disk string) string {
	if v.PlaintextNames {
		return ""
	}
	switch nametransform.Classify(disk) {
	case nametransform.KindLongName:
		return disk
	case nametransform.KindReserved:
		if orig, _, ok := nametransform.SplitConflict(disk); ok && nametransform.Classify(orig) == nametransform.KindLongName {
			return orig
		}
	}
	return ""
}

// RecallName returns the full encrypted name of the long-name object obj
// that this machine remembers, after checking that it is the name obj's
// hash promises in this volume's encoding: the memory is outside
// CIPHERDIR and trusted for nothing.
func (v *Volume) RecallName(obj string) (string, bool) {
	if v.LongNames == nil || !v.IsLong(obj) {
		return "", false
	}
	cname, ok := v.LongNames.Recall(obj)
	if !ok || len(cname) == 0 || len(cname) > maxSidecar || !v.Names.LongNameMatches(obj, cname) {
		return "", false
	}
	return cname, true
}

// RestoreSidecar writes back the missing sidecar of the long-name entry
// in dirfd (the object, or a sync client's conflict copy of it, which
// reads the object's sidecar: LongObject) from this machine's memory. It
// writes the whole sidecar or nothing (WriteSidecarWhole) and never
// replaces one. restored is false, with no error, when the memory does not
// know the name, when the sidecar is there (it arrived meanwhile), or when
// the entry is gone: its owner deletes the object before the sidecar, and
// a sidecar written for an entry that has just gone would be left behind,
// so it is removed again.
func (v *Volume) RestoreSidecar(dirfd int, entry string) (restored bool, err error) {
	obj := v.LongObject(entry)
	if obj == "" {
		return false, nil
	}
	cname, ok := v.RecallName(obj)
	if !ok {
		return false, nil
	}
	if !existsAt(dirfd, entry) {
		return false, nil
	}
	created, err := v.WriteSidecarWhole(dirfd, obj, cname)
	switch {
	case errors.Is(err, unix.EEXIST):
		return false, nil // another sidecar arrived: it is read as it is
	case err != nil:
		return false, err
	case created && !existsAt(dirfd, entry):
		_ = RemoveSidecar(dirfd, obj)
		return false, nil
	}
	return created, nil
}

// existsAt reports whether dirfd has an entry name (of any type).
func existsAt(dirfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// Three ways to write a long name's sidecar (FORMAT §5.4), for three
// kinds of caller; all of them write the full encrypted name and nothing
// else, and differ in what a crash or an existing sidecar does:
//
//   - WriteSidecar (the mount, before it creates the object): O_EXCL
//     create, 0444, one write, no fsync. A crash may leave an empty or
//     partial sidecar (the object comes after it). An identical existing
//     sidecar is reused (created false); another one is EEXIST.
//   - WriteSidecarWhole (repairs: fsck, a listing restoring a lost
//     sidecar): an O_TMPFILE linked under the name, 0444, so a crash
//     leaves the whole sidecar or none. Never replaces one: EEXIST as
//     WriteSidecar. No fsync. Falls back to WriteSidecar without
//     O_TMPFILE or /proc.
//   - ReplaceSidecar (rotate, before it renames an object to its new
//     long name): written under a temporary name, fsynced, then renamed
//     over the sidecar's name, 0400. A resumed rotation may find the
//     sidecar written by the run before it and must replace it whatever
//     it holds; the fsync makes it durable before the rename that uses
//     it, which the journal orders. A crash leaves at most the temporary
//     (RotateSideName), which the next run removes. It is no method of
//     a Volume and tells no LongNames hook, as rotate's own writer did
//     not.

// WriteSidecarWhole is WriteSidecar for repairs, which must be safe at any
// crash: the content goes into an unnamed file (O_TMPFILE) that is then
// linked under the sidecar's name, so a crash never leaves an empty or
// partial sidecar (which would read as damage). linkat fails on an
// existing name, as O_EXCL does; created is false when an identical
// sidecar was there. A backing filesystem without O_TMPFILE, or a machine
// without /proc, gets WriteSidecar.
func (v *Volume) WriteSidecarWhole(dirfd int, disk, cname string) (created bool, err error) {
	side := nametransform.SidecarName(disk)
	fd, err := openTmpfileAt(dirfd, dirIVPerm)
	if err != nil {
		return v.WriteSidecar(dirfd, disk, cname)
	}
	defer closeFD(fd)
	if err := diskio.WriteFull(fd, []byte(cname)); err != nil {
		return false, fmt.Errorf("write %s: %w", side, err)
	}
	err = linkTmpfileAt(fd, dirfd, side)
	switch {
	case err == unix.EEXIST:
		if old, rerr := v.ReadSidecar(dirfd, disk); rerr == nil && old == cname {
			return false, nil
		}
		return false, fmt.Errorf("create %s: %w", side, err)
	case err == unix.ENOENT:
		return v.WriteSidecar(dirfd, disk, cname) // no /proc
	case err != nil:
		return false, fmt.Errorf("create %s: %w", side, err)
	}
	v.remember(cname)
	return true, nil
}

// ReplaceSidecar gives the long name disk the sidecar holding cname,
// replacing any sidecar of that name: written whole under the temporary
// name tmp in dirfd (created or truncated, mode 0400), fsynced, then
// renamed over the sidecar. See the comparison above WriteSidecarWhole.
func ReplaceSidecar(dirfd int, tmp, disk, cname string) error {
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o400)
	if err != nil {
		return fmt.Errorf("create sidecar: %w", err)
	}
	err = diskio.WriteFull(fd, []byte(cname))
	if err == nil {
		err = unix.Fsync(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dirfd, tmp, dirfd, nametransform.SidecarName(disk))
	}
	if err != nil {
		return fmt.Errorf("write sidecar: %w", err)
	}
	return nil
}

// LostEntryName is the synthetic name shown for the entry disk when its
// long name is lost with its sidecar and nothing remembers it:
// "lost name H" for the object gocryptfs.longname.H, with a conflict
// marker for a sync client's conflict copy of one. ok is false for an
// entry that is neither.
func (v *Volume) LostEntryName(disk string) (name string, conflict *nametransform.Conflict, ok bool) {
	obj := v.LongObject(disk)
	if obj == "" {
		return "", nil, false
	}
	name = nametransform.LostLongName(obj)
	if obj == disk {
		return name, nil, true
	}
	_, c, _ := nametransform.SplitConflict(disk)
	return nametransform.ConflictDisplayName(name, c), &c, true
}

// Shown is what a listing shows for one entry.
type Shown struct {
	Name     string
	Conflict *nametransform.Conflict // a sync client's conflict copy
	// Recalled: the long name's sidecar is missing, and Name was decrypted
	// from this machine's memory of it.
	Recalled bool
	// Lost: the sidecar is missing and nothing remembers the name; Name is
	// the synthetic LostEntryName.
	Lost bool
}

// ShownName is EntryName for listings that write nothing: an entry whose
// long name's sidecar is missing is shown under the name this machine
// remembers, else under its synthetic name, never left out. Errors are
// EntryName's; ErrNoSidecar only when the object itself is gone too.
func (v *Volume) ShownName(dirfd int, disk string, iv []byte, atRoot bool) (Shown, error) {
	name, c, err := v.EntryName(dirfd, disk, iv, atRoot)
	if !errors.Is(err, ErrNoSidecar) {
		return Shown{Name: name, Conflict: c}, err
	}
	obj := v.LongObject(disk)
	if cname, ok := v.RecallName(obj); ok {
		plain, derr := v.Names.DecryptName(cname, iv)
		if derr != nil {
			return Shown{}, fmt.Errorf("decrypt name %s (its sidecar is missing; the name is this machine's memory of it): %w", obj, derr)
		}
		s := Shown{Name: plain, Recalled: true}
		if obj != disk {
			_, cf, _ := nametransform.SplitConflict(disk)
			s.Name, s.Conflict = nametransform.ConflictDisplayName(plain, cf), &cf
		}
		return s, nil
	}
	if !existsAt(dirfd, disk) {
		return Shown{}, err // not there to be shown (a stale listing, or a path that names nothing)
	}
	lost, cf, _ := v.LostEntryName(disk)
	return Shown{Name: lost, Conflict: cf, Lost: true}, nil
}

// LostDiskName finds the object that ShownName shows under the synthetic
// name name in dirfd (whose IV is iv): a long-name object whose sidecar is
// missing and whose name nothing remembers. An entry really named name
// comes first, as does one the synthetic name no longer fits (its sidecar
// arrived, or is there but damaged: that is corruption, not a lost name).
// It returns ENOENT when there is none. A conflict copy of such an object
// is found by ConflictDiskName.
func (v *Volume) LostDiskName(dirfd int, name string, iv []byte, atRoot bool) (string, error) {
	obj, ok := nametransform.ParseLostLongName(name)
	if !ok || v.PlaintextNames {
		return "", unix.ENOENT
	}
	if named, _, err := v.DiskName(name, iv, atRoot); err != nil || existsAt(dirfd, named) {
		return "", unix.ENOENT
	}
	if !existsAt(dirfd, obj) || existsAt(dirfd, nametransform.SidecarName(obj)) {
		return "", unix.ENOENT
	}
	if _, known := v.RecallName(obj); known {
		return "", unix.ENOENT // shown under its real name
	}
	return obj, nil
}
