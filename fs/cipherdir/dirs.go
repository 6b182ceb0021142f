package cipherdir

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// Mkdir creates directory disk in dirfd with its gocryptfs.diriv and then
// gives it mode (FORMAT §5.6). The directory is created 0700 so the IV can be
// written even when mode forbids it; a directory whose IV cannot be written
// is removed again, so no IV-less directory is ever left behind. It returns
// the new directory's IV (nil on a volume without per-directory IVs).
func (v *Volume) Mkdir(dirfd int, disk string, mode uint32) (iv []byte, err error) {
	if !v.DirIV || v.PlaintextNames {
		if err := unix.Mkdirat(dirfd, disk, mode); err != nil {
			return nil, fmt.Errorf("mkdir %s: %w", disk, err)
		}
		return nil, nil
	}
	// Made 0700, for us alone until its IV is in, and then given its
	// mode. In a directory with a default ACL (veilfs mount --acl) the
	// new directory's group and other bits (the ACL's mask and other
	// entry) come from the inherited ACL as much as from the mode: it is
	// made with the mode asked for, and only its owner bits, which must
	// let us write the IV, are put right afterwards.
	inherits := hasDefaultACL(dirfd)
	first := uint32(0o700)
	if inherits {
		first |= mode & 0o7777
	}
	if err := unix.Mkdirat(dirfd, disk, first); err != nil {
		return nil, fmt.Errorf("mkdir %s: %w", disk, err)
	}
	iv = make([]byte, nametransform.DirIVLen)
	rand.Read(iv)
	if err := v.initDir(dirfd, disk, iv, mode, inherits); err != nil {
		_ = unix.Unlinkat(dirfd, disk, unix.AT_REMOVEDIR)
		return nil, err
	}
	return iv, nil
}

func (v *Volume) initDir(dirfd int, disk string, iv []byte, mode uint32, inherits bool) error {
	child, err := OpenDirAt(dirfd, disk)
	if err != nil {
		return err
	}
	defer closeFD(child)
	if err := createDirIV(child, iv); err != nil {
		return fmt.Errorf("mkdir %s: %w", disk, err)
	}
	// A directory created in a setgid directory inherits the setgid bit
	// whatever mode was asked for; our chmod must not take it away.
	var st unix.Stat_t
	if err := unix.Fstat(child, &st); err != nil {
		return fmt.Errorf("stat %s: %w", disk, err)
	}
	mode = mode&0o7777 | uint32(st.Mode)&unix.S_ISGID
	if inherits {
		// Group and other as the ACL made them; the owner's bits are
		// the mode's as far as the ACL's owner entry allows.
		mode = mode&^0o777 | uint32(st.Mode)&0o077 | mode&uint32(st.Mode)&0o700
	}
	// Through the descriptor we wrote the IV into: the name could have
	// been swapped for a symlink in between.
	if err := fchmodDirFD(child, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", disk, err)
	}
	return nil
}

// Rmdir removes the empty directory disk from dirfd (FORMAT §5.6). With
// DirIV a directory whose only entry is gocryptfs.diriv is empty; the IV is
// moved aside into the parent before the rmdir and put back if the rmdir
// fails, so a racing create can never leave a directory without its IV.
func (v *Volume) Rmdir(dirfd int, disk string) error {
	if !v.DirIV || v.PlaintextNames {
		if err := unix.Unlinkat(dirfd, disk, unix.AT_REMOVEDIR); err != nil {
			return fmt.Errorf("rmdir %s: %w", disk, err)
		}
		return v.removeSidecarIfLong(dirfd, disk)
	}
	child, err := OpenReadDirAt(dirfd, disk)
	if err != nil {
		return err
	}
	defer closeFD(child)
	empty, err := onlyDirIV(child)
	if err != nil {
		return fmt.Errorf("rmdir %s: %w", disk, err)
	}
	if !empty {
		return fmt.Errorf("rmdir %s: %w", disk, unix.ENOTEMPTY)
	}
	var r [8]byte
	rand.Read(r[:])
	aside := DirIVRmdirPrefix + strconv.FormatUint(binary.BigEndian.Uint64(r[:]), 10)
	moved := true
	if err := unix.Renameat(child, nametransform.DirIVFilename, dirfd, aside); err != nil {
		if err != unix.ENOENT {
			return fmt.Errorf("rmdir %s: move IV aside: %w", disk, err)
		}
		moved = false // IV already missing: a damaged directory, still removable
	}
	if err := unix.Unlinkat(dirfd, disk, unix.AT_REMOVEDIR); err != nil {
		if moved {
			_ = unix.Renameat(dirfd, aside, child, nametransform.DirIVFilename)
		}
		return fmt.Errorf("rmdir %s: %w", disk, err)
	}
	if moved {
		_ = unix.Unlinkat(dirfd, aside, 0)
	}
	return v.removeSidecarIfLong(dirfd, disk)
}

func (v *Volume) removeSidecarIfLong(dirfd int, disk string) error {
	if v.IsLong(disk) {
		return RemoveSidecar(dirfd, disk)
	}
	return nil
}

// onlyDirIV reports whether the directory open at fd holds nothing but
// gocryptfs.diriv.
func onlyDirIV(fd int) (bool, error) {
	empty := true
	err := diskio.ReadDirents(fd, func(name string, _ uint64, _ uint8) bool {
		if name != nametransform.DirIVFilename {
			empty = false
			return false
		}
		return true
	})
	return empty, err
}
