package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/syncmem"
	"github.com/veilfs/veilfs/nametransform"
)

var pathCommand = command{
	name:        "path",
	summary:     "translate paths between plaintext and ciphertext, without mounting",
	usage:       pathUsage,
	run:         runPath,
	subcommands: []*command{&pathEncryptCommand, &pathDecryptCommand},
}

const pathUsage = `Usage: veilfs path encrypt|decrypt [options] CIPHERDIR PATH

Translate a path of the volume in CIPHERDIR between its plaintext and its
ciphertext form, without mounting. Use it to find a file in your sync
service's version history or in a backup, where only ciphertext names show
(docs/sync.md tells, step by step, how to restore a file from there), or to
tell what a ciphertext file in CIPHERDIR is.

Commands:
  veilfs path encrypt [options] CIPHERDIR PLAINPATH   the ciphertext path of a plaintext path
  veilfs path decrypt [options] CIPHERDIR CIPHERPATH  the plaintext path of a ciphertext path

Both unlock the volume with any unlocker (a password, --keyfile, the master
key), only read CIPHERDIR, and work while it is mounted too. 'veilfs ls'
lists whole directories with both names.

For a reverse volume (veilfs init --reverse), give its PLAINDIR as
CIPHERDIR: the ciphertext paths are then those of its encrypted view
(veilfs mount --reverse), relative to the view's root, which is also the
root of any copy of it. That tells where a file is in a backup of the view,
and which file a name in such a backup is.

Run 'veilfs help path COMMAND' for the options of a command.

Examples:
  $ veilfs path encrypt ~/vault.enc docs/report.txt
  $ veilfs path decrypt ~/vault.enc Jpz5Z3jBAnf9XfA2vKLjOg/y2iBaR9FuHuT2FeDWuSQSA
  $ veilfs path encrypt ~/Documents taxes/2025.pdf
`

func runPath(c *cli, cmd *command, args []string) error {
	return c.runSubcommand(cmd, args, "encrypt or decrypt")
}

// readOnlyVolume is an unlocked volume opened for reading names and
// listings (path, ls): nothing in CIPHERDIR is written through it, so the
// volume may be mounted meanwhile.
type readOnlyVolume struct {
	*cipherdir.Volume
	// root is an O_PATH descriptor of CIPHERDIR.
	root int
	// reverse is set for a reverse volume: CIPHERDIR is then a PLAINDIR,
	// root its descriptor, and the ciphertext names are those of its view.
	reverse bool
}

// readOnlyFlags are the flags of the commands that open a volume only to
// read it (ls, path encrypt, path decrypt): how to unlock it, the format to
// assume when its gocryptfs.conf cannot be used, and --reverse; what
// openReadOnly takes.
type readOnlyFlags struct {
	unlock  *unlockFlags
	format  *formatFlags
	reverse *bool
}

func addReadOnlyFlags(fs *pflag.FlagSet) readOnlyFlags {
	return readOnlyFlags{unlock: addUnlockFlags(fs), format: addFormatFlags(fs), reverse: addReverseFlag(fs)}
}

// readOnlyUnlockUsage documents the unlock and format flags of
// readOnlyFlags in the usage texts.
var readOnlyUnlockUsage = unlockUsage{masterKeyFile: unlockMasterKeyFileDesc, masterKeyHex: unlockMasterKeyHexDesc, formatFlags: true}.String()

// parseReadOnlyArgs is parseUnlockArgs for these commands; it records
// which format flags were given.
func (c *cli) parseReadOnlyArgs(cmd *command, fs *pflag.FlagSet, args []string, o readOnlyFlags) (dir string, err error) {
	if dir, err = c.parseUnlockArgs(cmd, fs, args, o.unlock); err == nil {
		o.format.parsed(fs)
	}
	return dir, err
}

// openReadOnly unlocks the volume in dir (its reverse config with
// reverse) with whatever u gives (any unlocker, see unlock.go), or opens
// it with the master key and the format ff assumes when its
// gocryptfs.conf cannot be used (recover.go). The caller closes the result.
func (c *cli) openReadOnly(u *unlockFlags, ff *formatFlags, dir string, reverse bool) (*readOnlyVolume, error) {
	f, path, k, err := c.openConfig(u, ff, dir, reverse)
	if err != nil {
		return nil, err
	}
	if k == nil {
		if k, err = c.unlock(u, dir, f, isReverse(path), "Password: "); err != nil {
			return nil, err
		}
	}
	defer k.wipe()
	vol, err := cipherdir.OpenWithConfig(dir, f, k.master)
	if err != nil {
		return nil, fail(errOpenConf, fmt.Errorf("open %s: %w", dir, err))
	}
	root, err := vol.OpenRoot()
	if err != nil {
		vol.Wipe()
		return nil, fail(errCipherDir, err)
	}
	if !isReverse(path) {
		// A long name whose sidecar a sync client lost shows under the
		// name the mounts of this machine remember; nothing is written.
		vol.LongNames = syncmem.ReadLongNames(longNameMemoryFile(dir))
	}
	return &readOnlyVolume{Volume: vol, root: root, reverse: isReverse(path)}, nil
}

func (r *readOnlyVolume) close() {
	_ = unix.Close(r.root)
	r.Wipe()
}

// pathError adds what to do to an error of cipherdir's path functions.
func pathError(err error, dir string) error {
	var missing *cipherdir.MissingDirError
	switch {
	case errors.As(err, &missing):
		return fail(nil, err,
			"the names inside a directory are encrypted with the IV in its gocryptfs.diriv: restore "+
				filepath.Join(dir, filepath.FromSlash(missing.Dir.Cipher()), nametransform.DirIVFilename)+
				" (and the directory) from your sync service's version history or a backup first, then run this again")
	case errors.Is(err, cipherdir.ErrNotInTree):
		return fail(nil, err, "give a path inside the volume, through directories only")
	case errors.Is(err, cipherdir.ErrBadDirIV):
		return fail(nil, err, "the names inside a directory are encrypted with the IV in its gocryptfs.diriv: restore it from your sync service's version history or a backup, then run this again")
	}
	return fail(nil, err)
}

// cipherPathArg makes CIPHERPATH relative to CIPHERDIR dir: an absolute
// path must lie inside dir (also when one of them is reached through a
// symlink); a relative one is taken relative to dir, as 'veilfs path
// encrypt' prints it.
func cipherPathArg(dir, arg string) (string, error) {
	if !filepath.IsAbs(arg) {
		return filepath.ToSlash(arg), nil
	}
	if rel, ok := inside(dir, filepath.Clean(arg)); ok {
		return rel, nil
	}
	// Compare the real paths; the file itself may be gone.
	realDir, err1 := filepath.EvalSymlinks(dir)
	realParent, err2 := filepath.EvalSymlinks(filepath.Dir(arg))
	if err1 == nil && err2 == nil {
		if rel, ok := inside(realDir, filepath.Join(realParent, filepath.Base(arg))); ok {
			return rel, nil
		}
	}
	return "", failf(errUsage, []string{"give the path relative to CIPHERDIR, or an absolute path inside it"},
		"%s is not inside CIPHERDIR %s", arg, dir)
}

// inside returns p relative to dir if p is dir or below it.
func inside(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	if rel == "." {
		rel = ""
	}
	return filepath.ToSlash(rel), true
}
