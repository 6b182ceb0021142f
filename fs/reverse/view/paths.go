package view

// Whole paths of a reverse volume (FORMAT §10), in both directions, for
// 'veilfs path' on a PLAINDIR: which name a plaintext file has in the
// view (to find it in a backup of the view) and which plaintext file a
// name of the view (or of a backup of it) is. Nothing is written, and no
// mount is needed: every name of the view is computed from paths.
//
// A cipherdir.VolumePath here has the same meaning as for a forward
// volume, with the view in the place of CIPHERDIR: Steps[i].Disk and
// Sidecar are the names in the view, Plain the names in the plaintext
// directory, and Exists/IsDir tell about the plaintext object. So
// Volume.RestoreFiles lists the files of the view a copy of the object
// needs.

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// EncryptPath maps plain, a path in the plaintext directory
// (relative to it, a leading "/" allowed), to its path in the reverse
// view. The names depend on the path alone (each directory's IV derives
// from its path in the view), so plain need not exist; it cannot be the
// reverse config, which the view shows as gocryptfs.conf (ErrNotInView).
//
// rootfd, an O_PATH descriptor of the plaintext directory, is used only to
// fill in Exists and IsDir and to refuse a path that goes through a file
// or a symlink (cipherdir.ErrNotInTree): the view shows a symlink as a symlink, so
// nothing is below it. With rootfd -1 the path is only computed.
//
// Mount-time exclusions (--exclude) are not known here: an excluded path
// gets the name it would have, though the view does not show it.
func EncryptPath(v *cipherdir.Volume, rootfd int, plain string) (*cipherdir.VolumePath, error) {
	comps, err := cipherdir.SplitPath(plain)
	if err != nil {
		return nil, err
	}
	w, err := v.NewWalker(rootfd)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	p := &cipherdir.VolumePath{}
	for i, name := range comps {
		cdir := p.Cipher()
		disk, cname, err := Name(v, name, cdir)
		if err != nil {
			return nil, inDir(plainRel(p), err) // err names the name
		}
		step := cipherdir.PathStep{Plain: name, Disk: disk}
		if disk != cname {
			step.Sidecar = nametransform.SidecarName(disk)
		}
		p.Steps = append(p.Steps, step)
		if i < len(comps)-1 {
			if err := w.Descend(name, p.Plain()); err != nil {
				return nil, err
			}
		}
	}
	if err := statPlain(w, p); err != nil {
		return nil, err
	}
	return p, nil
}

// DecryptPath maps viewPath, a path in the reverse view (relative
// to its root, a leading "/" allowed), to the plaintext path of what it
// is, with role saying what that is, as DecryptPath does for a forward
// volume: an entry is itself; a virtual gocryptfs.diriv belongs to its
// directory; a long-name sidecar to the entry whose name it holds;
// gocryptfs.conf in the root is the reverse config, shown for the root.
//
// A short name decrypts with the IV derived from its directory's path, so
// its plaintext need not exist any more (a file deleted since a backup of
// the view was made). A long name is a hash: it is found by encrypting
// the names in its plaintext directory, which must therefore exist, and
// an entry of that name with it. The directories on the way must be
// directories in the plaintext tree when they exist (cipherdir.ErrNotInTree). A
// name the view cannot show gives an error matching ErrNotInView; a
// name that does not decrypt, nametransform's error.
func DecryptPath(v *cipherdir.Volume, rootfd int, viewPath string) (p *cipherdir.VolumePath, role cipherdir.FileRole, err error) {
	comps, err := cipherdir.SplitPath(viewPath)
	if err != nil {
		return nil, 0, err
	}
	w, err := v.NewWalker(rootfd)
	if err != nil {
		return nil, 0, err
	}
	defer w.Close()
	p = &cipherdir.VolumePath{}
	for i, name := range comps {
		last, cdir := i == len(comps)-1, p.Cipher()
		vr := Classify(v, name, cdir)
		if vr != KindEntry && vr != KindInvalid && !last {
			return nil, 0, fmt.Errorf("%s is one of the view's own files, not a directory: %w", cipherdir.JoinPath(cdir, name), cipherdir.ErrNotInTree)
		}
		switch vr {
		case KindInvalid:
			return nil, 0, fmt.Errorf("%s: the view has no such name: %w", cipherdir.JoinPath(cdir, name), ErrNotInView)
		case KindConfig:
			return p, cipherdir.RoleConfig, statPlain(w, p)
		case KindDirIV:
			return p, cipherdir.RoleDirIV, statPlain(w, p)
		}
		disk := name
		if vr == KindSidecar {
			disk = strings.TrimSuffix(name, nametransform.LongNameSuffix)
		}
		plain, err := PlainName(v, disk, cdir, lister(w, p, disk))
		if err != nil {
			return nil, 0, inDir(cdir, err) // err names the name
		}
		step := cipherdir.PathStep{Plain: plain, Disk: disk}
		if v.IsLong(disk) {
			step.Sidecar = nametransform.SidecarName(disk)
		}
		p.Steps = append(p.Steps, step)
		if vr == KindSidecar {
			return p, cipherdir.RoleSidecar, statPlain(w, p)
		}
		if !last {
			if err := w.Descend(plain, p.Plain()); err != nil {
				return nil, 0, err
			}
		}
	}
	return p, cipherdir.RoleEntry, statPlain(w, p)
}

// inDir adds the directory dir to an error about one of its names.
func inDir(dir string, err error) error {
	if dir == "" {
		return err
	}
	return fmt.Errorf("in %s: %w", dir, err)
}

// lister returns the function PlainName calls to enumerate the
// plaintext names of the current directory, for the long name disk of
// the directory at p.
func lister(w *cipherdir.Walker, p *cipherdir.VolumePath, disk string) func(fn func(plain string) bool) error {
	return func(fn func(plain string) bool) error {
		if w.FD() < 0 {
			return fmt.Errorf("%s is a long name, found by encrypting the names in the plaintext directory %s, which does not exist: %w",
				disk, p.Plain(), unix.ENOENT)
		}
		fd, err := cipherdir.OpenReadDirAt(w.FD(), ".")
		if err != nil {
			return fmt.Errorf("list plaintext directory %s: %w", p.Plain(), err)
		}
		defer unix.Close(fd)
		if err := diskio.ReadDirents(fd, func(name string, _ uint64, _ uint8) bool { return fn(name) }); err != nil {
			return fmt.Errorf("list plaintext directory %s: %w", p.Plain(), err)
		}
		return nil
	}
}

// statPlain fills in Exists and IsDir for the plaintext object of the
// last step of p (the current directory for no step).
func statPlain(w *cipherdir.Walker, p *cipherdir.VolumePath) error {
	if w.FD() < 0 || len(p.Steps) == 0 {
		p.Exists, p.IsDir = w.FD() >= 0, w.FD() >= 0
		return nil
	}
	var st unix.Stat_t
	err := unix.Fstatat(w.FD(), p.Steps[len(p.Steps)-1].Plain, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case err != nil:
		return fmt.Errorf("stat %s: %w", p.Plain(), err)
	}
	p.Exists, p.IsDir = true, st.Mode&unix.S_IFMT == unix.S_IFDIR
	return nil
}
