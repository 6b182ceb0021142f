package main

import (
	"fmt"
	"slices"
	"strings"
)

var completionCommand = command{
	name:    "completion",
	summary: "print a shell completion script (bash, zsh, fish)",
	usage:   completionUsage,
}

// run is set here, not in the literal: it reaches commands(), which lists
// completionCommand, and Go refuses such an initialization cycle.
func init() { completionCommand.run = runCompletion }

const completionUsage = `Usage: veilfs completion bash|zsh|fish

Print the completion script for the shell on standard output: TAB then
completes commands, their options, help topics, and directories for
CIPHERDIR and MOUNTPOINT. The script asks veilfs itself for the candidates,
so it always knows the commands and options of the veilfs on your PATH.

'make install' and the Debian package install the scripts where the shells
find them. By hand:
  bash  veilfs completion bash > ~/.local/share/bash-completion/completions/veilfs
        (needs the bash-completion package; or put
        'source <(veilfs completion bash)' in ~/.bashrc)
  zsh   veilfs completion zsh > ~/.zfunc/_veilfs, with
        'fpath+=~/.zfunc; autoload -U compinit; compinit' in ~/.zshrc
  fish  veilfs completion fish > ~/.config/fish/completions/veilfs.fish

Then start a new shell.

Options:
  -h, --help   show this help

Examples:
  $ veilfs completion bash > ~/.local/share/bash-completion/completions/veilfs
  $ source <(veilfs completion bash)
  $ veilfs completion fish > ~/.config/fish/completions/veilfs.fish
`

func completionShells() []string { return []string{"bash", "zsh", "fish"} }

func runCompletion(c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.name)
	if err := c.parseFlags(cmd, fs, args, strings.Join(completionShells(), "|")); err != nil {
		return err
	}
	shell := fs.Arg(0)
	if !slices.Contains(completionShells(), shell) {
		return failf(errUsage, []string{"run 'veilfs completion --help' for usage"},
			"completion: unknown shell %q (one of %s)", shell, strings.Join(completionShells(), ", "))
	}
	root := completionTree()
	var err error
	switch shell {
	case "bash":
		err = root.GenBashCompletionV2(c.stdout, true)
	case "zsh":
		err = root.GenZshCompletion(c.stdout)
	case "fish":
		err = root.GenFishCompletion(c.stdout, true)
	}
	if err != nil {
		return fmt.Errorf("write the %s completion script: %w", shell, err)
	}
	return nil
}
