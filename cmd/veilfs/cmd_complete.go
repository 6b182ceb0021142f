package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// "veilfs __complete ARGS..." answers the shell completion scripts that
// "veilfs completion" prints: given the words typed so far, it prints the
// candidates for the last one. The scripts and this protocol are cobra's
// (github.com/spf13/cobra): rather than hand-written completion code for
// three shells, which is where quoting, "--flag=value" and file-name bugs
// live, veilfs builds a cobra command tree that mirrors commands() (names,
// aliases, summaries, and the very pflag sets the commands parse, through
// spec.go) and lets cobra do the completing. veilfs does not use cobra to
// run its commands; the tree exists only for this.

// newCompleteCommand is called by commands(); see there why it is not a
// variable like most commands.
func newCompleteCommand() *command {
	return &command{
		name:    cobra.ShellCompRequestCmd, // "__complete"
		summary: "print completion candidates (for the completion scripts)",
		usage:   completeUsage,
		run:     runComplete,
		hidden:  true,
	}
}

const completeUsage = `Usage: veilfs __complete WORD...

Print the completion candidates for the last WORD of a veilfs command line,
one per line, then a line ":N" with cobra's completion directive. This is
the back end of the scripts that 'veilfs completion' prints; it is not meant
to be run by hand.

Example:
  $ veilfs __complete mo
`

// runComplete does not go through parseFlags: every argument, "--help"
// included, is a word of the command line being completed.
func runComplete(c *cli, cmd *command, args []string) error {
	root := completionTree()
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	return root.Execute()
}

// completionTree mirrors the visible commands as a cobra tree.
func completionTree() *cobra.Command {
	root := &cobra.Command{
		Use:           "veilfs",
		Short:         strings.TrimPrefix(strings.SplitN(mainUsage, "\n", 2)[0], "veilfs - "),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Our own "completion" command is in the tree; cobra's must not be.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.Flags().Bool("version", false, "show the version")
	all := specs()
	for _, s := range all {
		root.AddCommand(cobraCommand(s))
	}
	root.SetHelpCommand(helpCompletion(all))
	return root
}

func cobraCommand(s *commandSpec) *cobra.Command {
	fields := strings.Fields(s.cmd.name)
	cc := &cobra.Command{
		Use:     fields[len(fields)-1],
		Aliases: s.cmd.aliases,
		Short:   s.cmd.summary,
		// Cobra offers only commands that can run; this one never does.
		Run: func(*cobra.Command, []string) {},
	}
	if s.flags != nil {
		cc.Flags().AddFlagSet(s.flags)
		for _, f := range visibleFlags(s.flags) {
			// The description shown beside a candidate is the one --help
			// gives. The set is this tree's own copy (command.flagSet
			// makes a new one), so changing it changes nothing else.
			if d := s.usage.optionDesc(f.Name); d != "" {
				f.Usage = d
			}
			if f.NoOptDefVal != "" {
				continue // a switch: no value to complete
			}
			_ = cc.RegisterFlagCompletionFunc(f.Name, flagValueCompletion(s, f))
		}
	}
	args := s.args
	cc.ValidArgsFunction = func(_ *cobra.Command, typed []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(s.subs) > 0 || len(typed) >= len(args) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return argCompletion(strings.Trim(args[len(typed)], "[]"))
	}
	for _, sub := range s.subs {
		cc.AddCommand(cobraCommand(sub))
	}
	return cc
}

// argCompletion completes a positional argument by its name in the usage:
// "a|b|c" is a choice of words, CIPHERDIR and MOUNTPOINT are directories.
func argCompletion(name string) ([]string, cobra.ShellCompDirective) {
	switch {
	case strings.Contains(name, "|"):
		return strings.Split(name, "|"), cobra.ShellCompDirectiveNoFileComp
	case name == "CIPHERDIR", name == "MOUNTPOINT":
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	return nil, cobra.ShellCompDirectiveDefault
}

// flagValueCompletion completes a flag's value by the argument name its
// usage text gives: file names for a FILE (and for a CMD, which is usually
// a script), nothing for a number, a label, a key or mount options.
func flagValueCompletion(s *commandSpec, f *pflag.Flag) cobra.CompletionFunc {
	arg := s.usage.argOf(f.Name)
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		switch arg {
		case "FILE", "CMD":
			return nil, cobra.ShellCompDirectiveDefault
		case "DIR":
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// helpCompletion is "veilfs help [COMMAND [SUBCOMMAND] | exit-codes]".
func helpCompletion(all []*commandSpec) *cobra.Command {
	return &cobra.Command{
		Use:   "help",
		Short: "show help for a command, or the exit codes",
		Run:   func(*cobra.Command, []string) {},
		ValidArgsFunction: func(_ *cobra.Command, typed []string, _ string) ([]string, cobra.ShellCompDirective) {
			var out []string
			switch len(typed) {
			case 0:
				for _, s := range all {
					out = append(out, s.cmd.name+"\t"+s.cmd.summary)
				}
				out = append(out, "exit-codes\tthe exit codes and what they mean")
			case 1:
				for _, s := range all {
					if s.cmd.name != typed[0] {
						continue
					}
					for _, sub := range s.subs {
						f := strings.Fields(sub.cmd.name)
						out = append(out, f[len(f)-1]+"\t"+sub.cmd.summary)
					}
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
}
