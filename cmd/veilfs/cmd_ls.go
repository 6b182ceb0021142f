package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/browse"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/nametransform"
)

var lsCommand = command{
	name:    "ls",
	summary: "list a directory with plaintext and ciphertext names, without mounting",
	usage:   lsUsage,
	args:    []string{"CIPHERDIR", "[PATH]"},
	flags:   declare(defineLsFlags),
	run:     runLs,
}

var lsUsage = `Usage: veilfs ls [options] CIPHERDIR [PATH]

List the directory PATH of the volume in CIPHERDIR (a plaintext path from
its root; default the root) without mounting, with each entry's plaintext
and ciphertext names side by side:

  TYPE     file, dir, symlink, fifo, socket, char, block
  SIZE     plaintext size of a file, length of a symlink's target; - else
  PLAINTEXT NAME, CIPHERTEXT NAME
  NOTE     shown when an entry needs one: a name that does not decrypt, a
           sync client's conflict copy, a damaged size, what an own file is

An entry whose name does not decrypt is listed with ? as its plaintext
name, never left out, and counted on standard error. A sync client's conflict copy
shows as in a mount: "report (conflict 2026-11-27 laptop).txt". With -R the
names are paths from PATH. A PATH that is not a directory lists itself.

A long name whose .name sidecar is missing (a sync client lost it) shows,
as in a mount, under the name this machine's mounts remember, or else under
"lost name H", H being its hash; the NOTE says which, and PATH may name it
that way.

The volume's own files (gocryptfs.conf, gocryptfs.diriv, long-name .name
sidecars) are left out unless -a is given, and so are a sync client's own
files and folders in CIPHERDIR (Syncthing's .stfolder and .syncthing.*.tmp,
desktop.ini, .DS_Store, ...: docs/sync.md lists them), which are not the
volume's and are never counted as names that do not decrypt.

For a reverse volume (veilfs init --reverse), give its PLAINDIR as CIPHERDIR:
the listing is of its encrypted view (veilfs mount --reverse), computed from
the plaintext, with the sizes the view shows in the JSON's cipher_size; -a
adds the files that exist only in the view. Paths a mount hides with
--exclude are listed all the same.

The volume is unlocked with any unlocker: a password (the primary one or
that of any password unlocker), --keyfile, or the master key. Nothing in
CIPHERDIR is written; the volume may be mounted.

Options:
  -R, --recursive            list the directories below too
  -a, --all                  also list the volume's own files and sync clients'
      --json                 print JSON: an array with one object per entry
` + readOnlyUnlockUsage + `      --reverse              CIPHERDIR is a reverse volume's PLAINDIR: use its
                             .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help                 show this help

JSON fields: type, size (null where SIZE is -), name (null when it does
not decrypt), path (from the volume's root, with ? for a name that does
not decrypt; null for the volume's own files), cipher_name, cipher_path
(relative to CIPHERDIR), cipher_size, and where they apply: sidecar (the
cipher_path of a long name's .name file), conflict (client and label of a
conflict copy), role (diriv, sidecar, config or reserved: the volume's own
files; sync-client: a sync client's), sidecar_missing ("remembered" or
"lost": the long name's sidecar is missing, and the name is this machine's
memory of it, or the synthetic "lost name H"), error (why a name, a size or
a directory's entries are missing).

Exit codes: 0 listed, also with names that do not decrypt; 11 PATH does
not exist, or a directory below it could not be listed (the rest is
listed); 12 wrong password.

Examples:
  $ veilfs ls ~/vault.enc
  $ veilfs ls -R ~/vault.enc docs
  $ veilfs ls -R --json ~/vault.enc | jq -r '.[] | select(.name == null) | .cipher_path'
  $ veilfs ls -a ~/Documents
`

// lsOptions are the values of ls's flags.
type lsOptions struct {
	readOnlyFlags
	recursive, all, asJSON bool
}

func defineLsFlags(fs *pflag.FlagSet) *lsOptions {
	o := &lsOptions{readOnlyFlags: addReadOnlyFlags(fs)}
	fs.BoolVarP(&o.recursive, "recursive", "R", false, "list the directories below too")
	fs.BoolVarP(&o.all, "all", "a", false, "also list the volume's own files and sync clients'")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON")
	return o
}

