package cipherdir

// Whole paths of a reverse volume (FORMAT §10), in both directions, for
// 'veilfs path' on a PLAINDIR: which name a plaintext file has in the
// view (to find it in a backup of the view) and which plaintext file a
// name of the view (or of a backup of it) is. Nothing is written, and no
// mount is needed: every name of the view is computed from paths.
//
// A VolumePath here has the same meaning as for a forward volume, with
// the view in the place of CIPHERDIR: Steps[i].Disk and Sidecar are the
// names in the view, Plain the names in the plaintext directory, and
// Exists/IsDir tell about the plaintext object. So Volume.RestoreFiles
// lists the files of the view a copy of the object needs.

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ReverseEncryptPath maps plain, a path in the plaintext directory
// (relative to it, a leading "/" allowed), to its path in the reverse
// view. The names depend on the path alone (each directory's IV derives
// from its path in the view), so plain need not exist; it cannot be the
// reverse config, which the view shows as gocryptfs.conf (ErrNotInView).
//
// rootfd, an O_PATH descriptor of the plaintext directory, is used only to
// fill in Exists and IsDir and to refuse a path that goes through a file
// or a symlink (ErrNotInTree): the view shows a symlink as a symlink, so
// nothing is below it. With rootfd -1 the path is only computed.
//
// Mount-time exclusions (--exclude) are not known here: an excluded path
// gets the name it would have, though the view does not show it.
func (v *Volume) ReverseEncryptPath(rootfd int, plain string) (*VolumePath, error) {
	comps, err := splitPath(plain)
	if err != nil {
		return nil, err
	}
	w, err := v.reverseWalker(rootfd)
	if err != nil {
		return nil, err
	}
	defer w.close()
	p := &VolumePath{}
	for i, name := range comps {
		cdir := p.Cipher()
		disk, cname, err := v.ReverseName(name, cdir)
		if err != nil {
			return nil, inDir(p.plainRel(), err) // err names the name
		}
		step := PathStep{Plain: name, Disk: disk}
		if disk != cname {
			step.Sidecar = nametransform.SidecarName(disk)
		}
		p.Steps = append(p.Steps, step)
		if i < len(comps)-1 {
			if err := w.descend(name, p.Plain()); err != nil {
				return nil, err
			}
		}
	}
	if err := w.reverseStat(p); err != nil {
		return nil, err
	}
	return p, nil
}

// ReverseDecryptPath maps viewPath, a path in the reverse view (relative
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
// directories in the plaintext tree when they exist (ErrNotInTree). A
// name the view cannot show gives an error matching ErrNotInView; a
// name that does not decrypt, nametransform's error.
func (v *Volume) ReverseDecryptPath(rootfd int, viewPath string) (p *VolumePath, role FileRole, err error) {
	comps, err := splitPath(viewPath)
	if err != nil {
		return nil, 0, err
	}
	w, err := v.reverseWalker(rootfd)
	if err != nil {
		return nil, 0, err
	}
	defer w.close()
	p = &VolumePath{}
	for i, name := range comps {
		last, cdir := i == len(comps)-1, p.Cipher()
		vr := v.ReverseRole(name, cdir)
		if vr != ViewEntry && vr != ViewInvalid && !last {
			return nil, 0, fmt.Errorf("%s is one of the view's own files, not a directory: %w", JoinPath(cdir, name), ErrNotInTree)
		}
		switch vr {
		case ViewInvalid:
			return nil, 0, fmt.Errorf("%s: the view has no such name: %w", JoinPath(cdir, name), ErrNotInView)
		case ViewConfig:
			return p, RoleConfig, w.reverseStat(p)
		case ViewDirIV:
			return p, RoleDirIV, w.reverseStat(p)
		}
		disk := name
		if vr == ViewSidecar {
			disk = strings.TrimSuffix(name, nametransform.LongNameSuffix)
		}
		plain, err := v.ReversePlainName(disk, cdir, w.lister(p, disk))
		if err != nil {
			return nil, 0, inDir(cdir, err) // err names the name
		}
		step := PathStep{Plain: plain, Disk: disk}
		if v.IsLong(disk) {
			step.Sidecar = nametransform.SidecarName(disk)
		}
		p.Steps = append(p.Steps, step)
		if vr == ViewSidecar {
			return p, RoleSidecar, w.reverseStat(p)
		}
		if !last {
			if err := w.descend(plain, p.Plain()); err != nil {
				return nil, 0, err
			}
		}
	}
	return p, RoleEntry, w.reverseStat(p)
}

// inDir adds the directory dir to an error about one of its names.
func inDir(dir string, err error) error {
	if dir == "" {
		return err
	}
	return fmt.Errorf("in %s: %w", dir, err)
}

// reverseWalker is newWalker for a plaintext directory, and rootfd -1
// gives a walker that has no directory from the start.
func (v *Volume) reverseWalker(rootfd int) (*walker, error) {
	if rootfd < 0 {
		return &walker{v: v, fd: -1}, nil
	}
	return v.newWalker(rootfd)
}

// lister returns the function ReversePlainName calls to enumerate the
// plaintext names of the current directory, for the long name disk of
// the directory at p.
func (w *walker) lister(p *VolumePath, disk string) func(fn func(plain string) bool) error {
	return func(fn func(plain string) bool) error {
		if w.fd < 0 {
			return fmt.Errorf("%s is a long name, found by encrypting the names in the plaintext directory %s, which does not exist: %w",
				disk, p.Plain(), unix.ENOENT)
		}
		fd, err := OpenReadDirAt(w.fd, ".")
		if err != nil {
			return fmt.Errorf("list plaintext directory %s: %w", p.Plain(), err)
		}
		defer closeFD(fd)
		if err := diskio.ReadDirents(fd, func(name string, _ uint64, _ uint8) bool { return fn(name) }); err != nil {
			return fmt.Errorf("list plaintext directory %s: %w", p.Plain(), err)
		}
		return nil
	}
}

// reverseStat fills in Exists and IsDir for the plaintext object of the
// last step of p (the current directory for no step).
func (w *walker) reverseStat(p *VolumePath) error {
	if w.fd < 0 || len(p.Steps) == 0 {
		p.Exists, p.IsDir = w.fd >= 0, w.fd >= 0
		return nil
	}
	var st unix.Stat_t
	err := unix.Fstatat(w.fd, p.Steps[len(p.Steps)-1].Plain, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil
	case err != nil:
		return fmt.Errorf("stat %s: %w", p.Plain(), err)
	}
	p.Exists, p.IsDir = true, st.Mode&unix.S_IFMT == unix.S_IFDIR
	return nil
}
