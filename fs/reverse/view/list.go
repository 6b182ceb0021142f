package view

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// virtualMode is the mode ListDir gives the files that exist only
// in the view; a listing only needs their type.
const virtualMode = unix.S_IFREG | 0o444

// ListDir is cipherdir.Volume.ListDir for a reverse volume: it lists the directory
// of the view at p (a path from EncryptPath or DecryptPath
// whose plaintext is a directory), as the view shows it unless mount-time
// exclusions hide some of it. Each plaintext entry has Disk set to its
// name in the view and CipherSize to its size there; the view's own files
// follow: the directory's gocryptfs.diriv, each long name's sidecar and,
// in the root, gocryptfs.conf. An entry whose name the view cannot show
// (the reverse config itself) is left out, as the view leaves it out.
func ListDir(v *cipherdir.Volume, rootfd int, p *cipherdir.VolumePath) ([]cipherdir.ListEntry, error) {
	pdir, cdir := plainRel(p), p.Cipher()
	dirfd, err := cipherdir.OpenDirAt(rootfd, pdir)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := cipherdir.OpenReadDirAt(dirfd, ".")
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []cipherdir.ListEntry
	err = diskio.ReadDirents(fd, func(plain string, _ uint64, _ uint8) bool {
		disk, cname, err := Name(v, plain, cdir)
		if errors.Is(err, ErrNotInView) {
			return true
		}
		step := cipherdir.PathStep{Plain: plain, Disk: disk}
		if err != nil {
			// Only a name no kernel hands out fails here; show it as
			// one that has no name in the view.
			out = append(out, cipherdir.ListEntry{Disk: "?", Role: cipherdir.RoleEntry, Step: cipherdir.PathStep{Plain: plain, Disk: "?"}, NameErr: err})
			return true
		}
		if disk != cname {
			step.Sidecar = nametransform.SidecarName(disk)
		}
		e := cipherdir.ListEntry{Disk: disk, Role: cipherdir.RoleEntry, Step: step}
		statEntry(v, dirfd, cipherdir.JoinPath(cdir, disk), &e)
		out = append(out, e)
		if step.Sidecar != "" {
			out = append(out, cipherdir.ListEntry{Disk: step.Sidecar, Role: cipherdir.RoleSidecar, Step: step, Mode: virtualMode,
				CipherSize: int64(len(cname)), Size: int64(len(cname))})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list plaintext directory %s: %w", p.Plain(), err)
	}
	if iv := DirIV(v, cdir); v.DirIV && iv != nil {
		out = append(out, cipherdir.ListEntry{Disk: nametransform.DirIVFilename, Role: cipherdir.RoleDirIV, Mode: virtualMode,
			CipherSize: int64(len(iv)), Size: int64(len(iv))})
	}
	if cdir == "" {
		e := cipherdir.ListEntry{Disk: config.Filename, Role: cipherdir.RoleConfig}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, config.ReverseFilename, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			e.StatErr = fmt.Errorf("stat %s: %w", config.ReverseFilename, err)
		} else {
			e.Mode, e.CipherSize, e.Size = uint32(st.Mode), st.Size, st.Size
		}
		out = append(out, e)
	}
	return out, nil
}

// statEntry fills in the mode and sizes of the plaintext entry e of
// dirfd, shown at cpath in the view: the plaintext size (the length of the
// target for a symlink) and the size the view shows.
func statEntry(v *cipherdir.Volume, dirfd int, cpath string, e *cipherdir.ListEntry) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, e.Step.Plain, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		e.StatErr = fmt.Errorf("stat %s: %w", e.Step.Plain, err)
		return
	}
	e.Mode, e.CipherSize, e.Size = uint32(st.Mode), st.Size, st.Size
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.CipherSize = v.Content.CipherSize(st.Size)
	case unix.S_IFLNK:
		buf := make([]byte, cipherdir.MaxLinkLen+1)
		n, err := unix.Readlinkat(dirfd, e.Step.Plain, buf)
		if err != nil {
			e.SizeErr = fmt.Errorf("readlink %s: %w", e.Step.Plain, err)
			return
		}
		target, err := LinkTarget(v, string(buf[:n]), cpath)
		if err != nil {
			e.SizeErr = err
			return
		}
		e.Size, e.CipherSize = int64(n), int64(len(target))
	}
}

// plainRel is the plaintext path of p relative to the plaintext
// directory, "" for its root.
func plainRel(p *cipherdir.VolumePath) string {
	var rel string
	for _, s := range p.Steps {
		rel = cipherdir.JoinPath(rel, s.Plain)
	}
	return rel
}
