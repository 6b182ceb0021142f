package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=v0.1.0".
var version = "dev"

// cli is the process's view of the outside world. Sub-commands take it instead
// of touching os.Stdin and friends, so that tests can run them in-process.
type cli struct {
	// stdin is read one byte at a time when a password comes from it, never
	// buffered: no copy of the password stays in a buffer, and nothing beyond
	// the line is consumed (passwd reads the new password as the next line).
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	// stdinIsTerminal decides between the no-echo prompt and reading stdin.
	stdinIsTerminal func() bool
	// promptPassword asks for a secret without echo on the terminal.
	promptPassword func(prompt string) ([]byte, error)

	// argv0 is the name veilfs was run as: as mount.veilfs it is a mount
	// helper (mounthelper.go).
	argv0 string
}

func newCLI() *cli {
	return &cli{
		stdin:           os.Stdin,
		stdout:          os.Stdout,
		stderr:          os.Stderr,
		stdinIsTerminal: func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		promptPassword:  promptTerminal,
		argv0:           os.Args[0],
	}
}

func main() {
	os.Exit(newCLI().run(os.Args[1:]))
}

// run executes one command line and returns the exit code. It is the only
// place that prints an error returned by a sub-command.
func (c *cli) run(args []string) int {
	err := c.dispatch(args)
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	var r *reportedError
	if !errors.As(err, &r) {
		report(c.stderr, err)
	}
	return exitCode(err)
}

type command struct {
	name    string
	aliases []string
	summary string // one line, for the command list
	usage   string // full help text with examples
	// args names the positional arguments as the usage writes them
	// ("CIPHERDIR"; an optional one, which comes last, "[MOUNTPOINT]").
	// parseFlags checks their number; the man page and the completions show
	// them.
	args []string
	// flags defines the command's flags on a set. The run function parses
	// with the same definition (newFlags), and the man page and the
	// completions read it (spec.go), so the three cannot disagree. nil for a
	// command without flags of its own: one that dispatches to
	// sub-commands, or __complete, whose arguments are words to complete.
	flags func(fs *pflag.FlagSet)
	run   func(c *cli, cmd *command, args []string) error
	// subcommands are the commands under this one ("keys add"), if any.
	subcommands []*command
	// hidden commands are for veilfs's own tooling (the man page generator,
	// the completion back end): not in the help, the man page or completions.
	hidden bool
}

// commands lists the sub-commands in the order the help shows them. help and
// version are handled by dispatch.
//
// completion, manpage and __complete are made here by functions, not
// declared as package variables like the others: their run functions list
// every command (through commands()), and a variable cannot be initialized
// with a function that reaches the variable itself.
func commands() []*command {
	return []*command{&initCommand, &mountCommand, &unmountCommand, &passwdCommand, &keysCommand, &rotateCommand, &fsckCommand, &statusCommand, &infoCommand, &lsCommand, &pathCommand,
		newCompletionCommand(), newManpageCommand(), newCompleteCommand()}
}

func lookupCommand(name string) *command {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd
		}
		for _, a := range cmd.aliases {
			if a == name {
				return cmd
			}
		}
	}
	return nil
}

func (c *cli) dispatch(args []string) error {
	if isMountHelperName(c.argv0) {
		h, err := parseHelperArgs(args, true)
		if err != nil {
			return err
		}
		return c.runMountHelper(h)
	}
	if len(args) == 0 {
		fmt.Fprint(c.stderr, mainUsage)
		return fail(errUsage, errors.New("no command given"))
	}
	switch name := args[0]; name {
	case "--version", "-version", "version":
		fmt.Fprintln(c.stdout, versionString())
		return nil
	case "help", "--help", "-h":
		return c.help(args[1:])
	default:
		cmd := lookupCommand(name)
		if cmd == nil {
			if h, ok := mountHelperCall(args); ok {
				return c.runMountHelper(h) // veilfs CIPHERDIR MOUNTPOINT -o OPTIONS, from mount.fuse3
			}
			return unknownCommand(name)
		}
		return cmd.run(c, cmd, args[1:])
	}
}

// newFlagSet returns the flag set of one sub-command. Parse errors are
// returned, never printed or exited on, so that run reports them.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	return fs
}

// declare turns a command's flag definition, which returns the values the
// flags are parsed into (an options struct), into a command.flags.
func declare[O any](define func(fs *pflag.FlagSet) O) func(fs *pflag.FlagSet) {
	return func(fs *pflag.FlagSet) { define(fs) }
}

// noFlags is the flags of a command that takes only -h/--help.
func noFlags(*pflag.FlagSet) {}

// newFlags returns cmd's flag set, defined by define (the function cmd
// declares), and the values its flags are parsed into.
func newFlags[O any](cmd *command, define func(fs *pflag.FlagSet) O) (*pflag.FlagSet, O) {
	fs := newFlagSet(cmd.name)
	return fs, define(fs)
}

// flagSet returns a new set with cmd's flags defined, nil if it declares
// none.
func (cmd *command) flagSet() *pflag.FlagSet {
	if cmd.flags == nil {
		return nil
	}
	fs := newFlagSet(cmd.name)
	cmd.flags(fs)
	return fs
}

// parseFlags parses args and checks the number of positional arguments
// against cmd.args.
func (c *cli) parseFlags(cmd *command, fs *pflag.FlagSet, args []string) error {
	names := cmd.args
	hint := fmt.Sprintf("run 'veilfs %s --help' for usage", cmd.name)
	if name, ok := singleDashLongFlag(fs, args); ok {
		return failf(errUsage, []string{hint}, "%s: -%s is not a flag: long flags take two dashes; did you mean --%s?", cmd.name, name, name)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(c.stdout, cmd.usage)
			return errHelpShown
		}
		return fail(errUsage, err, hint)
	}
	// Optional arguments are written "[NAME]" and come last.
	required := len(names)
	for required > 0 && strings.HasPrefix(names[required-1], "[") {
		required--
	}
	switch n := fs.NArg(); {
	case n < required:
		return failf(errUsage, []string{hint}, "%s: missing %s", cmd.name, strings.Join(names[n:required], " and "))
	case n > len(names):
		return failf(errUsage, []string{hint}, "%s: too many arguments (expected %s, got %d)",
			cmd.name, strings.Join(names, " "), n)
	}
	return nil
}
