package main

// 'veilfs path encrypt|decrypt' on a reverse volume: CIPHERDIR is a
// PLAINDIR, and the ciphertext paths are those of its view, which exists
// only while mounted, or as a copy (a backup). fs/reverse/view computes
// them (paths.go); this file only parses arguments and explains.

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/nametransform"
)

// errReverseAbsolute refuses --absolute for a reverse volume before any
// password is asked for.
func errReverseAbsolute(dir string) error {
	return failf(errUsage, []string{"the paths printed are relative to the root of the view: where it is mounted, or the root of a copy of it"},
		"--absolute cannot be used with a reverse volume: %s holds the plaintext, and the view has no place of its own", dir)
}

// reversePlainArg makes PLAINPATH relative to PLAINDIR dir: a path from
// PLAINDIR's root, as for any volume, or an absolute path into PLAINDIR,
// since for a reverse volume the plaintext is right there.
func reversePlainArg(dir, arg string) string {
	if !filepath.IsAbs(arg) {
		return filepath.ToSlash(arg)
	}
	if rel, ok := inside(dir, filepath.Clean(arg)); ok {
		return rel
	}
	realDir, err1 := filepath.EvalSymlinks(dir)
	realParent, err2 := filepath.EvalSymlinks(filepath.Dir(arg))
	if err1 == nil && err2 == nil {
		if rel, ok := inside(realDir, filepath.Join(realParent, filepath.Base(arg))); ok {
			return rel
		}
	}
	return filepath.ToSlash(arg) // from PLAINDIR's root, leading "/" and all
}

// reverseViewArg checks a path of the view: it can only be relative to the
// view's root, which veilfs does not know.
func reverseViewArg(arg string) (string, error) {
	if filepath.IsAbs(arg) {
		return "", failf(errUsage, []string{"give the path relative to the root of the view (its mountpoint, or the root of a copy of it)"},
			"%s is an absolute path; for a reverse volume, CIPHERPATH is a path in its view", arg)
	}
	return filepath.ToSlash(arg), nil
}

// reverseEncrypt is 'path encrypt' on a reverse volume.
func (c *cli) reverseEncrypt(vol *readOnlyVolume, dir, arg string, all bool) error {
	p, err := view.EncryptPath(vol.Volume, vol.root, reversePlainArg(dir, arg))
	if err != nil {
		return reversePathError(err, dir, true)
	}
	files := []string{p.Cipher()}
	if all {
		// The file and the view's own files it needs, as in CIPHERDIR
		// for a forward volume.
		files = vol.RestoreFiles(p)
	}
	for _, f := range files {
		if f == "" {
			f = "."
		}
		fmt.Fprintln(c.stdout, f)
	}
	if !p.Exists {
		hintf(c.stderr, "%s is not in %s now; printed is the name it has in the view when it exists", p.Plain(), dir)
	}
	return nil
}

// reverseDecrypt is 'path decrypt' on a reverse volume; rel is a path of
// the view.
func (c *cli) reverseDecrypt(vol *readOnlyVolume, dir, rel string) error {
	p, role, err := view.DecryptPath(vol.Volume, vol.root, rel)
	if err != nil {
		return reversePathError(err, dir, false)
	}
	fmt.Fprintln(c.stdout, p.Plain())
	switch role {
	case cipherdir.RoleEntry:
		if !p.Exists {
			hintf(c.stderr, "%s is not in %s now: deleted or renamed since the view was copied", p.Plain(), dir)
		}
	case cipherdir.RoleDirIV:
		hintf(c.stderr, "%s is the gocryptfs.diriv of the directory %s: the IV its names are encrypted with, which the view derives from the directory's path; it is not stored in %s",
			rel, p.Plain(), dir)
	case cipherdir.RoleSidecar:
		hintf(c.stderr, "%s is the long-name sidecar of %s: it holds that name, encrypted; the entry itself is %s in the view",
			rel, p.Plain(), p.Cipher())
	case cipherdir.RoleConfig:
		hintf(c.stderr, "%s is the volume's config, %s shown under the name a copy of the view needs; it is not part of the plaintext tree",
			rel, filepath.Join(dir, config.ReverseFilename))
	}
	return nil
}

// reversePathError adds what to do to an error of cipherdir's reverse
// path functions, of encrypting a path or decrypting one.
func reversePathError(err error, dir string, encrypting bool) error {
	switch {
	case errors.Is(err, cipherdir.ErrNotInTree):
		return fail(nil, err, "give a path inside the view, through its directories only (the view shows a symlink as a symlink, with nothing below it)")
	case encrypting && errors.Is(err, view.ErrNotInView):
		// Only the configs in the root are left out of the view.
		return fail(nil, err, "the view shows "+filepath.Join(dir, config.ReverseFilename)+" as gocryptfs.conf in its root, in place of any plaintext file of that name")
	case errors.Is(err, view.ErrNotInView), errors.Is(err, unix.ENOENT):
		return fail(nil, err,
			"a long name is found by encrypting the names in its plaintext directory: the file may have been deleted or renamed in "+dir+" since the view was copied",
			"names made under another reverse config (the view of another directory, or an older config of this one) do not match this one",
			"a relative CIPHERPATH is taken from the root of the view, not from the current directory")
	case errors.Is(err, nametransform.ErrCorruptName):
		return fail(nil, err,
			"the name is not one this volume's view shows: it comes from the view of another directory, or of another reverse config of this one (a new config gives every name anew)",
			"a relative CIPHERPATH is taken from the root of the view, not from the current directory")
	}
	return fail(nil, err)
}
