package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/rotate"
)

var rotateCommand = command{
	name:    "rotate",
	summary: "re-encrypt a volume under a new master key",
	usage:   rotateUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(defineRotateFlags),
	run:     runRotate,
}

var rotateUsage = `Usage: veilfs rotate [options] CIPHERDIR

Re-encrypt the volume in CIPHERDIR, in place, under a new random master key:
every file's content, every name, symlink target and xattr. Use it when a
password leaked, a device was lost or someone's access must be revoked:
changing the password (veilfs passwd) does not lock out anyone who ever had
the master key or an old copy of gocryptfs.conf, rotation does.

The volume must not be mounted. Extra disk space is one file's size at a
time. Modes, owners, times and hard links are kept. The old key keeps
working until the very end, when gocryptfs.conf switches to the new key in
one atomic step.

If rotate is interrupted (Ctrl-C, crash, power loss), the volume refuses to
mount until 'veilfs rotate CIPHERDIR' is run again; it finishes the job from
where it stopped. Nothing is lost. It unlocks with what the rotation sets:
the password (the new one, if --new-passfile was given) or a keyfile or
extra password; never with the old master key, whose holders are locked
out. The journal (gocryptfs.rotation) is authenticated: a changed one is
refused, and nothing is touched.

Any unlocker opens the volume: the password, an extra password or keyfile
(veilfs keys), or the master key. The primary password stays the same unless
--new-passfile is given; when something else unlocked the volume, a new
primary password is asked for. To revoke someone, remove their unlocker first
(veilfs keys remove), then rotate.

Extra unlockers are re-enrolled: each one kept gets a fresh key pair bound to
the new key, which needs its secret (whoever held the old master key knows
the old key pairs and could otherwise seal a key of their own to them). The
one that unlocked is kept; rotate asks on the terminal for each other one's
password or keyfile path (Enter removes it), or takes them from
--keep-unlocker LABEL=FILE. Without a terminal, an unlocker whose secret is
not given makes rotate refuse, unless --drop-unlockers removes it.

The new master key is printed once at the end, as by init.

A reverse volume (veilfs init --reverse) is refused: its files are
plaintext. For a new master key, make a new reverse config instead.

Options:
` + unlockUsage{}.String() + `      --new-passfile FILE    set this new password (first line of FILE)
      --xchacha              switch content encryption to XChaCha20-Poly1305
      --longnamemax N        switch the long-name threshold to N (62..255)
      --keep-unlocker LABEL=FILE  keep extra unlocker LABEL (FILE: its passfile or keyfile)
      --drop-unlockers       remove the extra unlockers whose secret is not given
  -q, --quiet                no progress bar, no summary (errors still shown)
  -h, --help                 show this help

Exit codes: 0 done; 1 an extra unlocker's secret is missing (nothing was
changed); 12 wrong password (also an extra unlocker's); 11 a file could not be rewritten
(the message names it; the volume is unharmed, fix it and run rotate again);
23 CIPHERDIR is a reverse volume, or its rotation journal was refused;
40 when another command meets an unfinished rotation.

Examples:
  $ veilfs rotate ~/vault.enc
  $ veilfs rotate --passfile pw.txt --new-passfile new-pw.txt ~/vault.enc
  $ veilfs rotate --xchacha ~/vault.enc
  $ veilfs rotate --keyfile usb.key --keep-unlocker laptop=laptop-pw.txt --drop-unlockers ~/vault.enc
`

// rotateOptions are the values of rotate's flags.
type rotateOptions struct {
	unlock        *unlockFlags
	newPassfile   string
	format        config.FormatChange
	quiet         bool
	keep          []string
	dropUnlockers bool
}

func defineRotateFlags(fs *pflag.FlagSet) *rotateOptions {
	o := &rotateOptions{unlock: addUnlockFlags(fs)}
	fs.StringVar(&o.newPassfile, "new-passfile", "", "read the new password from `FILE`")
	fs.BoolVar(&o.format.XChaCha, "xchacha", false, "switch content encryption to XChaCha20-Poly1305")
	fs.IntVar(&o.format.LongNameMax, "longnamemax", 0, "switch the long-name threshold to `N`")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress bar and no summary")
	fs.StringArrayVar(&o.keep, "keep-unlocker", nil, "keep the extra unlocker `LABEL=FILE` (its passfile or keyfile)")
	fs.BoolVar(&o.dropUnlockers, "drop-unlockers", false, "remove the extra unlockers whose secret is not given")
	return o
}

