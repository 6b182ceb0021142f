package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

var pathDecryptCommand = command{
	name:    "path decrypt",
	summary: "print the plaintext path of a ciphertext path",
	usage:   pathDecryptUsage,
	args:    []string{"CIPHERDIR", "CIPHERPATH"},
	flags:   declare(definePathDecryptFlags),
	run:     runPathDecrypt,
}

var pathDecryptUsage = `Usage: veilfs path decrypt [options] CIPHERDIR CIPHERPATH

Print the plaintext path, from the volume's root, of CIPHERPATH: a path in
CIPHERDIR, relative to CIPHERDIR (as 'veilfs path encrypt' prints it, and
as your sync service shows it inside the volume's folder) or absolute.

A long name's hashed gocryptfs.longname.* file decrypts through its .name
sidecar. A sync client's conflict copy (Dropbox's "NAME (... conflicted
copy ...)", Syncthing's "NAME.sync-conflict-...", and others) decrypts to
the name a mount shows for it, "report (conflict 2026-11-27 laptop).txt".
For the volume's own files, the path printed is what they belong to, and
a hint on standard error says what they are: a gocryptfs.diriv, the
directory whose names it encrypts; a .name sidecar, the file whose name it
holds; gocryptfs.conf, the root. A sync client's own file or folder
(Syncthing's .stfolder, .stversions/..., .syncthing.*.tmp, desktop.ini,
.DS_Store, ...) gives the directory it is in, and a hint saying whose it
is: it is not part of the volume.

CIPHERPATH need not exist, so a name seen only in your sync service's
version history decrypts too, as long as the directories above it exist
(their gocryptfs.diriv is needed) and, for a long name, its sidecar does.

The volume is unlocked with any unlocker: a password (the primary one or
that of any password unlocker), --keyfile, or the master key. Nothing in
CIPHERDIR is written; the volume may be mounted.

Options:
` + readOnlyUnlockUsage + `      --reverse              CIPHERDIR is a reverse volume's PLAINDIR: use its
                             .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help                 show this help

For a reverse volume, CIPHERDIR is its PLAINDIR, and CIPHERPATH a path in
its encrypted view (veilfs mount --reverse) or in a copy of it, relative to
the view's root. A short name decrypts even if its file is gone from
PLAINDIR; a long name (gocryptfs.longname.*) is found by encrypting the
names in its plaintext directory, so that file must still be there.

Exit codes: 0 printed; 1 CIPHERPATH is outside CIPHERDIR; 11 a name does
not decrypt, a directory on the way is missing, or CIPHERPATH is another
file of the volume's own (the message says which); 12 wrong password.

Examples:
  $ veilfs path decrypt ~/vault.enc Jpz5Z3jBAnf9XfA2vKLjOg/y2iBaR9FuHuT2FeDWuSQSA
  $ veilfs path decrypt ~/vault.enc ~/vault.enc/Jpz5Z3jBAnf9XfA2vKLjOg/gocryptfs.diriv
  $ veilfs path decrypt ~/Documents NzJ8y5mGecX5AtQjJ2oZ7g
`

func definePathDecryptFlags(fs *pflag.FlagSet) readOnlyFlags {
	// Options come before CIPHERDIR: a path after it may start with "-"
	// (base64url names do), and must not be taken for a flag.
	fs.SetInterspersed(false)
	return addReadOnlyFlags(fs)
}

