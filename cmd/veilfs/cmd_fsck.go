package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/fsck"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/internal/mounttable"
)

var fsckCommand = command{
	name:    "fsck",
	summary: "check a volume for damage, and repair what is safe to repair",
	usage:   fsckUsage,
	run:     runFsck,
}

const fsckUsage = `Usage: veilfs fsck [options] CIPHERDIR

Check the volume in CIPHERDIR, unmounted, for damage: gocryptfs.conf and its
extra unlockers, every directory IV (missing, invalid, or shared by two
directories), every name and long-name sidecar, every file header and
content block, symlink targets, xattrs, and files left behind by crashes.
A sync client's conflict copies are listed as notes, and so are its own
files and folders (Syncthing's .stfolder and .syncthing.*.tmp,
desktop.ini, .DS_Store, ...), which are not the volume's: nothing in
them is checked, and --repair leaves them alone. Nothing is written
unless --repair is given.

Each problem is one line: its severity, its kind, the path in CIPHERDIR,
the path in the mounted volume when known, and what is wrong. A summary
follows. With --json the same goes to standard output as one JSON document
(docs/commands.md in the source describes its fields).

--repair fixes only what needs no guess: a missing or invalid IV of a
directory with no names in it (a new one), a directory sharing its IV with
another (its names re-encrypted under a new one), long-name sidecars
without their entry and empty leftover temporaries (removed), and entries
nothing can be read from: names that do not decrypt and files with a bad
header are moved, never deleted, into the directory
veilfs-quarantine-YYYYMMDD-HHMMSS at the root of the volume, under names
that say where they came from. A long name whose .name sidecar is missing
(lost by a sync client) gets it back when this machine's mounts remember
the name; when nothing does, the name is lost, and the entry is renamed
where it is to what a mount shows it as, "lost name H" (H is its hash), so
that gocryptfs and every tool show it: rename it to its real name. A file
with some bad blocks stays where it is: the rest of it is readable. Every
repair is safe if interrupted; run fsck --repair again to finish.

Any unlocker opens the volume: the password, an extra password or keyfile
(veilfs keys), or the master key. The volume must not be mounted.

A reverse volume (veilfs init --reverse) is refused: nothing encrypted of it
is stored. Check a copy of its view instead, which is an ordinary volume.

Options:
      --repair               repair what can be repaired without guessing
      --json                 print the report as JSON (no progress bar)
      --passfile FILE        read the password from the first line of FILE
      --extpass CMD          run CMD with /bin/sh -c, use the first line it prints
      --keyfile FILE         unlock with a keyfile unlocker (veilfs keys)
      --masterkey-file FILE  use the master key in FILE instead of a password
` + recoveryOptionsUsage + `      --masterkey -          read the master key from standard input (or the terminal)
      --masterkey HEX        use this master key (visible to other users: avoid)
  -h, --help                 show this help

Exit codes: 0 no problem (or --repair fixed all of them; notes do not
count); 26 problems were found and are left; 40 a key rotation is
unfinished (run veilfs rotate first); 23 gocryptfs.conf is missing or
needs a newer veilfs, or CIPHERDIR is a reverse volume; 12 wrong password;
6 CIPHERDIR does not exist or is not a directory; 11 CIPHERDIR is mounted,
or the check stopped on an error (the message says which); 1 a usage
error; 9, 14 and 22 the password or master key could not be read, is not
a master key, or is empty.

Examples:
  $ veilfs fsck ~/vault.enc
  $ veilfs fsck --repair ~/vault.enc
  $ veilfs fsck --json --passfile pw.txt ~/vault.enc | jq '.problems[].kind'
`