func runRotate(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, defineRotateFlags)
	u := o.unlock
	dir, err := c.parseUnlockArgs(cmd, fs, args, u)
	if err != nil {
		return err
	}
	newPassfile, format, quiet, keep, dropUnlockers := o.newPassfile, o.format, o.quiet, o.keep, o.dropUnlockers
	f, path, err := readConfig(dir, false, c.stderr)
	if err != nil {
		return err
	}
	if isReverse(path) {
		// Rewriting "the volume's files" here would mean rewriting the
		// plaintext: refuse before a password is asked for.
		return failf(errOpenConf, []string{
			"for a new master key, make a new reverse config: move " + path + " away, then run veilfs init --reverse " + dir,
			"copies of the view made so far keep the old config (as their gocryptfs.conf) and keep opening with it; the next backup of the new view copies every file again",
		}, "%s is a reverse volume (it has %s): its files are plaintext and its encrypted view is computed when read, so there is nothing to re-encrypt",
			dir, config.ReverseFilename)
	}
	// An interrupted rotation is resumed with the unlockers it set: its
	// journal holds the new master key only as the final config will,
	// which is what locks out whoever held the old key.
	target, err := rotate.Pending(dir, f)
	resuming := err == nil
	switch {
	case resuming:
		if newPassfile != "" || format != (config.FormatChange{}) || len(keep) > 0 || dropUnlockers {
			return failf(errUsage, []string{"run 'veilfs rotate " + dir + "' without --new-passfile, --xchacha, --longnamemax, --keep-unlocker and --drop-unlockers to finish it; change the password afterwards with veilfs passwd"},
				"a rotation of %s was interrupted; it finishes with the password and format it was started with", dir)
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return journalError(dir, err)
	}
	hadRecord := f.HasFormatRecord() // unlock gives f one in memory
	unlockConf, prompt := f, "Password: "
	if resuming {
		unlockConf, prompt = target, "Password (of the interrupted rotation): "
	}
	k, err := c.unlock(u, dir, unlockConf, false, prompt)
	if err != nil {
		if resuming {
			// Instead of the usual hints: the master key init printed
			// cannot recover a rotation's new key.
			return fail(nil, err, "an interrupted rotation opens with the password it sets (the new one, if --new-passfile was given when it started), a keyfile or an extra password; never with the old password (if it changed) or the old master key")
		}
		return err
	}
	defer k.wipe()

	// The primary password stays unless a new one is given; without it
	// (unlocked by another unlocker or the master key) one must be set.
	// A resumed rotation has its password already.
	newPw := k.password
	if !resuming && (newPassfile != "" || newPw == nil) {
		if newPassfile == "" && c.readsStdinToEnd(u) {
			return errStdinTaken()
		}
		if newPw, err = c.readNewPassword(newPassfile); err != nil {
			return err
		}
		defer cipher.Wipe(newPw)
	}
	var secrets map[string][]byte
	if !resuming {
		if secrets, err = c.unlockerSecrets(dir, f, k, keep, dropUnlockers); err != nil {
			return err
		}
		defer wipeSecrets(secrets)
	}
	var removed []string
	// A cost a CIPHERDIR writer may have lowered is not carried over to
	// the new key's wrapping: where the config had no format record
	// (made by gocryptfs or an older veilfs), nothing authenticated it.
	primaryLogN := 0
	if !resuming && !hadRecord {
		primaryLogN = keptScryptLogN(c, f, true, "", "lower it afterwards with veilfs passwd --scryptn %d")
	}

	bar := newFileBar(c.stderr, quiet, "")
	start := time.Now()
	res, err := rotate.Run(dir, f, k.master, rotate.Options{
		Format: format,
		Wrap: func(nf *config.File, newMaster []byte) error {
			if err := nf.Rewrap(newMaster, newPw, primaryLogN); err != nil {
				return err
			}
			// Every extra unlocker kept gets a fresh key pair bound
			// to the new key; a resumed rotation's config has them.
			removed, err = nf.ReenrolUnlockers(k.master, newMaster, secrets)
			return err
		},
		Progress: func(p rotate.Progress) { bar.set(p.Files, p.TotalFiles, p.Bytes, p.TotalBytes) },
		// Only for tests/faults, which must show that it catches a
		// rotation without a journal.
		NoJournal: os.Getenv("VEILFS_TEST_ROTATE_NO_JOURNAL") == "1",
		Warn:      func(msg string) { bar.clear(); warningf(c.stderr, "%s", msg) },
	})
	bar.clear()
	switch {
	case errors.Is(err, rotate.ErrAlreadyDone):
		fmt.Fprintf(c.stdout, "The rotation of %s had already finished; removed its leftover journal.\n", dir)
		return nil
	case errors.Is(err, rotate.ErrMounted):
		return fail(nil, err, "unmount it (veilfs unmount MOUNTPOINT), then run veilfs rotate again")
	case resuming && u.usesMasterKey() && errors.Is(err, rotate.ErrJournalInvalid):
		return fail(errOpenConf, err, "nothing was changed; an interrupted rotation resumes with its password, keyfile or extra password, not a master key: the old key opens nothing of its journal, and the new one is shown only at the end")
	case errors.Is(err, rotate.ErrJournalInvalid), errors.Is(err, rotate.ErrJournalVersion):
		return journalError(dir, err)
	case errors.Is(err, rotate.ErrJournalMissing):
		return fail(nil, err, "files already rewritten need the new key that only the journal holds: restore "+
			rotate.JournalName+" into "+dir+" from a backup or your sync service's history, then run 'veilfs rotate "+dir+"' again")
	case err != nil:
		return fail(nil, fmt.Errorf("rotate %s: %w", dir, err),
			"nothing is lost: fix the problem, then run 'veilfs rotate "+dir+"' again to finish (with the password it sets: the new one if --new-passfile was given)")
	}
	defer cipher.Wipe(res.NewMaster)
	if !quiet {
		printRotateSummary(c.stderr, res, time.Since(start))
	}
	printRotateDone(c.stdout, dir, res.NewMaster)
	if !resuming {
		printReenrolled(c.stdout, dir, keptLabels(f, secrets), removed)
	}
	return nil
}

