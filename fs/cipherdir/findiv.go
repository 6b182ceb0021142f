package cipherdir

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// A directory can lose its gocryptfs.diriv while keeping its names: one
// machine renames the directory while another edits a file inside it, and
// the sync client recreates the old directory for the edited file, without
// the IV that went with the rename. The IV still exists: in the renamed
// copy, in a conflict copy, or in this machine's memory of the IVs it has
// seen. MatchDirIV picks the one candidate that makes the directory's
// names decrypt; nothing is guessed, a directory no candidate fits stays
// as it is.

// DirIVCandidate is an IV that may be a directory's lost one, and where it
// was found (for messages).
type DirIVCandidate struct {
	IV   []byte
	From string
}

// ErrNoDirIVMatch is returned by MatchDirIV when no candidate makes the
// directory's names decrypt.
var ErrNoDirIVMatch = errors.New("no known directory IV decrypts the names")

// MatchDirIV returns the candidate under which every encrypted name in the
// directory dirfd decrypts to a plausible name (nametransform.Plausible),
// and the number of such names. With no encrypted name (names == 0) there
// is nothing to decide by and match is nil. Names carry no MAC, but a
// random IV gives a plausible decryption of one name about once in 256
// million tries, and every name must agree.
func (v *Volume) MatchDirIV(dirfd int, atRoot bool, cands []DirIVCandidate) (match *DirIVCandidate, names int, err error) {
	if v.PlaintextNames || !v.DirIV {
		return nil, 0, nil
	}
	fd, err := diskio.OpenDirNoatime(dirfd)
	if err != nil {
		return nil, 0, fmt.Errorf("open directory: %w", err)
	}
	defer closeFD(fd)
	var encrypted []string
	err = diskio.ReadDirents(fd, func(disk string, _ uint64, _ uint8) bool {
		if v.namedByIV(dirfd, disk) {
			encrypted = append(encrypted, disk)
		}
		return true
	})
	if err != nil || len(encrypted) == 0 {
		return nil, 0, err
	}
	seen := map[string]bool{}
	for i := range cands {
		c := &cands[i]
		if len(c.IV) != nametransform.DirIVLen || bytes.Equal(c.IV, zeroIV) || seen[string(c.IV)] {
			continue
		}
		seen[string(c.IV)] = true
		if v.allDecrypt(dirfd, encrypted, c.IV, atRoot) {
			return c, len(encrypted), nil
		}
	}
	return nil, len(encrypted), ErrNoDirIVMatch
}

// namedByIV reports whether disk is an entry whose name the directory IV
// decrypts: an encrypted name, or a long name whose sidecar is there.
func (v *Volume) namedByIV(dirfd int, disk string) bool {
	switch nametransform.Classify(disk) {
	case nametransform.KindRegular:
		_, client := nametransform.SyncClientFile(disk)
		return !client
	case nametransform.KindLongName:
		_, err := v.ReadSidecar(dirfd, disk)
		return err == nil
	}
	return false
}

// allDecrypt reports whether every name in disks decrypts plausibly under iv.
func (v *Volume) allDecrypt(dirfd int, disks []string, iv []byte, atRoot bool) bool {
	for _, disk := range disks {
		plain, err := v.PlainName(dirfd, disk, iv, atRoot)
		if err != nil || !nametransform.Plausible(plain) {
			return false
		}
	}
	return true
}

// RestoreDirIV creates dirfd/gocryptfs.diriv holding iv. Like WriteDirIV it
// never overwrites: an IV that arrived meanwhile (EEXIST) wins.
func RestoreDirIV(dirfd int, iv []byte) error {
	if len(iv) != nametransform.DirIVLen || bytes.Equal(iv, zeroIV) {
		return fmt.Errorf("restore %s: %w", nametransform.DirIVFilename, ErrBadDirIV)
	}
	return createDirIV(dirfd, iv)
}

// maxIVWalk bounds the directories VolumeDirIVs visits: a volume larger
// than that is searched only in part (the repair is best effort).
const maxIVWalk = 200_000

// VolumeDirIVs returns the IV of every directory of the volume below rootfd
// (gocryptfs.diriv and its conflict copies), each with the ciphertext path
// of the directory it was found in. It never follows a symlink, skips directories that are
// not the volume's (sync clients' own), and stops after maxIVWalk
// directories.
func VolumeDirIVs(rootfd int) ([]DirIVCandidate, error) {
	var out []DirIVCandidate
	visited := 0
	var walk func(fd int, rel string) error
	walk = func(fd int, rel string) error {
		visited++
		if iv, err := ReadDirIV(fd); err == nil {
			out = append(out, DirIVCandidate{IV: iv, From: rel})
		}
		if lost, err := LostIVs(fd, nil); err == nil {
			for _, iv := range lost {
				out = append(out, DirIVCandidate{IV: iv, From: rel + " (a conflict copy of " + nametransform.DirIVFilename + ")"})
			}
		}
		var subdirs []string
		err := diskio.ReadDirents(fd, func(name string, _ uint64, typ uint8) bool {
			if _, client := nametransform.SyncClientFile(name); typ == unix.DT_DIR && !client {
				subdirs = append(subdirs, name)
			}
			return true
		})
		if err != nil {
			return err
		}
		for _, name := range subdirs {
			if visited >= maxIVWalk {
				return nil
			}
			sub, err := OpenReadDirAt(fd, name)
			if err != nil {
				continue // gone meanwhile, or a symlink: not ours to follow
			}
			err = walk(sub, JoinPath(rel, name))
			closeFD(sub)
			if err != nil {
				return err
			}
		}
		return nil
	}
	fd, err := OpenReadDirAt(rootfd, ".")
	if err != nil {
		return nil, err
	}
	defer closeFD(fd)
	return out, walk(fd, "")
}
