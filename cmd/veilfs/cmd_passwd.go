package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

var passwdCommand = command{
	name:    "passwd",
	summary: "change the password of a volume",
	usage:   passwdUsage,
	run:     runPasswd,
}

const passwdUsage = `Usage: veilfs passwd [options] CIPHERDIR

Change the password of the volume in CIPHERDIR. The master key stays the same,
so no file is re-encrypted and the master key printed by init stays valid;
only gocryptfs.conf is rewritten (atomically). The volume can stay mounted.

The old password comes from --passfile or --extpass, else the terminal, else
the first line of standard input. The new password comes from --new-passfile,
else it is asked twice on the terminal, else it is the next line of standard
input.

Options:
      --passfile FILE      read the old password from the first line of FILE
      --extpass CMD        run CMD with /bin/sh -c, use the first line it prints
      --new-passfile FILE  read the new password from the first line of FILE
      --scryptn N          also change the scrypt cost to log2(N), 10 to 28
                           (default: keep the current cost)
  -h, --help               show this help

Examples:
  $ veilfs passwd ~/vault.enc
  $ veilfs passwd --passfile old.txt --new-passfile new.txt ~/vault.enc
  $ printf '%s\n%s\n' "$OLD" "$NEW" | veilfs passwd ~/vault.enc
`

func runPasswd(c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.name)
	pf := addPasswordFlags(fs)
	var newPassfile string
	var logN int
	fs.StringVar(&newPassfile, "new-passfile", "", "read the new password from `FILE`")
	fs.IntVar(&logN, "scryptn", 0, "new scrypt cost as log2(N)")
	if err := c.parseFlags(cmd, fs, args, "CIPHERDIR"); err != nil {
		return err
	}
	if err := pf.validate(); err != nil {
		return err
	}
	if fs.Changed("scryptn") && (logN < cipher.MinScryptLogN || logN > maxScryptLogN) {
		return failf(errUsage, []string{"run 'veilfs passwd --help' for usage"},
			"--scryptn must be between %d and %d, not %d", cipher.MinScryptLogN, maxScryptLogN, logN)
	}
	dir, err := absPath(fs.Arg(0))
	if err != nil {
		return err
	}
	f, path, err := loadConfig(dir)
	if err != nil {
		return err
	}

	old, err := c.readPassword(pf, "Old password: ", false)
	if err != nil {
		return err
	}
	defer cipher.Wipe(old)
	master, err := f.UnlockMasterKey(old)
	if err != nil {
		if errors.Is(err, config.ErrWrongPassword) {
			return fail(nil, err, "the old password is needed to set a new one")
		}
		return fail(errOpenConf, fmt.Errorf("unlock %s: %w", path, err))
	}
	defer cipher.Wipe(master)

	newPw, err := c.readNewPassword(newPassfile)
	if err != nil {
		return err
	}
	defer cipher.Wipe(newPw)
	if bytes.Equal(old, newPw) {
		warningf(c.stderr, "the new password is the same as the old one")
	}
	if err := f.Rewrap(master, newPw, logN); err != nil {
		return fmt.Errorf("set the new password: %w", err)
	}
	if err := f.Save(path); err != nil {
		return fail(errWriteConf, fmt.Errorf("write %s: %w", path, err),
			"the old password still works: the config is replaced atomically")
	}
	fmt.Fprintf(c.stdout, "Password changed for %s\n", dir)
	return nil
}

// readNewPassword reads the new password of passwd: --new-passfile, else
// twice on the terminal, else the next line of stdin.
func (c *cli) readNewPassword(newPassfile string) ([]byte, error) {
	var (
		pw  []byte
		err error
	)
	switch {
	case newPassfile != "":
		pw, err = readPassfile(newPassfile)
	case c.stdinIsTerminal():
		pw, err = c.prompt("New password: ", true)
	default:
		pw, err = readSecretLine(c.stdin)
		if errors.Is(err, io.EOF) {
			return nil, fail(errEmptyPassword, errors.New("no new password given: standard input has no further line"),
				"give it with --new-passfile FILE, on the terminal, or as the next line of standard input")
		}
		if err != nil {
			err = fmt.Errorf("read new password from standard input: %w", err)
		}
	}
	if err != nil {
		return nil, fail(errReadPassword, err)
	}
	if len(pw) == 0 {
		return nil, fail(errEmptyPassword, errors.New("the new password is empty"))
	}
	return pw, nil
}
