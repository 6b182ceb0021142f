package main

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// newCompletionCommand is called by commands(); see there why it is not a
// variable like most commands.
func newCompletionCommand() *command {
	return &command{
		name:    "completion",
		summary: "print a shell completion script (bash, zsh, fish)",
		usage:   completionUsage,
		args:    []string{strings.Join(completionShells(), "|")},
		flags:   noFlags,
		run:     runCompletion,
	}
}

const completionUsage = `Usage: veilfs completion bash|zsh|fish

Print the completion script for the shell on standard output: TAB then
completes commands, their options, help topics, and directories for
CIPHERDIR and MOUNTPOINT. The script asks veilfs itself for the candidates,
so it always knows the commands and options of the veilfs on your PATH.

'make install' and the Debian package install the scripts where the shells
find them. By hand:
  bash  veilfs completion bash > ~/.local/share/bash-completion/completions/veilfs
        (read by the bash-completion package), or put
        'source <(veilfs completion bash)' in ~/.bashrc (works without it)
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
	fs := cmd.flagSet()
	if err := c.parseFlags(cmd, fs, args); err != nil {
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
		var b bytes.Buffer
		if err = root.GenBashCompletionV2(&b, true); err == nil {
			var script []byte
			if script, err = bashStandalone(b.Bytes()); err == nil {
				_, err = c.stdout.Write(script)
			}
		}
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

// bashStandalone makes cobra's bash script work without the bash-completion
// package, which it otherwise needs for _get_comp_words_by_ref and
// _filedir: sourced from ~/.bashrc without it, every TAB printed
// "_get_comp_words_by_ref: command not found". Where the package is
// loaded, its functions are still the ones used: they handle the cursor
// inside a word and quoted file names better than the stand-ins.
func bashStandalone(script []byte) ([]byte, error) {
	const wordsCall = `    _get_comp_words_by_ref "$@" cur prev words cword
`
	if !bytes.Contains(script, []byte(wordsCall)) || !bytes.Contains(script, []byte("_filedir -d")) {
		return nil, fmt.Errorf("the bash completion script of this cobra version calls bash-completion differently: update bashStandalone")
	}
	script = regexp.MustCompile(`\b_filedir\b`).ReplaceAll(script, []byte("__veilfs_filedir"))
	script = bytes.Replace(script, []byte(wordsCall), []byte(`    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        _get_comp_words_by_ref "$@" cur prev words cword
        return
    fi
    # Without bash-completion: bash's own words, split at = and : too.
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
}

# _filedir of bash-completion, or without it bash's own completion of file
# names (of directory names with -d).
__veilfs_filedir()
{
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir "$@"
        return
    fi
    local IFS=$'\n' what=-f
    [[ ${1-} == -d ]] && what=-d
    COMPREPLY+=($(compgen "$what" -- "$cur"))
    compopt -o filenames 2>/dev/null
`), 1)
	return script, nil
}