func runPathDecrypt(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, definePathDecryptFlags)
	dir, err := c.parseReadOnlyArgs(cmd, fs, args, o)
	if err != nil {
		return err
	}
	u, ff, reverse := o.unlock, o.format, o.reverse
	argOf := func(arg string) (string, error) { return cipherPathArg(dir, arg) }
	if readsReverseConfig(dir, *reverse) {
		argOf = reverseViewArg
	}
	rel, err := argOf(fs.Arg(1))
	if err != nil {
		return err
	}
	vol, err := c.openReadOnly(u, ff, dir, *reverse)
	if err != nil {
		return err
	}
	defer vol.close()
	if vol.reverse {
		return c.reverseDecrypt(vol, dir, rel)
	}

	p, role, err := vol.DecryptPath(vol.root, rel)
	if err != nil {
		return decryptError(err, dir, rel)
	}
	// A sync client's conflict copy of one of the volume's own files.
	base := path.Base("/" + rel)
	isCopy := role == cipherdir.RoleDirIV && base != nametransform.DirIVFilename ||
		role == cipherdir.RoleSidecar && p.Steps[len(p.Steps)-1].Conflict != nil
	copyOf := ""
	if _, conflict, ok := nametransform.SplitConflict(base); isCopy && ok {
		copyOf = fmt.Sprintf("a %s conflict copy of ", conflict.Client)
	}
	switch role {
	case cipherdir.RoleReserved:
		return failf(nil, []string{"it is a leftover of an interrupted operation, or a file this kind of volume does not use; 'veilfs ls -a CIPHERDIR' lists the volume's own files"},
			"%s is one of the volume's own files, not part of the plaintext tree", rel)
	case cipherdir.RoleEntry:
		fmt.Fprintln(c.stdout, p.Plain())
		var last cipherdir.PathStep
		if len(p.Steps) > 0 {
			last = p.Steps[len(p.Steps)-1]
		}
		switch {
		case last.Lost:
			hintf(c.stderr, "the long name of %s is lost with its .name sidecar %s, and this machine does not remember it: a mount shows it as %q; "+
				"restore the sidecar from your sync service's version history, or rename the file in a mount", rel, last.Sidecar, last.Plain)
		case last.Recalled:
			hintf(c.stderr, "the .name sidecar %s of %s is missing; the name is this machine's memory of it (a mount or veilfs fsck --repair writes it back)",
				last.Sidecar, rel)
		}
	case cipherdir.RoleDirIV:
		fmt.Fprintln(c.stdout, p.Plain())
		if isCopy {
			hintf(c.stderr, "%s is %sthe gocryptfs.diriv of the directory %s: the IV another machine gave that directory; names encrypted with it do not decrypt with the directory's own IV", rel, copyOf, p.Plain())
		} else {
			hintf(c.stderr, "%s is the gocryptfs.diriv of the directory %s: the IV its names are encrypted with; without it none of them decrypts", rel, p.Plain())
		}
	case cipherdir.RoleSidecar:
		fmt.Fprintln(c.stdout, p.Plain())
		hintf(c.stderr, "%s is %sthe long-name sidecar of %s: it holds that name, encrypted; the file itself is %s",
			rel, copyOf, p.Plain(), p.Cipher())
	case cipherdir.RoleConfig:
		fmt.Fprintln(c.stdout, p.Plain())
		hintf(c.stderr, "%s is the volume's config file (its format and its master key, encrypted with the passwords), not part of the plaintext tree", rel)
	case cipherdir.RoleSyncClient:
		fmt.Fprintln(c.stdout, p.Plain())
		hintf(c.stderr, "%s, in the directory %s: not part of the volume; veilfs leaves it alone", syncClientWhat(dir, rel), p.Plain())
	}
	return nil
}

// syncClientWhat says whose rel (relative to CIPHERDIR dir), which
// DecryptPath found to be a sync client's, is: the first component of rel
// that is a client's file or folder (the ones before it are the volume's
// directories).
func syncClientWhat(dir, rel string) string {
	comps := strings.Split(rel, "/")
	for i, comp := range comps {
		client, ok := nametransform.SyncClientFile(comp)
		if !ok {
			continue
		}
		if i < len(comps)-1 {
			return fmt.Sprintf("%s is inside %s, %s's own folder", rel, comp, client)
		}
		what := "file"
		if st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel))); err == nil && st.IsDir() {
			what = "folder"
		}
		return fmt.Sprintf("%s is %s's own %s", rel, client, what)
	}
	return rel + " is a sync client's own file"
}

// decryptError explains a path that does not decrypt.
func decryptError(err error, dir, rel string) error {
	var missing *cipherdir.MissingDirError
	switch {
	case errors.As(err, &missing), errors.Is(err, cipherdir.ErrNotInTree), errors.Is(err, cipherdir.ErrBadDirIV):
		return pathError(err, dir)
	case errors.Is(err, cipherdir.ErrBadSidecar):
		return fail(nil, err, "a long name is stored in the file's .name sidecar: restore the sidecar from your sync service's version history or a backup, then run this again")
	case errors.Is(err, nametransform.ErrCorruptName):
		return fail(nil, err,
			"the name was not written by this volume in this directory: another volume's file, a file added by hand, a damaged name, "+
				"or a directory two machines created at once (each gave it its own gocryptfs.diriv)",
			"a relative CIPHERPATH is taken relative to CIPHERDIR ("+dir+"), not to the current directory")
	}
	return fail(nil, fmt.Errorf("%s: %w", rel, err))
}
