package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allSpecs is every command the generators see, sub-commands included, plus
// the hidden ones (whose --help must be right too).
func allSpecs() []*commandSpec {
	out := walk(specs())
	for _, cmd := range commands() {
		if cmd.hidden {
			out = append(out, specOf(cmd))
		}
	}
	return out
}

// The man page and the completions take flags from the pflag sets and
// descriptions from the usage texts: the two must list the same flags, with
// the same short forms, and an argument exactly where the flag takes one.
func TestUsageMatchesFlags(t *testing.T) {
	for _, s := range allSpecs() {
		t.Run(s.cmd.name, func(t *testing.T) {
			documented := map[string]*usageOption{}
			for _, o := range s.usage.options() {
				if o.long == "help" {
					if o.short != "h" {
						t.Errorf("usage documents --help without -h")
					}
					continue
				}
				if prev := documented[o.long]; prev != nil && (prev.arg == "") != (o.arg == "") {
					t.Errorf("usage documents --%s both with and without an argument", o.long)
				}
				documented[o.long] = o
			}
			for _, f := range visibleFlags(s.flags) {
				o := documented[f.Name]
				if o == nil {
					t.Errorf("flag --%s is not in the Options of the usage text", f.Name)
					continue
				}
				delete(documented, f.Name)
				if o.short != f.Shorthand {
					t.Errorf("--%s: usage gives short form %q, the flag set %q", f.Name, o.short, f.Shorthand)
				}
				takesArg := f.NoOptDefVal == ""
				if takesArg != (o.arg != "") {
					t.Errorf("--%s: takes an argument: %v; usage gives %q", f.Name, takesArg, o.arg)
				}
				if o.desc == "" {
					t.Errorf("--%s has no description in the usage text", f.Name)
				}
			}
			for name := range documented {
				t.Errorf("usage documents --%s, which the command does not define", name)
			}
		})
	}
}

// A command that declared no flags would hide them from the man page and the
// completions; only a dispatcher of sub-commands may.
func TestEveryCommandDeclaresItsFlags(t *testing.T) {
	for _, s := range allSpecs() {
		if s.cmd.name == cobra.ShellCompRequestCmd {
			continue // takes the words to complete, no flags
		}
		if (s.flags == nil) != (len(s.cmd.subcommands) > 0) {
			t.Errorf("%s: flag set %v, sub-commands %d: every command without sub-commands must declare its flags",
				s.cmd.name, s.flags != nil, len(s.cmd.subcommands))
		}
		if s.flags != nil && len(s.usage.synopsis) == 0 {
			t.Errorf("%s: usage has no synopsis", s.cmd.name)
		}
		for _, a := range s.args {
			if !strings.Contains(s.usage.synopsis[0], a) {
				t.Errorf("%s: argument %s is not in the synopsis %q", s.cmd.name, a, s.usage.synopsis[0])
			}
		}
	}
}

// A run function parses with the flags its command declares, which the man
// page and the completions show: each declared flag, hidden ones included,
// is accepted before --help, which then stops the command.
func TestRunParsesDeclaredFlags(t *testing.T) {
	for _, s := range allSpecs() {
		if s.flags == nil {
			continue
		}
		t.Run(s.cmd.name, func(t *testing.T) {
			s.flags.VisitAll(func(f *pflag.Flag) {
				arg := "--" + f.Name
				if f.NoOptDefVal == "" {
					arg += "=" + f.DefValue
				}
				c, stdout, stderr := testCLI("")
				if err := s.cmd.run(c, s.cmd, []string{arg, "--help"}); err != errHelpShown {
					t.Errorf("%s --help: %v (stderr %q)", arg, err, stderr)
				} else if stdout.String() != s.cmd.usage {
					t.Errorf("%s --help printed %q", arg, stdout)
				}
			})
		})
	}
}

func TestParseUsage(t *testing.T) {
	const text = `Usage: veilfs thing [options] DIR
       veilfs th DIR

First paragraph,
two lines.
Lost it: do this:
  indented block
    keeps its shape
Back to prose.

Options:
  -x, --extra FILE     does
                       more
      --switch         on or off
      --key -          from stdin
  -h, --help           show this help

Examples:
  $ veilfs thing a
`
	d := parseUsage(text)
	if !slices.Equal(d.synopsis, []string{"veilfs thing [options] DIR", "veilfs th DIR"}) {
		t.Errorf("synopsis %q", d.synopsis)
	}
	var kinds []blockKind
	for _, b := range d.blocks {
		kinds = append(kinds, b.kind)
	}
	want := []blockKind{paragraph, preformatted, paragraph, heading, option, option, option, option, heading, preformatted}
	if !slices.Equal(kinds, want) {
		t.Fatalf("blocks %v, want %v", kinds, want)
	}
	if got := d.blocks[0].lines; !slices.Equal(got, []string{"First paragraph,", "two lines.", "Lost it: do this:"}) {
		t.Errorf("paragraph %q", got)
	}
	if got := d.blocks[1].lines; !slices.Equal(got, []string{"indented block", "  keeps its shape"}) {
		t.Errorf("preformatted %q", got)
	}
	x := d.blocks[4].opt
	if *x != (usageOption{short: "x", long: "extra", arg: "FILE", desc: "does more"}) {
		t.Errorf("option %+v", *x)
	}
	if o := d.blocks[6].opt; o.long != "key" || o.arg != "-" {
		t.Errorf("literal argument: %+v", *o)
	}
	if d.argOf("extra") != "FILE" || d.argOf("switch") != "" || d.argOf("key") != "" {
		t.Errorf("argOf")
	}
	if got := d.blocks[9].lines; !slices.Equal(got, []string{"$ veilfs thing a"}) {
		t.Errorf("example %q", got)
	}
}

// The commands are plain data: no init() patches a command after its
// declaration (a run function that lists every command is made in
// commands() instead), so what a command value says is all there is.
func TestNoInitFunctions(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
				t.Errorf("%s: func init() at %s", name, fset.Position(fn.Pos()))
			}
		}
	}
}
