package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/nametransform"
)

var lsCommand = command{
	name:    "ls",
	summary: "list a directory with plaintext and ciphertext names, without mounting",
	usage:   lsUsage,
	run:     runLs,
}

const lsUsage = `Usage: veilfs ls [options] CIPHERDIR [PATH]

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
      --passfile FILE        read the password from the first line of FILE
      --extpass CMD          run CMD with /bin/sh -c, use the first line it prints
      --keyfile FILE         unlock with a keyfile unlocker (veilfs keys)
      --masterkey-file FILE  unlock with the master key in FILE
` + recoveryOptionsUsage + `      --masterkey -          read the master key from standard input (or the terminal)
      --masterkey HEX        unlock with this master key (visible to other users: avoid)
      --reverse              CIPHERDIR is a reverse volume's PLAINDIR: use its
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

func runLs(c *cli, cmd *command, args []string) error {
	fs := newFlagSet(cmd.name)
	u := addUnlockFlags(fs)
	ff := addFormatFlags(fs)
	var l lister
	var asJSON bool
	fs.BoolVarP(&l.recursive, "recursive", "R", false, "list the directories below too")
	fs.BoolVarP(&l.all, "all", "a", false, "also list the volume's own files and sync clients'")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	reverse := addReverseFlag(fs)
	dir, err := c.parseUnlockArgs(cmd, fs, args, u, "CIPHERDIR", "[PATH]")
	if err != nil {
		return err
	}
	ff.parsed(fs)
	vol, err := c.openReadOnly(u, ff, dir, *reverse)
	if err != nil {
		return err
	}
	defer vol.close()
	l.vol = vol

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
	if err := l.listStart(start); err != nil {
		return fail(nil, err)
	}

	if asJSON {
		err = printLsJSON(c.stdout, l.rows)
	} else {
		err = printLs(c.stdout, l.rows)
	}
	if err != nil {
		return err
	}
	if l.undecryptable > 0 {
		warningf(c.stderr, "%d %s, listed as ?: files put into CIPHERDIR by something other than veilfs or gocryptfs, damaged names, or names from a directory two machines created at once",
			l.undecryptable, plural(l.undecryptable, "name does not decrypt", "names do not decrypt"))
		hintf(c.stderr, "'veilfs path decrypt CIPHERDIR CIPHERPATH' says why for one of them")
	}
	if len(l.unlisted) > 0 {
		return failf(nil, []string{"the rest is listed, and the NOTE column says why each was not; a missing or damaged gocryptfs.diriv can be restored from your sync service's version history or a backup"},
			"%d director%s could not be listed: %s", len(l.unlisted), plural(len(l.unlisted), "y", "ies"), strings.Join(l.unlisted, ", "))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lister walks the volume and collects the rows to print.
type lister struct {
	vol            *readOnlyVolume
	recursive, all bool

	rows          []lsRow
	undecryptable int
	unlisted      []string // plaintext paths of directories that could not be listed
}

// lsRow is one entry as printed.
type lsRow struct {
	e cipherdir.ListEntry
	// name and cipherName are what the table shows: the names, or with
	// -R the paths from the listed directory.
	name, cipherName string
	// path is the plaintext path from the volume root ("?" for a
	// component that does not decrypt), cipherPath relative to CIPHERDIR.
	path, cipherPath string
	note             string
	// listErr says why a directory's entries are missing (-R).
	listErr error
}

// listStart lists the directory at p, or p itself if it is no directory.
func (l *lister) listStart(p *cipherdir.VolumePath) error {
	if l.vol.reverse {
		return l.listReverseStart(p)
	}
	if !p.IsDir {
		parent := &cipherdir.VolumePath{Steps: p.Steps[:len(p.Steps)-1]}
		fd, iv, err := l.openDir(parent.Cipher())
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		entries, err := l.vol.ListDir(fd, iv, len(p.Steps) == 1)
		if err != nil {
			return err
		}
		last := p.Steps[len(p.Steps)-1]
		for _, e := range entries {
			if e.Disk == last.Disk {
				l.add(e, "", "", parentPath(p.Plain()), parent.Cipher())
			}
		}
		return nil
	}
	fd, iv, err := l.openDir(p.Cipher())
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return l.list(fd, iv, len(p.Steps) == 0, "", "", strings.TrimSuffix(p.Plain(), "/"), p.Cipher())
}

// openDir opens the directory at the ciphertext path rel and reads its IV.
func (l *lister) openDir(rel string) (int, []byte, error) {
	fd, err := cipherdir.OpenDirAt(l.vol.root, rel)
	if err != nil {
		return -1, nil, err
	}
	iv, err := l.vol.DirIVAt(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("directory %s: %w", rel, err)
	}
	return fd, iv, nil
}

// list adds the entries of the directory dirfd, shown under the prefixes
// rel/cipherRel (from the listed directory) and abs/cipherAbs (from the
// root), and with -R those of its subdirectories after each of them.
func (l *lister) list(dirfd int, iv []byte, atRoot bool, rel, cipherRel, abs, cipherAbs string) error {
	entries, err := l.vol.ListDir(dirfd, iv, atRoot)
	if err != nil {
		return err
	}
	slices.SortFunc(entries, compareEntries)
	for _, e := range entries {
		if e.Role != cipherdir.RoleEntry && !l.all {
			continue
		}
		i := l.add(e, rel, cipherRel, abs, cipherAbs)
		if !l.recursive || e.Role != cipherdir.RoleEntry || e.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		row := l.rows[i] // l.rows grows below: keep a copy, write back by index
		child, err := cipherdir.OpenDirAt(dirfd, e.Disk)
		var childIV []byte
		if err == nil {
			if childIV, err = l.vol.DirIVAt(child); err != nil {
				unix.Close(child)
			}
		}
		if err == nil {
			err = l.list(child, childIV, false, row.name, row.cipherName, row.path, row.cipherPath)
			unix.Close(child)
		}
		if err != nil {
			l.rows[i].listErr = err
			l.rows[i].note = joinNote(row.note, "not listed: "+err.Error())
			l.unlisted = append(l.unlisted, row.path)
		}
	}
	return nil
}

// listReverseStart is listStart for a reverse volume: the listing is of
// the view, computed from the plaintext directory.
func (l *lister) listReverseStart(p *cipherdir.VolumePath) error {
	if p.IsDir {
		return l.listReverse(p, "", "", strings.TrimSuffix(p.Plain(), "/"))
	}
	parent := &cipherdir.VolumePath{Steps: p.Steps[:len(p.Steps)-1]}
	entries, err := view.ListDir(l.vol.Volume, l.vol.root, parent)
	if err != nil {
		return err
	}
	last := p.Steps[len(p.Steps)-1]
	for _, e := range entries {
		if e.Role == cipherdir.RoleEntry && e.Disk == last.Disk {
			l.add(e, "", "", parentPath(p.Plain()), parent.Cipher())
		}
	}
	return nil
}

// listReverse is list for a reverse volume: it adds the entries of the
// view directory at p, shown under rel/cipherRel and found at abs.
func (l *lister) listReverse(p *cipherdir.VolumePath, rel, cipherRel, abs string) error {
	entries, err := view.ListDir(l.vol.Volume, l.vol.root, p)
	if err != nil {
		return err
	}
	slices.SortFunc(entries, compareEntries)
	for _, e := range entries {
		if e.Role != cipherdir.RoleEntry && !l.all {
			continue
		}
		i := l.add(e, rel, cipherRel, abs, p.Cipher())
		if !l.recursive || e.Role != cipherdir.RoleEntry || e.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		row := l.rows[i] // l.rows grows below: keep a copy, write back by index
		child := &cipherdir.VolumePath{Steps: append(slices.Clip(p.Steps), e.Step), Exists: true, IsDir: true}
		if err := l.listReverse(child, row.name, row.cipherName, row.path); err != nil {
			l.rows[i].listErr = err
			l.rows[i].note = joinNote(row.note, "not listed: "+err.Error())
			l.unlisted = append(l.unlisted, row.path)
		}
	}
	return nil
}

// compareEntries orders a directory: entries by plaintext name, then the
// names that do not decrypt, then the volume's own files, each by
// ciphertext name.
func compareEntries(a, b cipherdir.ListEntry) int {
	rank := func(e cipherdir.ListEntry) int {
		switch {
		case e.Role != cipherdir.RoleEntry:
			return 2
		case e.Step.Undecryptable:
			return 1
		}
		return 0
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	if rank(a) == 0 {
		if c := strings.Compare(a.Step.Plain, b.Step.Plain); c != 0 {
			return c
		}
	}
	return strings.Compare(a.Disk, b.Disk)
}

// add appends the row of e, in the directory shown as rel/cipherRel and
// found at abs/cipherAbs, and returns its index.
func (l *lister) add(e cipherdir.ListEntry, rel, cipherRel, abs, cipherAbs string) int {
	row := lsRow{
		e:          e,
		name:       joinRel(rel, e.Step.Plain),
		cipherName: joinRel(cipherRel, e.Disk),
		path:       abs + "/" + e.Step.Plain,
		cipherPath: cipherdir.JoinPath(cipherAbs, e.Disk),
	}
	switch {
	case e.Role != cipherdir.RoleEntry:
		row.name, row.path = "-", "" // no plaintext name of its own
	case e.NameErr != nil:
		l.undecryptable++
		row.note = "name does not decrypt"
	case e.Step.Conflict != nil:
		row.note = e.Step.Conflict.Client + " conflict copy"
	}
	switch {
	case e.Role != cipherdir.RoleEntry:
	case e.Step.Lost:
		row.note = joinNote(row.note, "name lost with its .name sidecar, shown by its hash: restore "+e.Step.Sidecar+
			" from your sync service's version history, or rename it in a mount")
	case e.Step.Recalled:
		row.note = joinNote(row.note, ".name sidecar missing; the name is this machine's memory of it (a mount or fsck --repair writes it back)")
	}
	switch e.Role {
	case cipherdir.RoleDirIV:
		row.note = "IV of the names in " + dirName(abs)
		if e.Disk != nametransform.DirIVFilename {
			row.note = "conflict copy of the IV of " + dirName(abs) + ", from another machine"
		}
	case cipherdir.RoleSidecar:
		row.note = "long-name sidecar of " + e.Step.Plain
		if e.NameErr != nil {
			row.note = "long-name sidecar, does not decrypt"
		}
	case cipherdir.RoleConfig:
		row.note = "volume config"
	case cipherdir.RoleReserved:
		row.note = "reserved by the volume, not part of the tree"
	case cipherdir.RoleSyncClient:
		client, _ := nametransform.SyncClientFile(e.Disk)
		row.note = client + "'s own file, not part of the volume"
		if e.Mode&unix.S_IFMT == unix.S_IFDIR {
			row.note = client + "'s own folder, not part of the volume"
		}
	}
	if e.StatErr != nil {
		row.note = joinNote(row.note, e.StatErr.Error())
	}
	if e.SizeErr != nil {
		row.note = joinNote(row.note, "damaged: "+e.SizeErr.Error())
	}
	l.rows = append(l.rows, row)
	return len(l.rows) - 1
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
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

// parentPath is the plaintext path of the directory holding p ("" for the
// root, the prefix rows are shown under).
func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	return p[:max(i, 0)]
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

func printLs(w io.Writer, rows []lsRow) error {
	notes := slices.ContainsFunc(rows, func(r lsRow) bool { return r.note != "" })
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	header := "TYPE\tSIZE\tPLAINTEXT NAME\tCIPHERTEXT NAME"
	if notes {
		header += "\tNOTE"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		size := "-"
		if hasSize(r.e) {
			size = strconv.FormatInt(r.e.Size, 10)
		}
		line := typeName(r.e.Mode) + "\t" + size + "\t" + quoteName(r.name) + "\t" + quoteName(r.cipherName)
		if notes {
			line += "\t" + r.note
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

func printLsJSON(w io.Writer, rows []lsRow) error {
	out := make([]lsJSON, 0, len(rows))
	for _, r := range rows {
		j := lsJSON{
			Type:       typeName(r.e.Mode),
			CipherName: r.e.Disk,
			CipherPath: r.cipherPath,
			CipherSize: r.e.CipherSize,
		}
		if hasSize(r.e) {
			j.Size = &r.e.Size
		}
		if r.e.Role == cipherdir.RoleEntry {
			j.Path = &r.path
			if !r.e.Step.Undecryptable {
				j.Name = &r.e.Step.Plain
			}
		} else {
			j.Role = r.e.Role.String()
		}
		if r.e.Role == cipherdir.RoleEntry && r.e.Step.Sidecar != "" {
			j.Sidecar = cipherdir.JoinPath(parentOf(r.cipherPath), r.e.Step.Sidecar)
		}
		if c := r.e.Step.Conflict; c != nil && r.e.Role == cipherdir.RoleEntry {
			j.Conflict = &conflictJSON{Client: c.Client, Label: c.Label}
		}
		switch {
		case r.e.Role != cipherdir.RoleEntry:
		case r.e.Step.Lost:
			j.SidecarMissing = "lost"
		case r.e.Step.Recalled:
			j.SidecarMissing = "remembered"
		}
		var errs []string
		for _, err := range []error{r.e.NameErr, r.e.StatErr, r.e.SizeErr, r.listErr} {
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

// parentOf is the ciphertext path of the directory holding p.
func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	return p[:max(i, 0)]
}