func runLs(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, defineLsFlags)
	dir, err := c.parseReadOnlyArgs(cmd, fs, args, o.readOnlyFlags)
	if err != nil {
		return err
	}
	u, ff, reverse, asJSON := o.unlock, o.format, o.reverse, o.asJSON
	vol, err := c.openReadOnly(u, ff, dir, *reverse)
	if err != nil {
		return err
	}
	defer vol.close()

	var start *cipherdir.VolumePath
	if vol.reverse {
		if start, err = view.EncryptPath(vol.Volume, vol.root, reversePlainArg(dir, fs.Arg(1))); err != nil {
			return reversePathError(err, dir, true)
		}
	} else if start, err = vol.EncryptPath(vol.root, fs.Arg(1)); err != nil {
		return pathError(err, dir)
	}
	if !start.Exists {
		return failf(nil, []string{"'veilfs ls CIPHERDIR' lists the root; the names are plaintext names"},
			"%s is not in the volume (its ciphertext path would be %s)", start.Plain(), start.Cipher())
	}
	opts := browse.Options{Recursive: o.recursive, All: o.all}
	list := browse.List
	if vol.reverse {
		list = browse.ListReverse
	}
	ls, err := list(vol.Volume, vol.root, start, opts)
	if err != nil {
		return fail(nil, err)
	}

	if asJSON {
		err = printLsJSON(c.stdout, ls.Rows)
	} else {
		err = printLs(c.stdout, ls.Rows)
	}
	if err != nil {
		return err
	}
	if ls.Undecryptable > 0 {
		warningf(c.stderr, "%d %s, listed as ?: files put into CIPHERDIR by something other than veilfs or gocryptfs, damaged names, or names from a directory two machines created at once",
			ls.Undecryptable, plural(ls.Undecryptable, "name does not decrypt", "names do not decrypt"))
		hintf(c.stderr, "'veilfs path decrypt CIPHERDIR CIPHERPATH' says why for one of them")
	}
	if len(ls.Unlisted) > 0 {
		return failf(nil, []string{"the rest is listed, and the NOTE column says why each was not; a missing or damaged gocryptfs.diriv can be restored from your sync service's version history or a backup"},
			"%d director%s could not be listed: %s", len(ls.Unlisted), plural(len(ls.Unlisted), "y", "ies"), strings.Join(ls.Unlisted, ", "))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lsNote is the NOTE column of r: why its name or size is missing, what
// a conflict copy or an own file is, and why its directory was not listed.
func lsNote(r browse.Row) string {
	e := r.ListEntry
	var note string
	switch {
	case e.Role != cipherdir.RoleEntry:
	case e.NameErr != nil:
		note = "name does not decrypt"
	case e.Step.Conflict != nil:
		note = e.Step.Conflict.Client + " conflict copy"
	}
	switch {
	case e.Role != cipherdir.RoleEntry:
	case e.Step.Lost:
		note = joinNote(note, "name lost with its .name sidecar, shown by its hash: restore "+e.Step.Sidecar+
			" from your sync service's version history, or rename it in a mount")
	case e.Step.Recalled:
		note = joinNote(note, ".name sidecar missing; the name is this machine's memory of it (a mount or fsck --repair writes it back)")
	}
	switch e.Role {
	case cipherdir.RoleDirIV:
		note = "IV of the names in " + dirName(r.Dir)
		if e.Disk != nametransform.DirIVFilename {
			note = "conflict copy of the IV of " + dirName(r.Dir) + ", from another machine"
		}
	case cipherdir.RoleSidecar:
		note = "long-name sidecar of " + e.Step.Plain
		if e.NameErr != nil {
			note = "long-name sidecar, does not decrypt"
		}
	case cipherdir.RoleConfig:
		note = "volume config"
	case cipherdir.RoleReserved:
		note = "reserved by the volume, not part of the tree"
	case cipherdir.RoleSyncClient:
		client, _ := nametransform.SyncClientFile(e.Disk)
		note = client + "'s own file, not part of the volume"
		if e.Mode&unix.S_IFMT == unix.S_IFDIR {
			note = client + "'s own folder, not part of the volume"
		}
	}
	if e.StatErr != nil {
		note = joinNote(note, e.StatErr.Error())
	}
	if e.SizeErr != nil {
		note = joinNote(note, "damaged: "+e.SizeErr.Error())
	}
	if r.ListErr != nil {
		note = joinNote(note, "not listed: "+r.ListErr.Error())
	}
	return note
}

// lsName is the PLAINTEXT NAME column of r: "-" for a file that has no
// plaintext name of its own (the volume's and sync clients' files).
func lsName(r browse.Row) string {
	if r.Role != cipherdir.RoleEntry {
		return "-"
	}
	return r.Name
}

func joinNote(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

func dirName(abs string) string {
	if abs == "" {
		return "/"
	}
	return abs
}

// typeName is the TYPE column for a lstat mode.
func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "char"
	case unix.S_IFBLK:
		return "block"
	}
	return "?"
}

