package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// "veilfs manpage" prints the veilfs(1) manual page. It is a hidden command
// of the binary itself, not a separate generator, because the page is made
// of the texts --help prints (mainUsage, every command's usage, exitCodeHelp)
// and of the command and flag lists (spec.go), which live in this package:
// a generator anywhere else would need a copy of them. `make man` runs it.
// Only the sections that --help has no use for (FILES, SECURITY, more
// EXAMPLES) are written here.

// newManpageCommand is called by commands(); see there why it is not a
// variable like most commands.
func newManpageCommand() *command {
	return &command{
		name:    "manpage",
		summary: "print the veilfs(1) manual page (roff)",
		usage:   manpageUsage,
		flags:   noFlags,
		run:     runManpage,
		hidden:  true,
	}
}

const manpageUsage = `Usage: veilfs manpage

Print the veilfs(1) manual page in roff (man(7) macros) on standard output.
It is generated from the help texts of this binary, so it describes exactly
the commands and options this veilfs has. 'make man' writes it to
bin/veilfs.1; 'make install' and the Debian package install it.

The date in the page header is taken from SOURCE_DATE_EPOCH when it is set
(reproducible builds), else it is today.

Options:
  -h, --help   show this help

Examples:
  $ veilfs manpage > veilfs.1
  $ veilfs manpage | man -l -
`

func runManpage(c *cli, cmd *command, args []string) error {
	fs := cmd.flagSet()
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	date := time.Now().UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return failf(errUsage, nil, "SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
		}
		date = time.Unix(secs, 0).UTC()
	}
	_, err := io.WriteString(c.stdout, manPage(date))
	return err
}

// The parts of the page that only the page has. They use the layout of the
// usage texts and go through the same renderer.

const manIntro = `veilfs keeps a directory tree encrypted in a directory called CIPHERDIR,
which can live on any disk or in a folder that a sync client (Dropbox,
Syncthing, rclone) copies, and mounts a plaintext view of it with FUSE.
File contents, file names, symlink targets and extended attributes are
encrypted; file sizes, timestamps, permissions and the directory structure
are not.

The on-disk format is that of gocryptfs 2.x: a volume made by veilfs init is
mounted by gocryptfs with the same password, and veilfs mounts volumes made by
gocryptfs -init 2.x. veilfs adds extra unlockers (veilfs keys), which
gocryptfs ignores, and in-place master-key rotation (veilfs rotate).

A volume is unlocked by its password, which encrypts a random master key
stored in CIPHERDIR/gocryptfs.conf. The master key is printed once, by init
(and by rotate): kept offline, it recovers the volume if every password is
lost.
`

// manFiles lists the FILES section: path, then what it is.
var manFiles = [][2]string{
	{"CIPHERDIR/gocryptfs.conf",
		"The volume's configuration: format and feature flags, scrypt parameters, the master key encrypted with the primary password, the extra unlockers (field VeilfsUnlockers), and the format record (field VeilfsFormat: the format fields with a MAC under the master key, so that a changed format is refused). Without it, or the master key, the data cannot be decrypted: keep a backup. It holds no secret in the clear."},
	{"CIPHERDIR/gocryptfs.diriv",
		"The random IV of the names in each directory (not with --plaintextnames or --deterministic-names). A missing or damaged one makes its directory unreadable (EIO); the root's, the whole volume."},
	{"CIPHERDIR/gocryptfs.longname.*",
		"Entries whose encrypted name is longer than the long-name limit (veilfs init --longnamemax), each with a .name file beside it that holds the full encrypted name."},
	{"CIPHERDIR/gocryptfs.rotation",
		"The journal of an unfinished veilfs rotate. It holds the new master key (encrypted with the old one): never delete it; run veilfs rotate CIPHERDIR to finish."},
	{"/run/veilfs/, $XDG_RUNTIME_DIR/veilfs/",
		"Runtime directory of the mount daemons (the first for root, the second for other users; without XDG_RUNTIME_DIR, as under su, sudo -u or cron, /run/user/UID/veilfs if that directory is the user's, else /tmp/veilfs-UID (in $TMPDIR if set), made mode 0700, and refused if another user owns it): the undo journal of each mount, which lets the next mount of the same CIPHERDIR put back a write that a killed daemon left half done, and the socket veilfs status asks. Removed at unmount; gone at reboot."},
	{"/etc/fuse.conf",
		"user_allow_other must be set there for a user other than root to mount with --allow-other."},
	{"/dev/fuse",
		"The FUSE device. root mounts with mount(2) directly; other users go through fusermount3(1), from the fuse3 package."},
}

