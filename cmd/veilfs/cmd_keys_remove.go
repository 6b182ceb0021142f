package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher/config"
)

var keysRemoveCommand = command{
	name:    "keys remove",
	aliases: []string{"rm"},
	summary: "remove an unlocker",
	usage:   keysRemoveUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(defineKeysRemoveFlags),
	run:     runKeysRemove,
}

var keysRemoveUsage = `Usage: veilfs keys remove [options] --label NAME CIPHERDIR

Remove the extra unlocker NAME from the volume in CIPHERDIR (alias: rm): its
password or keyfile no longer opens the volume. The primary password cannot
be removed; change it with veilfs passwd.

The volume is unlocked first, with anything that opens it, as for keys add
(the unlocker being removed may be the one used). Every other entry is
checked with the master key on the way, and any that does not authenticate
(damaged, or changed by someone without the key) is reported.

Removing is not revoking: whoever held the unlocker could get the master key
with it, and may have kept it (or an old copy of gocryptfs.conf). To lock
them out, re-encrypt the volume under a new master key afterwards, which
every remaining unlocker receives:
  veilfs rotate CIPHERDIR
(A reverse volume cannot be rotated: make a new reverse config instead,
which the copies of its view made from then on use.)

Options:
      --label NAME           the unlocker to remove (required)
` + keysUnlockUsage("unlock with the keyfile of an unlocker") + `      --reverse              CIPHERDIR is a reverse volume's PLAINDIR: use its
                             .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help                 show this help

Examples:
  $ veilfs keys remove --label laptop ~/vault.enc
  $ veilfs keys remove --passfile pw.txt --label usb ~/vault.enc && veilfs rotate --passfile pw.txt ~/vault.enc
`

// keysRemoveOptions are the values of keys remove's flags.
type keysRemoveOptions struct {
	unlock  *unlockFlags
	label   string
	reverse *bool
}

func defineKeysRemoveFlags(fs *pflag.FlagSet) *keysRemoveOptions {
	o := &keysRemoveOptions{unlock: addUnlockFlags(fs)}
	fs.StringVar(&o.label, "label", "", "the unlocker to remove")
	o.reverse = addReverseFlag(fs)
	return o
}

func runKeysRemove(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, defineKeysRemoveFlags)
	u, reverse := o.unlock, o.reverse
	dir, err := c.parseUnlockArgs(cmd, fs, args, u)
	if err != nil {
		return err
	}
	label := o.label
	if err := checkLabelFlag(cmd, label); err != nil {
		return err
	}
	if strings.EqualFold(label, config.PrimaryLabel) {
		return failf(errUsage, []string{"change it with veilfs passwd; to lock out someone who knew it, run veilfs rotate after that"},
			"the primary password (the one gocryptfs knows) cannot be removed")
	}
	f, path, err := loadConfig(dir, *reverse, c.stderr)
	if err != nil {
		return err
	}
	if !f.HasUnlocker(label) {
		return failf(errUsage, []string{"veilfs keys list " + dir + " shows the labels (letter case matters)"},
			"%s has no unlocker labelled %q", dir, label)
	}

	k, err := c.unlock(u, dir, f, isReverse(path), "Password: ")
	if err != nil {
		return err
	}
	defer k.wipe()

	_, bad := f.CheckUnlockers(k.master)
	if err := f.RemoveUnlocker(label); err != nil {
		return fmt.Errorf("remove unlocker %q from %s: %w", label, dir, err)
	}
	if err := saveConfig(path, f, func(g *config.File) error {
		if g.HasUnlocker(label) {
			return fmt.Errorf("unlocker %q is still there", label)
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Removed unlocker %q from %s\n", label, dir)
	if k.label == label {
		warningf(c.stderr, "you unlocked with %q: it no longer opens the volume", label)
	}
	if slices.Contains(bad, label) {
		warningf(c.stderr, "the removed entry did not authenticate with the master key: it was damaged, or relabelled by someone without the key")
	}
	for _, b := range bad {
		if b != label {
			warningf(c.stderr, "unlocker %q does not authenticate with the master key (damaged, or changed by someone without the key); remove it too: veilfs keys remove --label %s %s", b, b, dir)
		}
	}
	warningf(c.stderr, "whoever held unlocker %q may still have the master key (anyone who unlocked the volume could have kept it)", label)
	if isReverse(path) {
		// rotate refuses a reverse volume: its view gets a new key from a
		// new config instead.
		hintf(c.stderr, "to lock them out of the copies of the view made from now on, make a new reverse config: move %s away, then run veilfs init --reverse %s", path, dir)
		return nil
	}
	hintf(c.stderr, "to lock them out, re-encrypt the volume under a new master key: veilfs rotate %s", dir)
	return nil
}
