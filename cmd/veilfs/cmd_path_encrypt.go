package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

var pathEncryptCommand = command{
	name:    "path encrypt",
	summary: "print the ciphertext path of a plaintext path",
	usage:   pathEncryptUsage,
	args:    []string{"CIPHERDIR", "PLAINPATH"},
	flags:   declare(definePathEncryptFlags),
	run:     runPathEncrypt,
}

var pathEncryptUsage = `Usage: veilfs path encrypt [options] CIPHERDIR PLAINPATH

Print the ciphertext path of PLAINPATH, a path in the volume in CIPHERDIR
(from its root, with or without a leading /): relative to CIPHERDIR, or a
full path with --absolute. For a long name (longer, encrypted, than the
volume's long-name limit) that is the hashed gocryptfs.longname.* file; the
encrypted name itself is in the .name sidecar beside it (--all prints it).

PLAINPATH need not exist: the name a deleted file had can still be
computed, as long as its directories exist, because the names inside a
directory are encrypted with the IV in its gocryptfs.diriv. (Volumes made
with --deterministic-names or --plaintextnames have no such files and need
no directory.) A name with a conflict marker, as a mount shows a sync
client's conflict copy ("report (conflict 2026-11-27 laptop).txt"), gives
the ciphertext path of that copy.

--all prints every ciphertext file needed to read the file back, one per
line, from the inside out: the file (or directory) itself, its own
gocryptfs.diriv if it is a directory, its long-name sidecar, then the
gocryptfs.diriv and sidecar of each directory above it up to the root. The
ones not in CIPHERDIR now are named on standard error. gocryptfs.conf is
never listed: an old copy of it would bring back old passwords.

The volume is unlocked with any unlocker: a password (the primary one or
that of any password unlocker), --keyfile, or the master key. Nothing in
CIPHERDIR is written; the volume may be mounted.

Options:
      --absolute             print full paths (default: relative to CIPHERDIR)
      --all                  print every ciphertext file the path needs, see above
` + readOnlyUnlockUsage + `      --reverse              CIPHERDIR is a reverse volume's PLAINDIR: use its
                             .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help                 show this help

For a reverse volume, CIPHERDIR is its PLAINDIR, and the path printed is
the one PLAINPATH has in the encrypted view, relative to the view's root
(--absolute is refused); --all adds the view's gocryptfs.diriv and .name
files that a copy of it needs. PLAINPATH may also be a full path into
PLAINDIR. Every name of the view is computed from its path, so nothing
needs to exist. Paths a mount hides with --exclude get a name all the same.

Exit codes: 0 printed (also for a path that does not exist now); 11 a
directory on the way is missing (the message names it and its ciphertext
path) or PLAINPATH goes through a file; 12 wrong password.

Examples:
  $ veilfs path encrypt ~/vault.enc docs/report.txt
  $ veilfs path encrypt --all --absolute ~/vault.enc "/docs/old notes/list.md"
  $ veilfs path encrypt --all ~/Documents ~/Documents/taxes/2025.pdf
`

// pathEncryptOptions are the values of path encrypt's flags.
type pathEncryptOptions struct {
	readOnlyFlags
	absolute, all bool
}

func definePathEncryptFlags(fs *pflag.FlagSet) *pathEncryptOptions {
	// Options come before CIPHERDIR: a path after it may start with "-"
	// (base64url names do), and must not be taken for a flag.
	fs.SetInterspersed(false)
	o := &pathEncryptOptions{readOnlyFlags: addReadOnlyFlags(fs)}
	fs.BoolVar(&o.absolute, "absolute", false, "print full paths")
	fs.BoolVar(&o.all, "all", false, "print every ciphertext file the path needs")
	return o
}

func runPathEncrypt(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, definePathEncryptFlags)
	dir, err := c.parseReadOnlyArgs(cmd, fs, args, o.readOnlyFlags)
	if err != nil {
		return err
	}
	u, ff, reverse, absolute, all := o.unlock, o.format, o.reverse, o.absolute, o.all
	if absolute && readsReverseConfig(dir, *reverse) {
		return errReverseAbsolute(dir)
	}
	vol, err := c.openReadOnly(u, ff, dir, *reverse)
	if err != nil {
		return err
	}
	defer vol.close()
	if vol.reverse {
		return c.reverseEncrypt(vol, dir, fs.Arg(1), all)
	}

	p, err := vol.EncryptPath(vol.root, fs.Arg(1))
	if err != nil {
		return pathError(err, dir)
	}
	show := func(rel string) string {
		switch {
		case absolute:
			return filepath.Join(dir, filepath.FromSlash(rel))
		case rel == "":
			return "."
		}
		return rel
	}
	files := []string{p.Cipher()}
	if all {
		files = vol.RestoreFiles(p)
	}
	var gone []string
	for _, f := range files {
		fmt.Fprintln(c.stdout, show(f))
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			gone = append(gone, show(f))
		}
	}
	switch {
	case len(gone) == 0:
	case !all:
		hintf(c.stderr, "%s is not in CIPHERDIR now; printed is the name it has when it exists (--all lists every file to restore)", p.Plain())
	default:
		hintf(c.stderr, "not in CIPHERDIR now, restore from your sync service's version history or a backup: %s", strings.Join(gone, ", "))
	}
	return nil
}
