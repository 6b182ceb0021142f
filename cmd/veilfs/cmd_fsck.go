package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/fsck"
)

var fsckCommand = command{
	name:    "fsck",
	summary: "check a volume for damage, and repair what is safe to repair",
	usage:   fsckUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(defineFsckFlags),
	run:     runFsck,
}

var fsckUsage = `Usage: veilfs fsck [options] CIPHERDIR

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
` + unlockUsage{formatFlags: true}.String() + `  -h, --help                 show this help

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

// fsckOptions are the values of fsck's flags.
type fsckOptions struct {
	repair, asJSON bool
	unlock         *unlockFlags
	format         *formatFlags
}

func defineFsckFlags(fs *pflag.FlagSet) *fsckOptions {
	o := &fsckOptions{}
	fs.BoolVar(&o.repair, "repair", false, "repair what can be repaired without guessing")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	o.unlock = addUnlockFlags(fs)
	o.format = addFormatFlags(fs)
	return o
}

func runFsck(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, defineFsckFlags)
	u, ff := o.unlock, o.format
	dir, err := c.parseUnlockArgs(cmd, fs, args, u)
	if err != nil {
		return err
	}
	ff.parsed(fs)
	repair, asJSON := o.repair, o.asJSON
	if err := checkCipherDir(dir); err != nil {
		return err
	}
	// Before any password is asked for: fs/fsck tells the volume's state,
	// this maps it to messages and exit codes.
	t, err := fsck.Triage(dir)
	if err != nil {
		return err
	}
	switch t.State {
	case fsck.ReverseVolume:
		return errReverseFsck(dir)
	case fsck.Mounted:
		return errFsckMounted(dir, t.MountedOn)
	}
	write := func(r *fsck.Report) error {
		if asJSON {
			return r.WriteJSON(c.stdout)
		}
		return r.WriteText(c.stdout)
	}
	path := forwardConfigPath(dir, c.stderr) // gocryptfs.conf: not a reverse volume
	f := t.Config
	if t.Err != nil {
		err = configLoadError(dir, path, t.Err)
	}
	var k *unlocked
	var unusable, assumed string // why gocryptfs.conf could not be used, and the format assumed, when the master key stood in
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
		unusable, assumed = messageOf(cause), describeFormat(ff.options())
	}
	if err != nil && k == nil {
		if t.State != fsck.DamagedConfig {
			return err
		}
		if werr := write(t.Report(dir, repair)); werr != nil {
			return werr
		}
		return failf(errFsck, []string{"restore gocryptfs.conf from a backup or your sync service's version history, then run veilfs fsck again"},
			"gocryptfs.conf of %s is damaged; nothing else could be checked", dir)
	}
	if t.State == fsck.RotationUnfinished {
		if werr := write(t.Report(dir, repair)); werr != nil {
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
	rep, err := fsck.Run(dir, f, k.master, fsck.Options{Repair: repair, IVMemory: ivMemoryFile(dir), LongNameMemory: longNameMemoryFile(dir), UnusableConfig: unusable, AssumedFormat: assumed, Progress: func(p fsck.Progress) {
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
