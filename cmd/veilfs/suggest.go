package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// This file finds what a mistyped command line probably meant: a command
// one or two keystrokes away ("mout"), or a long flag given with one dash
// as gocryptfs spells its flags ("-passfile", which pflag would take as
// the one-letter flags -p -a -s ...).

// editDistance is the number of single-character insertions, deletions,
// substitutions and swaps of two neighbours that turn a into b (the
// optimal string alignment distance): a swap is one typo, not two.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// closest returns the candidate nearest to word, if it is near enough to
// be a typo of it: at most two edits, and fewer than the word has
// letters, so that "ls" does not suggest "rm". Ties go to the first.
func closest(word string, candidates []string) (string, bool) {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(word), c); d < bestDist && d < len([]rune(word)) {
			best, bestDist = c, d
		}
	}
	return best, best != ""
}

// commandNames are the names and aliases of the commands a user may type.
func commandNames(cmds []*command, prefix string) []string {
	var names []string
	for _, cmd := range cmds {
		if cmd.hidden {
			continue
		}
		names = append(names, strings.TrimPrefix(cmd.name, prefix))
		names = append(names, cmd.aliases...)
	}
	return names
}

// unknownCommand is the error for a first word that names no command.
func unknownCommand(word string) error {
	hints := []string{"run 'veilfs help' for the list of commands"}
	if name, ok := closest(word, append(commandNames(commands(), ""), "help", "version")); ok {
		hints = append([]string{fmt.Sprintf("did you mean 'veilfs %s'?", name)}, hints...)
	}
	return failf(errUsage, hints, "unknown command %q", word)
}

// unknownSubcommand is the error for a word after cmd ("path", "keys")
// that names none of its sub-commands. It names the word alone and the
// sub-commands there are: the word is often CIPHERDIR, the sub-command
// forgotten.
func unknownSubcommand(cmd *command, word string) error {
	names := commandNames(cmd.subcommands, cmd.name+" ")
	var choices []string
	for _, sub := range cmd.subcommands {
		if !sub.hidden {
			choices = append(choices, strings.TrimPrefix(sub.name, cmd.name+" "))
		}
	}
	hints := []string{"run 'veilfs help " + cmd.name + "' for usage"}
	if len(choices) == 0 { // "veilfs help mount foo"
		return failf(errUsage, hints, "%s has no sub-commands, so %q names none", cmd.name, word)
	}
	if name, ok := closest(word, names); ok {
		hints = append([]string{fmt.Sprintf("did you mean 'veilfs %s %s'?", cmd.name, name)}, hints...)
	}
	return failf(errUsage, hints, "unknown %s command %q: the %s commands are %s", cmd.name, word, cmd.name, orList(choices))
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// singleDashLongFlag finds, among the flags of args (up to a "--"), a word
// with one dash that is one of fs's long flags, as gocryptfs spells them
// ("-passfile"), and returns its name. pflag would read it as a row of
// one-letter flags and fail with a message about the first letter, or,
// worse, take the rest of the word as the value of a one-letter flag.
// Values of flags that take one are skipped: "--label -ro" is a label.
func singleDashLongFlag(fs *pflag.FlagSet, args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", false // the rest are arguments
		case a == "-" || !strings.HasPrefix(a, "-"):
			continue
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			if f := fs.Lookup(name); f != nil && f.NoOptDefVal == "" && !hasValue {
				i++ // its value
			}
			continue
		case len(a) == 2:
			if f := fs.ShorthandLookup(a[1:]); f != nil && f.NoOptDefVal == "" {
				i++ // "-o VALUE"
			}
			continue
		}
		if name, _, _ := strings.Cut(a[1:], "="); fs.Lookup(name) != nil {
			return name, true
		}
	}
	return "", false
}
