package main

import (
	"fmt"
	"strings"

	"github.com/veilfs/veilfs/cipher/config"
)

var keysCommand = command{
	name:        "keys",
	summary:     "manage a volume's extra unlockers (more passwords, keyfiles)",
	usage:       keysUsage,
	run:         runKeys,
	subcommands: []*command{&keysAddCommand, &keysRemoveCommand, &keysListCommand},
}

const keysUsage = `Usage: veilfs keys COMMAND [options] CIPHERDIR

Manage the extra unlockers of the volume in CIPHERDIR: more ways into it than
its primary password (the one gocryptfs knows). An unlocker is a password of
its own or a keyfile, with a label. It opens the volume wherever a password
is asked for (mount, passwd, keys, rotate): type its password as usual, or
give its keyfile with --keyfile FILE.

Commands:
  veilfs keys add [options] --label NAME CIPHERDIR     add a password or keyfile unlocker
  veilfs keys remove [options] --label NAME CIPHERDIR  remove an unlocker (alias: rm)
  veilfs keys list CIPHERDIR                           show the unlockers (alias: ls)

Every unlocker opens the master key, so each one is worth the master key
itself: whoever held an unlocker you remove may have kept the master key.
'veilfs rotate CIPHERDIR' re-encrypts the volume under a new master key and
gives it to every remaining unlocker; that locks the removed ones out.

The unlockers live in gocryptfs.conf, in a field gocryptfs ignores, so
gocryptfs still mounts the volume with the primary password. But
'gocryptfs -passwd' rewrites the file without them: add them again
afterwards with veilfs keys add.

For a reverse volume (veilfs init --reverse), give its PLAINDIR: the
unlockers go into PLAINDIR/.gocryptfs.reverse.conf, which the view shows as
its gocryptfs.conf, so the copies of the view made from then on have them.

Run 'veilfs help keys COMMAND' for the options of a command.

Examples:
  $ veilfs keys add --label laptop ~/vault.enc
  $ veilfs keys add --label usb --new-keyfile /media/usb/vault.keyfile ~/vault.enc
  $ veilfs keys list ~/vault.enc
  $ veilfs keys remove --label laptop ~/vault.enc
`

func runKeys(c *cli, cmd *command, args []string) error {
	return c.runSubcommand(cmd, args, "add, remove or list")
}

// keysUnlockUsage documents the unlock flags of keys add and keys remove,
// whose secret unlocks the volume to change its unlockers; keyfile says
// which keyfile.
func keysUnlockUsage(keyfile string) string {
	return unlockUsage{
		passfile:       "unlock with the password in the first line of FILE",
		extpass:        "unlock with the first line CMD prints (/bin/sh -c)",
		keyfile:        keyfile,
		masterKeyFile:  unlockMasterKeyFileDesc,
		masterKeyStdin: "unlock with the master key from standard input (or the terminal)",
		masterKeyHex:   unlockMasterKeyHexDesc,
	}.String()
}

// runSubcommand runs the sub-command of cmd ("keys add", "path encrypt")
// that args name; choices lists them for the message when none is given.
func (c *cli) runSubcommand(cmd *command, args []string, choices string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, cmd.usage)
		return failf(errUsage, []string{"run 'veilfs help " + cmd.name + "' for usage"}, "%s: no command given (%s)", cmd.name, choices)
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(c.stdout, cmd.usage)
		return errHelpShown
	}
	sub := lookupSubcommand(cmd, args[0])
	if sub == nil {
		return unknownSubcommand(cmd, args[0])
	}
	return sub.run(c, sub, args[1:])
}

// checkLabelFlag checks --label before anything is read or asked for.
func checkLabelFlag(cmd *command, label string) error {
	hint := []string{"run 'veilfs " + cmd.name + " --help' for usage"}
	if label == "" {
		return failf(errUsage, hint, "%s: --label NAME is required", cmd.name)
	}
	if strings.EqualFold(label, config.PrimaryLabel) {
		return nil // each command says what it does with the primary
	}
	if err := config.ValidateLabel(label); err != nil {
		return failf(errUsage, []string{fmt.Sprintf("a label is 1 to %d bytes of printable text, without control characters or white space at either end", config.MaxLabelLen)},
			"invalid label %q: %v", label, err)
	}
	return nil
}
