package main

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
)

// "veilfs help [COMMAND | exit-codes]" and "veilfs --version". Each command's
// own text is the usage constant in its cmd_*.go file.

func (c *cli) help(args []string) error {
	switch {
	case len(args) == 0:
		fmt.Fprint(c.stdout, mainUsage)
		return nil
	case len(args) > 2:
		return fail(errUsage, errors.New("help takes at most one command name (and a sub-command: help keys add)"))
	case args[0] == "exit-codes" || args[0] == "exitcodes":
		fmt.Fprint(c.stdout, exitCodeHelp)
		return nil
	}
	cmd := lookupCommand(args[0])
	if cmd == nil {
		return unknownCommand(args[0])
	}
	if len(args) == 2 {
		sub := lookupSubcommand(cmd, args[1])
		if sub == nil {
			return unknownSubcommand(cmd, args[1])
		}
		cmd = sub
	}
	fmt.Fprint(c.stdout, cmd.usage)
	return nil
}

const mainUsage = `veilfs - an encrypted overlay filesystem, compatible with gocryptfs 2.x

Usage:
  veilfs init [options] CIPHERDIR               create a new encrypted volume
  veilfs init --reverse [options] PLAINDIR      prepare PLAINDIR for an encrypted view (backups)
  veilfs mount [options] CIPHERDIR MOUNTPOINT   mount a volume (in the background)
  veilfs unmount MOUNTPOINT                     unmount a volume (alias: umount)
  veilfs passwd [options] CIPHERDIR             change a password, or set one with the master key
  veilfs keys add|remove|list ... CIPHERDIR     manage extra unlockers: more passwords, keyfiles
  veilfs rotate [options] CIPHERDIR             re-encrypt a volume under a new master key
  veilfs fsck [--repair] [--json] CIPHERDIR     check a volume for damage, repair what is safe
  veilfs status [MOUNTPOINT]                    list veilfs mounts with their activity
  veilfs info CIPHERDIR                         show a volume's format, no password needed
  veilfs ls [options] CIPHERDIR [PATH]          list a directory with plaintext and ciphertext names
  veilfs path encrypt|decrypt CIPHERDIR PATH    translate a path between plaintext and ciphertext
  veilfs completion bash|zsh|fish               print a shell completion script
  veilfs help [COMMAND | exit-codes]            show help
  veilfs --version                              show the version

Passwords are read from --passfile FILE, --extpass CMD, a no-echo terminal
prompt, or the first line of standard input when it is not a terminal; never
from the command line. Wherever a password is asked for, the password of any
extra unlocker works too, and --keyfile FILE or the master key
(--masterkey-file FILE) can be given instead.

Example:
  $ veilfs init ~/vault.enc
  $ mkdir ~/vault && veilfs mount ~/vault.enc ~/vault
  $ veilfs unmount ~/vault

Run 'veilfs help COMMAND' for the options of a command.
`

func versionString() string {
	v := version
	if v == "dev" {
		// "go install github.com/veilfs/veilfs/cmd/veilfs@v1.2.3" records the version here.
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return fmt.Sprintf("veilfs %s (%s %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// lookupSubcommand finds a sub-command of cmd ("add" of "keys") by name
// or alias.
func lookupSubcommand(cmd *command, name string) *command {
	for _, sub := range cmd.subcommands {
		if sub.name == cmd.name+" "+name {
			return sub
		}
		for _, a := range sub.aliases {
			if a == name {
				return sub
			}
		}
	}
	return nil
}
