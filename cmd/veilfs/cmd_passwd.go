package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

var passwdCommand = command{
	name:    "passwd",
	summary: "change a password of a volume, or set a new one with the master key",
	usage:   passwdUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(definePasswdFlags),
	run:     runPasswd,
}

var passwdUsage = `Usage: veilfs passwd [options] CIPHERDIR

Change the primary password of the volume in CIPHERDIR (the one gocryptfs
knows), or with --label NAME the password of an extra password unlocker
(see veilfs keys). The master key stays the same, so no file is re-encrypted
and the master key printed by init stays valid; only gocryptfs.conf is
rewritten: the new one is written beside it, read back and checked, and
only then renamed over it. The volume can stay mounted.

To prove you may, give anything that opens the volume: the old password
(the primary one or that of any password unlocker), --keyfile, or the master
key. The old password comes from --passfile or --extpass, else the terminal,
else the first line of standard input. The new password comes from
--new-passfile, else it is asked twice on the terminal, else it is the next
line of standard input.

Lost password: set a new one with the master key printed by init:
  veilfs passwd --masterkey-file key.txt CIPHERDIR
The key is checked against the volume first (against its extra unlockers,
else by decrypting some of its files) and a wrong one is refused with exit
code 12. On a volume that holds no file content and no extra unlocker yet
nothing can tell; veilfs then warns, and a wrong key gives a volume that
looks empty.

Options:
` + passwdUnlockUsage.String() + `      --new-passfile FILE    read the new password from the first line of FILE
      --label NAME           change the password of the extra password unlocker
                             NAME instead of the primary password
      --scryptn N            also change the scrypt cost to log2(N), 10 to 28
                             (default: keep the current cost, but raise one
                             below 16, the default, to 16)
      --reverse              CIPHERDIR is a reverse volume's PLAINDIR: use its
                             .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help                 show this help

For a reverse volume (veilfs init --reverse), give its PLAINDIR: its
.gocryptfs.reverse.conf is rewritten, which the view shows as its
gocryptfs.conf. Copies of the view made before keep the config they were
made with, and with it the old password; copies made afterwards take the
new one.

gocryptfs -passwd also changes the primary password, but it rewrites
gocryptfs.conf without veilfs's extra unlockers: add them again afterwards
with veilfs keys add.

Examples:
  $ veilfs passwd ~/vault.enc
  $ veilfs passwd --passfile old.txt --new-passfile new.txt ~/vault.enc
  $ printf '%s\n%s\n' "$OLD" "$NEW" | veilfs passwd ~/vault.enc
  $ veilfs passwd --masterkey-file /media/usb/vault.key ~/vault.enc
  $ veilfs passwd --label laptop ~/vault.enc
`

// passwdOptions are the values of passwd's flags.
type passwdOptions struct {
	unlock             *unlockFlags
	newPassfile, label string
	logN               int
	reverse            *bool
}

// passwdUnlockUsage documents the unlock flags of passwd, whose secret is
// the old password, or the master key for a recovery.
var passwdUnlockUsage = unlockUsage{
	passfile:      "read the old password from the first line of FILE",
	keyfile:       "unlock with a keyfile instead of the old password",
	masterKeyFile: "unlock with the master key in FILE (recovery)",
	masterKeyStdin: masterKeyStdinDesc + ";\n" +
		"then the new password must come from --new-passfile\n" +
		"unless standard input is a terminal",
}

func definePasswdFlags(fs *pflag.FlagSet) *passwdOptions {
	o := &passwdOptions{unlock: addUnlockFlags(fs)}
	fs.StringVar(&o.newPassfile, "new-passfile", "", "read the new password from `FILE`")
	fs.StringVar(&o.label, "label", "", "change the password unlocker `NAME`")
	fs.IntVar(&o.logN, "scryptn", 0, "new scrypt cost as log2(N)")
	o.reverse = addReverseFlag(fs)
	return o
}

