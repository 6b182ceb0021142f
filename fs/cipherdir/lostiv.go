package cipherdir

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// Two machines that create the same directory through a sync service each
// give it their own gocryptfs.diriv; the service keeps one and the names
// encrypted under the other no longer decrypt (gocryptfs then hides those
// files). Sync clients that keep both versions leave the losing IV behind
// as a conflict copy of gocryptfs.diriv ("gocryptfs.diriv (conflicted copy
// ...)", "gocryptfs.diriv.sync-conflict-..."). RepairLostIV uses those: a
// name that decrypts under a lost IV is re-encrypted under the directory's
// IV, so the file comes back under its own name.

// LostIVs returns the IVs of the conflict copies of gocryptfs.diriv in the
// directory dirfd that differ from its own iv.
func LostIVs(dirfd int, iv []byte) ([][]byte, error) {
	fd, err := diskio.OpenDirNoatime(dirfd)
	if err != nil {
		return nil, err
	}
	defer closeFD(fd)
	var out [][]byte
	err = diskio.ReadDirents(fd, func(name string, _ uint64, _ uint8) bool {
		orig, _, ok := nametransform.SplitConflict(name)
		if !ok || orig != nametransform.DirIVFilename {
			return true
		}
		f, err := openRegular(dirfd, name)
		if err != nil {
			return true
		}
		buf := make([]byte, nametransform.DirIVLen+1)
		n, _ := diskio.ReadFull(f, buf)
		closeFD(f)
		if n == nametransform.DirIVLen && !bytes.Equal(buf[:n], zeroIV) && !bytes.Equal(buf[:n], iv) {
			out = append(out, buf[:n])
		}
		return true
	})
	return out, err
}

// Repaired is one entry RepairLostIV renamed.
type Repaired struct {
	Old, New, Plain string
}

// RepairLostIV re-encrypts, under the directory's IV iv, every entry of
// dirfd whose name belongs to one of the lost IVs (LostName). It never
// overwrites an entry (a name that already exists under the current IV is
// left as it is and reported in the error). Only DirIV volumes can lose an
// IV; for others it does nothing.
//
// Besides the conflict copies of gocryptfs.diriv, the caller may give more
// candidate IVs (remembered ones: a tool that overwrites leaves no copy).
func (v *Volume) RepairLostIV(dirfd int, iv []byte, atRoot bool, more ...[]byte) ([]Repaired, error) {
	if v.PlaintextNames || !v.DirIV {
		return nil, nil
	}
	lost, err := LostIVs(dirfd, iv)
	if err != nil {
		return nil, err
	}
	for _, m := range more {
		if len(m) == nametransform.DirIVLen && !bytes.Equal(m, iv) {
			lost = append(lost, m)
		}
	}
	if len(lost) == 0 {
		return nil, nil
	}
	fd, err := diskio.OpenDirNoatime(dirfd)
	if err != nil {
		return nil, err
	}
	defer closeFD(fd)
	var names []string
	if err := diskio.ReadDirents(fd, func(name string, _ uint64, _ uint8) bool {
		names = append(names, name)
		return true
	}); err != nil {
		return nil, err
	}
	var done []Repaired
	var errs []error
	for _, disk := range names {
		plain, ok := v.LostName(dirfd, disk, iv, lost, atRoot)
		if !ok {
			continue
		}
		r, err := v.reencryptName(dirfd, disk, plain, iv, atRoot)
		if err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, r)
		}
	}
	return done, errors.Join(errs...)
}

// LostName reports whether disk's name was encrypted under one of the lost
// IVs, and its plaintext if so. Names carry no MAC, so a name under the
// wrong IV still decrypts one time in 256, to random bytes: a name that
// decrypts under iv stays unless that result is implausible and a lost IV
// gives a plausible one (nametransform.Plausible). A name that decrypts
// under iv to something plausible is never moved, so a real file is not
// renamed on the strength of a chance decryption.
func (v *Volume) LostName(dirfd int, disk string, iv []byte, lost [][]byte, atRoot bool) (string, bool) {
	if len(lost) == 0 {
		return "", false
	}
	cur, curErr := v.PlainName(dirfd, disk, iv, atRoot)
	switch {
	case errors.Is(curErr, ErrReservedName):
		return "", false
	case curErr == nil && nametransform.Plausible(cur):
		return "", false
	}
	fallback, found := "", false
	for _, old := range lost {
		plain, err := v.PlainName(dirfd, disk, old, atRoot)
		switch {
		case err != nil:
		case nametransform.Plausible(plain):
			return plain, true
		case !found:
			fallback, found = plain, true
		}
	}
	// Nothing plausible: a valid name under iv wins; otherwise the first
	// lost IV the name decrypts under (a real name need not be UTF-8).
	return fallback, found && curErr != nil
}

// RepairLostEntry looks for the entry plain under each lost IV: a lookup
// of a name that was created on this or another machine under an IV the
// sync client has since replaced. If found, and the name is the entry's
// (LostName), it is re-encrypted under iv as RepairLostIV would, and the
// result says where it is now; found is false when no lost IV has it.
func (v *Volume) RepairLostEntry(dirfd int, plain string, iv []byte, lost [][]byte, atRoot bool) (r Repaired, found bool, err error) {
	if v.PlaintextNames || !v.DirIV {
		return Repaired{}, false, nil
	}
	for _, old := range lost {
		disk, _, err := v.DiskName(plain, old, atRoot)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dirfd, disk, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		if got, ok := v.LostName(dirfd, disk, iv, lost, atRoot); !ok || got != plain {
			continue
		}
		r, err := v.reencryptName(dirfd, disk, plain, iv, atRoot)
		return r, err == nil, err
	}
	return Repaired{}, false, nil
}

// reencryptName renames disk, whose plaintext name is plain, to plain's
// name under iv. When that name is taken (both machines created an entry
// of the same name, typically a subdirectory of the directory they both
// made), the entry gets a marked name instead, "inner (conflict repaired)",
// so that it shows next to the other and nothing is hidden or overwritten.
func (v *Volume) reencryptName(dirfd int, disk, plain string, iv []byte, atRoot bool) (Repaired, error) {
	var err error
	for try := range 10 {
		name := plain
		switch {
		case try == 1:
			name = nametransform.ConflictDisplayName(plain, nametransform.Conflict{Label: "repaired"})
		case try > 1:
			name = nametransform.ConflictDisplayName(plain, nametransform.Conflict{Label: fmt.Sprintf("repaired %d", try)})
		}
		var newDisk, cname string
		if newDisk, cname, err = v.DiskName(name, iv, atRoot); err != nil {
			return Repaired{}, err
		}
		err = v.PrepareName(dirfd, newDisk, cname, func() error {
			return RenameNoReplace(dirfd, disk, dirfd, newDisk)
		})
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			break
		}
		if v.IsLong(disk) {
			_ = RemoveSidecar(dirfd, disk)
		}
		return Repaired{Old: disk, New: newDisk, Plain: name}, nil
	}
	return Repaired{}, fmt.Errorf("re-encrypt the name of %s under the directory's IV: %w", disk, err)
}