const manSecurity = `veilfs protects the confidentiality of file contents, names, symlink
targets and extended attributes, and the integrity of every 4 KiB content
block, against someone who can read and write CIPHERDIR: a sync service, a
cloud folder, a stolen disk. A block that fails authentication reads as an
I/O error (EIO) and is logged; veilfs never returns plaintext that did not
authenticate.

It does not hide file sizes, timestamps, permissions, the directory tree or
which files change when, and it cannot detect a whole file swapped for
another one or rolled back to an older version, or a file cut at a block
boundary: the format has no way to. Whoever can read the memory of the
machine while the volume is mounted (root, a debugger) can read the keys.

Every password and keyfile unlocker opens the master key, so each is as good
as the master key. veilfs passwd and veilfs keys remove do not lock out
someone who already had a password: they may have kept the master key or an
old copy of gocryptfs.conf. veilfs rotate re-encrypts the volume under a new
master key and does.

With gocryptfs.conf, someone can try passwords offline at the cost scrypt
sets (veilfs init --scryptn): choose a strong password.

Passwords are never taken from the command line. --masterkey HEX is, and is
visible to other users in ps(1): prefer --masterkey-file or --masterkey -.
The mount daemon receives only the master key, over a pipe, and its log
names ciphertext paths only; --debug logs plaintext names.

The SECURITY.md file of the source tree has the full threat model, the
results of the attack tests and how rotation survives a crash.
`

// manExamples follows the example of mainUsage, which the page shows first.
const manExamples = `Keep CIPHERDIR in a synced folder; point the sync client at it, never at the
mountpoint:
  $ veilfs init ~/Dropbox/vault.enc
  $ veilfs mount ~/Dropbox/vault.enc ~/vault

Give a laptop its own password, and later lock it out for good:
  $ veilfs keys add --label laptop ~/vault.enc
  $ veilfs keys remove --label laptop ~/vault.enc
  $ veilfs rotate ~/vault.enc

Every password is lost: set a new one with the master key that init printed:
  $ veilfs passwd --masterkey-file /media/usb/vault.key ~/vault.enc

Mount from a script, with the password in a file only you can read:
  $ veilfs mount --passfile ~/.vault-password ~/vault.enc ~/vault
`

var manSeeAlso = []string{"gocryptfs(1)", "fusermount3(1)", "mount.fuse3(8)"}