// hasSize reports whether SIZE applies: the plaintext size of a file or
// the length of a symlink target, of an entry of the tree.
func hasSize(e cipherdir.ListEntry) bool {
	t := e.Mode & unix.S_IFMT
	return e.StatErr == nil && e.Role == cipherdir.RoleEntry && (t == unix.S_IFREG || t == unix.S_IFLNK)
}

// quoteName quotes a name that would break the table (control characters
// such as tab and newline), as ls does.
func quoteName(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}

func printLs(w io.Writer, rows []browse.Row) error {
	notes := make([]string, len(rows))
	for i, r := range rows {
		notes[i] = lsNote(r)
	}
	hasNotes := slices.ContainsFunc(notes, func(n string) bool { return n != "" })
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	header := "TYPE\tSIZE\tPLAINTEXT NAME\tCIPHERTEXT NAME"
	if hasNotes {
		header += "\tNOTE"
	}
	fmt.Fprintln(tw, header)
	for i, r := range rows {
		size := "-"
		if hasSize(r.ListEntry) {
			size = strconv.FormatInt(r.Size, 10)
		}
		line := typeName(r.Mode) + "\t" + size + "\t" + quoteName(lsName(r)) + "\t" + quoteName(r.CipherName)
		if hasNotes {
			line += "\t" + notes[i]
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The padding of an empty NOTE cell would trail every line.
	for line := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// lsJSON is one entry of ls --json; the help text lists the fields.
type lsJSON struct {
	Type       string        `json:"type"`
	Size       *int64        `json:"size"`
	Name       *string       `json:"name"`
	Path       *string       `json:"path"`
	CipherName string        `json:"cipher_name"`
	CipherPath string        `json:"cipher_path"`
	CipherSize int64         `json:"cipher_size"`
	Sidecar    string        `json:"sidecar,omitempty"`
	Conflict   *conflictJSON `json:"conflict,omitempty"`
	Role       string        `json:"role,omitempty"`
	// SidecarMissing is "remembered" or "lost" (cipherdir.PathStep).
	SidecarMissing string `json:"sidecar_missing,omitempty"`
	Error          string `json:"error,omitempty"`
}

type conflictJSON struct {
	Client string `json:"client"`
	Label  string `json:"label"`
}

func printLsJSON(w io.Writer, rows []browse.Row) error {
	out := make([]lsJSON, 0, len(rows))
	for _, r := range rows {
		j := lsJSON{
			Type:       typeName(r.Mode),
			CipherName: r.Disk,
			CipherPath: r.CipherPath,
			CipherSize: r.CipherSize,
		}
		if hasSize(r.ListEntry) {
			j.Size = &r.Size
		}
		if r.Role == cipherdir.RoleEntry {
			j.Path = &r.Path
			if !r.Step.Undecryptable {
				j.Name = &r.Step.Plain
			}
		} else {
			j.Role = r.Role.String()
		}
		if r.Role == cipherdir.RoleEntry && r.Step.Sidecar != "" {
			j.Sidecar = cipherdir.JoinPath(r.CipherDir, r.Step.Sidecar)
		}
		if c := r.Step.Conflict; c != nil && r.Role == cipherdir.RoleEntry {
			j.Conflict = &conflictJSON{Client: c.Client, Label: c.Label}
		}
		switch {
		case r.Role != cipherdir.RoleEntry:
		case r.Step.Lost:
			j.SidecarMissing = "lost"
		case r.Step.Recalled:
			j.SidecarMissing = "remembered"
		}
		var errs []string
		for _, err := range []error{r.NameErr, r.StatErr, r.SizeErr, r.ListErr} {
			if err != nil {
				errs = append(errs, err.Error())
			}
		}
		j.Error = strings.Join(errs, "; ")
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
