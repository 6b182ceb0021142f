// Package browse walks a volume without mounting it and says what each
// entry is called on both sides: the rows of `veilfs ls`. A forward
// volume is walked in CIPHERDIR (fs/cipherdir's listings), a reverse one
// in its view, computed from the plaintext directory (fs/reverse/view).
// The order is the same on every run: entries by plaintext name, then
// names that do not decrypt, then the volume's own files, each by
// ciphertext name; with Recursive each directory's rows follow its own.
//
// Nothing is written. The caller words and prints the rows; this package
// neither logs nor formats.
package browse

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
)

// Options says what to list.
type Options struct {
	// Recursive lists the directories below too.
	Recursive bool
	// All also lists the volume's own files and sync clients' (every Role
	// but RoleEntry), which are otherwise left out.
	All bool
}

// Row is one listed entry.
type Row struct {
	cipherdir.ListEntry
	// Name and CipherName are the names from the listed directory: the
	// entry's names, or with Recursive their paths below it.
	Name, CipherName string
	// Dir is the plaintext path of the directory holding the entry from
	// the volume root ("" for the root), CipherDir its ciphertext path
	// relative to CIPHERDIR (or the view's root).
	Dir, CipherDir string
	// Path is the plaintext path from the volume root ("?" for a component
	// that does not decrypt); it means something for RoleEntry only.
	// CipherPath is relative to CIPHERDIR.
	Path, CipherPath string
	// ListErr says why the entries of this directory are missing
	// (Recursive): they could not be listed, and the rest was.
	ListErr error
}

// Listing is what List and ListReverse found.
type Listing struct {
	Rows []Row
	// Undecryptable counts the entries whose name does not decrypt.
	Undecryptable int
	// Unlisted holds the plaintext paths of the directories below the
	// listed one that could not be listed (their row has ListErr).
	Unlisted []string
}

// List lists the directory of the forward volume v at p (from
// EncryptPath; CIPHERDIR open at rootfd), or p itself if it is no
// directory. An error means nothing could be listed.
func List(v *cipherdir.Volume, rootfd int, p *cipherdir.VolumePath, opts Options) (*Listing, error) {
	w := &walk{vol: v, root: rootfd, opts: opts}
	if !p.IsDir {
		parent := &cipherdir.VolumePath{Steps: p.Steps[:len(p.Steps)-1]}
		fd, iv, err := w.openDir(parent.Cipher())
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		entries, err := v.ListDir(fd, iv, len(p.Steps) == 1)
		if err != nil {
			return nil, err
		}
		last := p.Steps[len(p.Steps)-1]
		for _, e := range entries {
			if e.Disk == last.Disk {
				w.add(e, "", "", parentPath(p.Plain()), parent.Cipher())
			}
		}
		return &w.out, nil
	}
	fd, iv, err := w.openDir(p.Cipher())
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := w.list(fd, iv, len(p.Steps) == 0, "", "", strings.TrimSuffix(p.Plain(), "/"), p.Cipher()); err != nil {
		return nil, err
	}
	return &w.out, nil
}

// ListReverse is List for a reverse volume: the listing is of the view at
// p (from view.EncryptPath), computed from the plaintext directory open at
// rootfd.
func ListReverse(v *cipherdir.Volume, rootfd int, p *cipherdir.VolumePath, opts Options) (*Listing, error) {
	w := &walk{vol: v, root: rootfd, opts: opts}
	if p.IsDir {
		if err := w.listReverse(p, "", "", strings.TrimSuffix(p.Plain(), "/")); err != nil {
			return nil, err
		}
		return &w.out, nil
	}
	parent := &cipherdir.VolumePath{Steps: p.Steps[:len(p.Steps)-1]}
	entries, err := view.ListDir(v, rootfd, parent)
	if err != nil {
		return nil, err
	}
	last := p.Steps[len(p.Steps)-1]
	for _, e := range entries {
		if e.Role == cipherdir.RoleEntry && e.Disk == last.Disk {
			w.add(e, "", "", parentPath(p.Plain()), parent.Cipher())
		}
	}
	return &w.out, nil
}