// manPage renders the whole page.
func manPage(date time.Time) string {
	var w roffWriter
	w.comment("Generated by 'veilfs manpage' (make man) from the help texts in cmd/veilfs;")
	w.comment("edit those, not this file.")
	name, desc, _ := strings.Cut(strings.SplitN(mainUsage, "\n", 2)[0], " - ")
	w.macro("TH", "VEILFS", "1", date.Format("2006-01-02"), "veilfs "+version, "User Commands")
	// No hyphenation, ragged right: the texts are full of paths, options
	// and commands that must read (and copy) as written.
	w.line(".nh")
	w.line(".ad l")

	w.macro("SH", "NAME")
	w.text(name + " - " + desc)

	all := specs()
	w.macro("SH", "SYNOPSIS")
	w.line(".nf")
	for _, s := range walk(all) {
		for _, syn := range s.usage.synopsis {
			w.synopsis(syn)
		}
	}
	for _, extra := range mainOnlyEntries(all) {
		w.synopsis(extra[0])
	}
	w.line(".fi")

	w.macro("SH", "DESCRIPTION")
	w.blocks(parseUsage(manIntro).blocks)
	// mainUsage's own prose (where passwords come from), without its
	// command list, which SYNOPSIS and COMMANDS give in full.
	top := parseUsage(mainUsage)
	w.blocks(withoutSections(top.blocks[1:], "Usage", "Example", "Examples"))

	w.macro("SH", "COMMANDS")
	for _, s := range walk(all) {
		w.macro("SS", s.usage.synopsis[0])
		if len(s.usage.synopsis) > 1 {
			w.line(".nf")
			for _, syn := range s.usage.synopsis[1:] {
				w.synopsis(syn)
			}
			w.line(".fi")
		}
		w.blocks(s.usage.blocks)
	}
	for _, extra := range mainOnlyEntries(all) {
		w.macro("SS", extra[0])
		w.macro("PP")
		w.text(capitalize(extra[1]) + ".")
	}

	w.macro("SH", "EXIT STATUS")
	w.exitCodes(exitCodeHelp)
	w.macro("PP")
	w.text("A Go panic exits with 2. veilfs help exit-codes prints this list.")

	w.macro("SH", "FILES")
	for _, f := range manFiles {
		w.macro("TP")
		w.raw(`\fI` + escape(f[0]) + `\fR`)
		w.text(f[1])
	}

	w.macro("SH", "SECURITY")
	w.blocks(parseUsage(manSecurity).blocks)

	w.macro("SH", "EXAMPLES")
	w.macro("PP")
	w.text("Create a volume, mount it, unmount it:")
	w.blocks(sectionBlocks(top.blocks, "Example", "Examples"))
	w.blocks(parseUsage(manExamples).blocks)

	w.macro("SH", "SEE ALSO")
	refs := make([]string, len(manSeeAlso))
	for i, r := range manSeeAlso {
		page, sec, _ := strings.Cut(strings.TrimSuffix(r, ")"), "(")
		refs[i] = `\fB` + escape(page) + `\fR(` + sec + `)`
	}
	w.raw(strings.Join(refs, ",\n"))
	return w.String()
}

// walk lists the commands depth first: keys, then keys add, keys remove, ...
func walk(list []*commandSpec) []*commandSpec {
	var out []*commandSpec
	for _, s := range list {
		out = append(out, s)
		out = append(out, walk(s.subs)...)
	}
	return out
}

// mainOnlyEntries returns the lines of mainUsage's command list that name
// no command of commands() (help, --version: dispatch handles them), as
// (synopsis, description) pairs.
func mainOnlyEntries(all []*commandSpec) [][2]string {
	known := map[string]bool{}
	for _, s := range all {
		known[s.cmd.name] = true
	}
	var out [][2]string
	inUsage := false
	for _, b := range parseUsage(mainUsage).blocks {
		switch {
		case b.kind == heading:
			inUsage = b.lines[0] == "Usage"
		case b.kind == preformatted && inUsage:
			for _, l := range b.lines {
				syn, desc, ok := strings.Cut(strings.TrimSpace(l), "  ")
				fields := strings.Fields(syn)
				if !ok || len(fields) < 2 || known[fields[1]] {
					continue
				}
				out = append(out, [2]string{syn, strings.TrimSpace(desc)})
			}
		}
	}
	return out
}

// withoutSections drops the headings named and the blocks under them.
func withoutSections(blocks []usageBlock, names ...string) []usageBlock {
	var out []usageBlock
	skip := false
	for _, b := range blocks {
		switch b.kind {
		case heading:
			skip = false
			for _, n := range names {
				skip = skip || b.lines[0] == n
			}
			if skip {
				continue
			}
		case paragraph:
			skip = false
		}
		if !skip {
			out = append(out, b)
		}
	}
	return out
}

