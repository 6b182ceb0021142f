package main

// What the man page (cmd_manpage.go) and the shell completion
// (cmd_complete.go) know about the commands. There is one source for each
// fact, so that --help, the man page and the completions cannot drift apart:
//
//   - the command list is commands(), with each command's sub-commands;
//   - the flags and positional arguments are what each command declares
//     (command.flags and command.args), which its run function parses with;
//   - the prose, the option descriptions and the examples are the usage
//     texts that --help prints, parsed by parseUsage below.
//
// TestUsageMatchesFlags checks that the last two agree.

import (
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// commandSpec is one command as the generators see it.
type commandSpec struct {
	cmd *command
	// flags is the command's flag set; nil for a command that only
	// dispatches to sub-commands (keys), which has no flags of its own.
	flags *pflag.FlagSet
	// args are the positional argument names parseFlags checks, e.g.
	// CIPHERDIR; an optional one is written "[MOUNTPOINT]".
	args  []string
	usage *usageDoc
	subs  []*commandSpec
}

// specs returns the visible commands, in help order, with their
// sub-commands.
func specs() []*commandSpec {
	var out []*commandSpec
	for _, cmd := range commands() {
		if !cmd.hidden {
			out = append(out, specOf(cmd))
		}
	}
	return out
}

func specOf(cmd *command) *commandSpec {
	s := &commandSpec{cmd: cmd, usage: parseUsage(cmd.usage)}
	s.flags, s.args = cmd.flagSet(), cmd.args
	for _, sub := range cmd.subcommands {
		if !sub.hidden {
			s.subs = append(s.subs, specOf(sub))
		}
	}
	return s
}

// visibleFlags lists the flags of fs a user may give, in definition order.
func visibleFlags(fs *pflag.FlagSet) []*pflag.Flag {
	var out []*pflag.Flag
	if fs == nil {
		return out
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			out = append(out, f)
		}
	})
	return out
}

// usageDoc is a usage text taken apart. The texts follow one layout: a
// "Usage:" line (with more synopsis lines indented under it), paragraphs,
// and blocks under a heading such as "Options:" or "Examples:", whose lines
// are indented by two spaces.
type usageDoc struct {
	// synopsis holds the lines after "Usage:", e.g. "veilfs unmount MOUNTPOINT".
	synopsis []string
	blocks   []usageBlock
}

type blockKind int

const (
	paragraph    blockKind = iota // prose lines, to be filled
	heading                       // "Options", "Examples", ... (without the colon)
	preformatted                  // indented lines, kept as they are
	option                        // one entry of an Options block
)

type usageBlock struct {
	kind blockKind
	// lines are the block's lines, with the block's indentation removed.
	lines []string
	// opt is set for an option entry.
	opt *usageOption
}

// usageOption is one entry of an Options block, e.g.
// "  -o, --options OPTS   comma-separated mount options...".
type usageOption struct {
	short string // "o", or ""
	long  string // "options"
	arg   string // "OPTS", "-" (a literal), or "" for a switch
	desc  string // the description, its lines joined with spaces
}

var (
	headingLine = regexp.MustCompile(`^[A-Z][A-Za-z -]{0,30}:$`)
	optionLine  = regexp.MustCompile(`^(?:-([A-Za-z0-9]), )?--([a-z0-9][a-z0-9-]*)(?: ([A-Z][A-Z0-9_=]*|-))?(?:\s{2,}(.*))?$`)
)

// optionIndentMax separates an option line ("  -f, --foreground",
// "      --ro") from a continuation of its description, which is indented
// further (to the description column).
const optionIndentMax = 8

func parseUsage(text string) *usageDoc {
	d := &usageDoc{}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	i := 0
	if len(lines) > 0 && strings.HasPrefix(lines[0], "Usage: ") {
		d.synopsis = append(d.synopsis, strings.TrimSpace(strings.TrimPrefix(lines[0], "Usage: ")))
		for i = 1; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "veilfs ") && indentOf(lines[i]) > 0; i++ {
			d.synopsis = append(d.synopsis, strings.TrimSpace(lines[i]))
		}
	}
	section := ""
	var cur *usageBlock // the block the next line may continue
	add := func(b usageBlock) {
		d.blocks = append(d.blocks, b)
		cur = &d.blocks[len(d.blocks)-1]
	}
	for ; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		indent := indentOf(line)
		switch {
		case trimmed == "":
			cur = nil
			if section != "Options" {
				// A blank line ends a block; only the Options list runs on
				// past one (none does today, but a long list may be split).
				section = ""
			}
		case indent == 0 && headingLine.MatchString(trimmed):
			section = strings.TrimSuffix(trimmed, ":")
			add(usageBlock{kind: heading, lines: []string{section}})
			cur = nil
		case indent == 0:
			section = ""
			if cur != nil && cur.kind == paragraph {
				cur.lines = append(cur.lines, trimmed)
			} else {
				add(usageBlock{kind: paragraph, lines: []string{trimmed}})
			}
		case section == "Options" && indent <= optionIndentMax && strings.HasPrefix(trimmed, "-"):
			if m := optionLine.FindStringSubmatch(trimmed); m != nil {
				add(usageBlock{kind: option, opt: &usageOption{short: m[1], long: m[2], arg: m[3], desc: m[4]}})
				continue
			}
			add(usageBlock{kind: preformatted, lines: []string{trimmed}})
		case section == "Options" && cur != nil && cur.kind == option && indent > optionIndentMax:
			cur.opt.desc = strings.TrimSpace(cur.opt.desc + " " + trimmed)
		default:
			if cur != nil && cur.kind == preformatted {
				cur.lines = append(cur.lines, line)
			} else {
				add(usageBlock{kind: preformatted, lines: []string{line}})
			}
		}
	}
	for k := range d.blocks {
		if d.blocks[k].kind == preformatted {
			d.blocks[k].lines = dedent(d.blocks[k].lines)
		}
	}
	return d
}

// options returns the option entries of the usage text.
func (d *usageDoc) options() []*usageOption {
	var out []*usageOption
	for _, b := range d.blocks {
		if b.kind == option {
			out = append(out, b.opt)
		}
	}
	return out
}

// optionDesc returns the description of the flag long in the usage text;
// of its first entry when the text has several (--masterkey - and HEX).
func (d *usageDoc) optionDesc(long string) string {
	for _, o := range d.options() {
		if o.long == long {
			return o.desc
		}
	}
	return ""
}

// argOf returns the argument name the usage text gives the flag long
// ("FILE", "N", ...), "" if it takes none or is not documented.
func (d *usageDoc) argOf(long string) string {
	for _, o := range d.options() {
		if o.long == long && o.arg != "" && o.arg != "-" {
			return o.arg
		}
	}
	return ""
}

func indentOf(s string) int {
	return len(s) - len(strings.TrimLeft(s, " "))
}

// dedent removes the indentation common to all non-blank lines.
func dedent(lines []string) []string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := indentOf(l); common < 0 || n < common {
			common = n
		}
	}
	out := make([]string, len(lines))
	for k, l := range lines {
		if len(l) >= common && common > 0 {
			out[k] = l[common:]
		} else {
			out[k] = strings.TrimSpace(l)
		}
	}
	return out
}