// walk collects the rows of one listing.
type walk struct {
	vol  *cipherdir.Volume
	root int
	opts Options
	out  Listing
}

// openDir opens the directory at the ciphertext path rel and reads its IV.
func (w *walk) openDir(rel string) (int, []byte, error) {
	fd, err := cipherdir.OpenDirAt(w.root, rel)
	if err != nil {
		return -1, nil, err
	}
	iv, err := w.vol.DirIVAt(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("directory %s: %w", rel, err)
	}
	return fd, iv, nil
}

// list adds the entries of the directory dirfd, shown under the prefixes
// rel/cipherRel (from the listed directory) and abs/cipherAbs (from the
// root), and with Recursive those of its subdirectories after each of them.
func (w *walk) list(dirfd int, iv []byte, atRoot bool, rel, cipherRel, abs, cipherAbs string) error {
	entries, err := w.vol.ListDir(dirfd, iv, atRoot)
	if err != nil {
		return err
	}
	w.addDir(entries, rel, cipherRel, abs, cipherAbs, func(e cipherdir.ListEntry, row Row) error {
		child, err := cipherdir.OpenDirAt(dirfd, e.Disk)
		var childIV []byte
		if err == nil {
			if childIV, err = w.vol.DirIVAt(child); err != nil {
				unix.Close(child)
			}
		}
		if err == nil {
			err = w.list(child, childIV, false, row.Name, row.CipherName, row.Path, row.CipherPath)
			unix.Close(child)
		}
		return err
	})
	return nil
}

// listReverse is list for a reverse volume: it adds the entries of the
// view directory at p, shown under rel/cipherRel and found at abs.
func (w *walk) listReverse(p *cipherdir.VolumePath, rel, cipherRel, abs string) error {
	entries, err := view.ListDir(w.vol, w.root, p)
	if err != nil {
		return err
	}
	w.addDir(entries, rel, cipherRel, abs, p.Cipher(), func(e cipherdir.ListEntry, row Row) error {
		child := &cipherdir.VolumePath{Steps: append(slices.Clip(p.Steps), e.Step), Exists: true, IsDir: true}
		return w.listReverse(child, row.Name, row.CipherName, row.Path)
	})
	return nil
}

// addDir adds the entries of one directory in order (the volume's own
// files only with All) and with Recursive, after each subdirectory's row,
// what descend adds of it; a subdirectory descend fails on is recorded as
// not listed, and the rest goes on.
func (w *walk) addDir(entries []cipherdir.ListEntry, rel, cipherRel, abs, cipherAbs string, descend func(e cipherdir.ListEntry, row Row) error) {
	slices.SortFunc(entries, compareEntries)
	for _, e := range entries {
		if e.Role != cipherdir.RoleEntry && !w.opts.All {
			continue
		}
		i := w.add(e, rel, cipherRel, abs, cipherAbs)
		if !w.opts.Recursive || e.Role != cipherdir.RoleEntry || e.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		// Rows grows in descend: pass a copy, write back by index.
		if err := descend(e, w.out.Rows[i]); err != nil {
			w.unlisted(i, err)
		}
	}
}

// unlisted records that the directory of row i could not be listed.
func (w *walk) unlisted(i int, err error) {
	w.out.Rows[i].ListErr = err
	w.out.Unlisted = append(w.out.Unlisted, w.out.Rows[i].Path)
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
func (w *walk) add(e cipherdir.ListEntry, rel, cipherRel, abs, cipherAbs string) int {
	if e.Role == cipherdir.RoleEntry && e.NameErr != nil {
		w.out.Undecryptable++
	}
	w.out.Rows = append(w.out.Rows, Row{
		ListEntry:  e,
		Name:       joinRel(rel, e.Step.Plain),
		CipherName: joinRel(cipherRel, e.Disk),
		Dir:        abs,
		CipherDir:  cipherAbs,
		Path:       abs + "/" + e.Step.Plain,
		CipherPath: cipherdir.JoinPath(cipherAbs, e.Disk),
	})
	return len(w.out.Rows) - 1
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

// parentPath is the plaintext path of the directory holding p ("" for the
// root, the prefix rows are shown under).
func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	return p[:max(i, 0)]
}