// journalError explains a rotation journal that rotate refused. Nothing
// was changed: the journal is checked whole before anything is done.
func journalError(dir string, err error) error {
	if errors.Is(err, rotate.ErrJournalVersion) {
		return fail(errOpenConf, err,
			"nothing was changed; finish the rotation with the veilfs version that started it, then run 'veilfs rotate "+dir+"' again with this one: the old journal exposed the new key to whoever held the old one")
	}
	return fail(errOpenConf, err,
		"nothing was changed; "+rotate.JournalName+" was damaged or changed by someone without the key",
		"restore "+rotate.JournalName+" into "+dir+" from a backup or your sync service's history (the version from when the rotation stopped), then run 'veilfs rotate "+dir+"' again")
}

func printRotateSummary(w io.Writer, res *rotate.Result, took time.Duration) {
	p := res.Progress
	secs := max(took.Seconds(), 1e-3)
	verb := "Rotated"
	if res.Resumed {
		verb = "Finished the interrupted rotation:"
	}
	fmt.Fprintf(w, "%s %d files (%.1f MB) and %d directories in %.1f s: %.1f MB/s, %.0f files/s\n",
		verb, p.Files, float64(p.Bytes)/1e6, p.Dirs, took.Seconds(), float64(p.Bytes)/1e6/secs, float64(p.Files)/secs)
}

// printRotateDone prints the new master key once, laid out as init does.
func printRotateDone(w io.Writer, dir string, master []byte) {
	const indent = "    "
	buf := make([]byte, 0, 512)
	buf = fmt.Appendf(buf, "%s is now encrypted under a new master key:\n\n%s", dir, indent)
	buf = appendMasterKey(buf, master, indent)
	buf = append(buf, `

Write it down and keep it offline. The old master key and old copies of
gocryptfs.conf no longer open this volume. They still decrypt OLD copies
of its ciphertext (backups, your sync service's version history): delete
those where the old key may have leaked.
`...)
	w.Write(buf)
	cipher.Wipe(buf)
}