func runPasswd(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, definePasswdFlags)
	u, reverse := o.unlock, o.reverse
	dir, err := c.parseUnlockArgs(cmd, fs, args, u)
	if err != nil {
		return err
	}
	newPassfile, label, logN := o.newPassfile, o.label, o.logN
	if fs.Changed("scryptn") && !cipher.ValidScryptLogN(logN) {
		return errScryptN("passwd", logN)
	}
	if newPassfile == "" && c.readsStdinToEnd(u) {
		return errStdinTaken()
	}
	primary := label == "" || strings.EqualFold(label, config.PrimaryLabel)
	f, path, err := loadConfig(dir, *reverse, c.stderr)
	if err != nil {
		return err
	}
	if !primary {
		if err := checkPasswordUnlocker(f, label, dir); err != nil {
			return err
		}
	}

	k, err := c.unlock(u, dir, f, isReverse(path), "Old password: ")
	if err != nil {
		if errors.Is(err, config.ErrWrongPassword) {
			return fail(nil, err, "the old password (or another unlocker, or the master key) is needed to set a new one", wrongPasswordHint)
		}
		return err
	}
	defer k.wipe()

	newPw, err := c.readNewPassword(newPassfile)
	if err != nil {
		return err
	}
	defer cipher.Wipe(newPw)

	if !fs.Changed("scryptn") {
		logN = keptScryptLogN(c, f, primary, label, "give --scryptn %d to keep it")
	}
	if primary {
		if k.password != nil && bytes.Equal(k.password, newPw) {
			warningf(c.stderr, "the new password is the same as the old one")
		}
		if err := f.Rewrap(k.master, newPw, logN); err != nil {
			return fmt.Errorf("set the new password: %w", err)
		}
	} else if err := f.ChangeUnlockerPassword(k.master, label, newPw, logN); err != nil {
		return fmt.Errorf("set the new password: %w", err)
	}
	if err := saveConfig(path, f, func(g *config.File) error {
		if !primary {
			if ok, _ := g.CheckUnlockers(k.master); !slices.Contains(ok, label) {
				return fmt.Errorf("unlocker %q does not authenticate", label)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	switch {
	case !primary:
		fmt.Fprintf(c.stdout, "Password of unlocker %q changed for %s\n", label, dir)
	case k.label == "":
		fmt.Fprintf(c.stdout, "New password set for %s with the master key\n", dir)
	default:
		fmt.Fprintf(c.stdout, "Password changed for %s\n", dir)
	}
	return nil
}

// keptScryptLogN is the scrypt cost of a new password when --scryptn is not
// given: the current one (0), unless it is below the default. A CIPHERDIR
// writer can lower N in gocryptfs.conf (it is not authenticated) to make
// the password cheaper to guess from the synced config; keeping it would
// carry the attack over to the new password, so it is raised, with a
// notice, and only --scryptn can set a lower cost. keep is the notice's
// last words, with a %d for the current cost: how to keep it.
func keptScryptLogN(c *cli, f *config.File, primary bool, label, keep string) int {
	cur := f.Scrypt.LogN()
	if !primary {
		for _, in := range f.Unlockers() {
			if in.Label == label {
				cur = in.ScryptLogN
			}
		}
	}
	if cur >= cipher.DefaultScryptLogN {
		return 0
	}
	fmt.Fprintf(c.stderr, "veilfs: notice: raising the scrypt cost from 2^%d to 2^%d (the default); "+keep+"\n",
		cur, cipher.DefaultScryptLogN, cur)
	return cipher.DefaultScryptLogN
}

// checkPasswordUnlocker refuses, before any password is asked for, a label
// that names no password unlocker.
func checkPasswordUnlocker(f *config.File, label, dir string) error {
	for _, in := range f.Unlockers() {
		if in.Label != label {
			continue
		}
		if in.Kind != config.KindPassword {
			return failf(errUsage, []string{"to replace a keyfile, add a new keyfile unlocker and remove the old one: veilfs keys add / veilfs keys remove"},
				"unlocker %q is a %s unlocker: it has no password", label, in.Kind)
		}
		return nil
	}
	return failf(errUsage, []string{"veilfs keys list " + dir + " shows the labels"}, "%s has no unlocker labelled %q", dir, label)
}