// sectionBlocks returns the blocks under the first heading named, without it.
func sectionBlocks(blocks []usageBlock, names ...string) []usageBlock {
	for i, b := range blocks {
		if b.kind != heading || !slices.Contains(names, b.lines[0]) {
			continue
		}
		var out []usageBlock
		for _, c := range blocks[i+1:] {
			if c.kind == heading || c.kind == paragraph {
				break
			}
			out = append(out, c)
		}
		return out
	}
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// roffWriter writes man(7) source. Every piece of text goes through escape,
// so no character of a help text can be taken for a roff request.
type roffWriter struct{ strings.Builder }

// line writes a request (".nf") or any line as it is.
func (w *roffWriter) line(s string) {
	w.WriteString(s)
	w.WriteByte('\n')
}

// raw writes a line of text that is already escaped. A text line starting
// with a dot or an apostrophe would be taken for a request: \& keeps it text.
func (w *roffWriter) raw(s string) {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	w.line(s)
}

func (w *roffWriter) comment(s string) { w.line(`.\" ` + s) }

// macro writes a request with quoted, escaped arguments.
func (w *roffWriter) macro(name string, args ...string) {
	var b strings.Builder
	b.WriteString("." + name)
	for _, a := range args {
		b.WriteString(` "` + strings.ReplaceAll(escape(a), `"`, `\(dq`) + `"`)
	}
	w.line(b.String())
}

// text writes prose to be filled, one source line per input line.
func (w *roffWriter) text(s string) {
	for _, l := range strings.Split(s, "\n") {
		w.raw(escape(l))
	}
}

func (w *roffWriter) blocks(blocks []usageBlock) {
	for _, b := range blocks {
		switch b.kind {
		case paragraph:
			w.macro("PP")
			w.text(strings.Join(b.lines, "\n"))
		case heading:
			w.macro("PP")
			w.raw(`\fB` + escape(b.lines[0]) + `:\fR`)
		case preformatted:
			w.line(".RS 4")
			w.line(".nf")
			for _, l := range b.lines {
				w.raw(escape(l))
			}
			w.line(".fi")
			w.line(".RE")
		case option:
			w.macro("TP")
			w.raw(optionTag(b.opt))
			w.text(b.opt.desc)
		}
	}
}

// optionTag renders "-o, --options OPTS" with the flags in bold and the
// argument in italics.
func optionTag(o *usageOption) string {
	var tag string
	if o.short != "" {
		tag = `\fB\-` + escape(o.short) + `\fR, `
	}
	tag += `\fB\-\-` + escape(o.long) + `\fR`
	switch {
	case o.arg == "-":
		tag += ` \fB\-\fR`
	case o.arg != "":
		tag += ` \fI` + escape(o.arg) + `\fR`
	}
	return tag
}

var synopsisWord = regexp.MustCompile(`-{0,2}[A-Za-z0-9][A-Za-z0-9_.-]*`)

// synopsis writes one usage line (in a .nf block): placeholders (upper case
// words, "options") in italics, the words to type in bold, punctuation plain.
func (w *roffWriter) synopsis(syn string) {
	var b strings.Builder
	last := 0
	for _, m := range synopsisWord.FindAllStringIndex(syn, -1) {
		b.WriteString(escape(syn[last:m[0]]))
		word := syn[m[0]:m[1]]
		if word == "options" || (strings.ToUpper(word) == word && strings.ContainsAny(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
			b.WriteString(`\fI` + escape(word) + `\fR`)
		} else {
			b.WriteString(`\fB` + escape(word) + `\fR`)
		}
		last = m[1]
	}
	b.WriteString(escape(syn[last:]))
	w.raw(b.String())
}

// exitCodes renders exitCodeHelp: its first line, then a tagged paragraph
// per code.
func (w *roffWriter) exitCodes(help string) {
	lines := strings.Split(strings.TrimRight(help, "\n"), "\n")
	w.text(strings.TrimSuffix(lines[0], ":") + ".")
	for _, l := range lines[1:] {
		code, meaning, ok := strings.Cut(strings.TrimSpace(l), "  ")
		if !ok {
			continue
		}
		w.macro("TP")
		w.raw(`\fB` + escape(code) + `\fR`)
		w.text(strings.TrimSpace(meaning))
	}
}

// escape makes s safe inside a roff line: a backslash is printed as is, and
// the characters that groff would typeset as something else are given as
// the ASCII character a reader may copy into a shell.
var roffEscaper = strings.NewReplacer(
	`\`, `\e`,
	`-`, `\-`,
	`'`, `\(aq`,
	"`", `\(ga`,
	`^`, `\(ha`,
	`~`, `\(ti`,
)

func escape(s string) string { return roffEscaper.Replace(s) }