func runFsck(c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.name)
	var repair, asJSON bool
	fs.BoolVar(&repair, "repair", false, "repair what can be repaired without guessing")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	u := addUnlockFlags(fs)
	ff := addFormatFlags(fs)
	dir, err := c.parseUnlockArgs(cmd, fs, args, u, "CIPHERDIR")
	if err != nil {
		return err
	}
	ff.parsed(fs)
	if err := checkCipherDir(dir); err != nil {
		return err
	}
	if view.IsReverseDir(dir) {
		return errReverseFsck(dir)
	}
	// Before any password is asked for.
	if m, err := mounttable.MountedAt(dir); err != nil {
		return err
	} else if m != "" {
		return errFsckMounted(dir, m)
	}
	write := func(r *fsck.Report) error {
		if asJSON {
			return r.WriteJSON(c.stdout)
		}
		return r.WriteText(c.stdout)
	}
	f, _, err := readConfig(dir, false, c.stderr)
	var k *unlocked
	var unusable string // why gocryptfs.conf could not be used, when the master key stood in
	switch {
	case err == nil && ff.given():
		return refuseFormatFlags(dir)
	case err != nil && u.usesMasterKey() && configUnusable(err):
		// The master key stands in for the config: check the files with
		// the format assumed (recover.go).
		if err := ff.validate(); err != nil {
			return err
		}
		cause := err
		if f, k, err = c.unlockAssumed(u, ff, dir, cause); err != nil {
			return err
		}
		defer k.wipe()
		unusable = fmt.Sprintf("%s; checked with the master key and the format assumed (%s); write a new %s: veilfs init --masterkey-file FILE [format options] %s",
			messageOf(cause), describeFormat(ff.options()), config.Filename, dir)
	}
	if err != nil && k == nil {
		if errors.Is(err, errCipherDir) {
			return err
		}
		// readConfig's error has the hints; the library's tells damage apart.
		_, lerr := config.Load(filepath.Join(dir, config.Filename))
		p, damaged := fsck.ConfigProblem(lerr)
		if !damaged {
			return err
		}
		if werr := write(fsck.StoppedReport(dir, repair, p)); werr != nil {
			return werr
		}
		return failf(errFsck, []string{"restore gocryptfs.conf from a backup or your sync service's version history, then run veilfs fsck again"},
			"gocryptfs.conf of %s is damaged; nothing else could be checked", dir)
	}
	if f.Rotating() {
		if werr := write(fsck.StoppedReport(dir, repair, fsck.RotationProblem(dir))); werr != nil {
			return werr
		}
		return failf(errRotating, []string{"run 'veilfs rotate " + dir + "' to finish it (with the password it sets: the new one, if it was given --new-passfile), then run veilfs fsck again"},
			"a master-key rotation of %s was interrupted; fsck checks a volume under one key only", dir)
	}
	if k == nil {
		if k, err = c.unlock(u, dir, f, false, "Password: "); err != nil { // fsck refused reverse volumes above
			return err
		}
		defer k.wipe()
	}

	// No bar with --json: its reader is a program.
	bar := newFileBar(c.stderr, asJSON, "checking ")
	rep, err := fsck.Run(dir, f, k.master, fsck.Options{Repair: repair, IVMemory: ivMemoryFile(dir), LongNameMemory: longNameMemoryFile(dir), UnusableConfig: unusable, Progress: func(p fsck.Progress) {
		bar.set(p.Files, p.TotalFiles, p.Bytes, p.TotalBytes)
	}})
	bar.clear()
	switch {
	case errors.Is(err, fsck.ErrMounted):
		return errFsckMounted(dir, "")
	case err != nil:
		return fail(nil, fmt.Errorf("fsck %s: %w", dir, err))
	}
	if err := write(rep); err != nil {
		return err
	}
	s := rep.Summary
	switch {
	case s.Unrepaired == 0:
		return nil
	case repair:
		return failf(errFsck, []string{"the list above says what to do for each; nothing more can be repaired without guessing"},
			"%s left in %s", problemCount(s.Unrepaired), dir)
	default:
		return failf(errFsck, []string{"the list above says what to do for each; 'veilfs fsck --repair " + dir + "' repairs what can be repaired without guessing"},
			"%s found in %s", problemCount(s.Unrepaired), dir)
	}
}

// errReverseFsck refuses a reverse volume: its directory holds the
// plaintext, and the view is computed on each read, so nothing encrypted
// is stored that could be damaged. Its copies are ordinary volumes.
func errReverseFsck(dir string) error {
	return failf(errOpenConf, []string{
		"to check a copy of its encrypted view (a backup), run veilfs fsck on the copy: it is an ordinary volume",
		"to check the view itself, mount it (veilfs mount --reverse " + dir + " MOUNTPOINT) and run veilfs fsck MOUNTPOINT, without --repair: the view is read-only",
	},
		"%s is a reverse volume (it has %s): it holds plaintext, and its encrypted view is computed when read, so there is nothing encrypted on disk to check",
		dir, config.ReverseFilename)
}

func errFsckMounted(dir, at string) error {
	msg := fmt.Errorf("%s is mounted: %w", dir, fsck.ErrMounted)
	if at != "" {
		msg = fmt.Errorf("%s is mounted on %s: %w", dir, at, fsck.ErrMounted)
	}
	return fail(nil, msg, "unmount it (veilfs unmount MOUNTPOINT), then run veilfs fsck again")
}

func problemCount(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}
