package cipherdir

// Whole paths in both directions and directory listings, without a mount:
// what `veilfs path` and `veilfs ls` show so that a user can find the
// ciphertext of a plaintext file (to restore it from a sync service's
// version history) and the other way round. Everything here only reads
// CIPHERDIR.

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrNotInTree is returned for a path that leaves the volume ("..") or
// walks through something that is not a directory of the plaintext tree.
var ErrNotInTree = errors.New("not a path of the volume")

// PathStep is one component of a path in the volume, in both forms.
type PathStep struct {
	// Plain is the plaintext name; for a sync client's conflict copy, the
	// name EntryName shows, "report (conflict 2026-11-27 laptop).txt".
	Plain string
	// Disk is the name in CIPHERDIR: the hashed gocryptfs.longname.* name
	// for a long name, the marked name for a conflict copy.
	Disk string
	// Sidecar is the name of the long-name sidecar beside Disk that holds
	// its encrypted name, "" for a short name. A conflict copy of a long
	// name shares the sidecar of its original.
	Sidecar string
	// Undecryptable is set (with Plain "?") for a component whose name
	// does not decrypt; only listings produce it.
	Undecryptable bool
	// Conflict is set for a conflict copy.
	Conflict *nametransform.Conflict
	// Recalled is set for a long name whose sidecar is missing, shown
	// under the name this machine remembers (Volume.LongNames); Lost for
	// one whose name nothing remembers, shown under its synthetic name
	// "lost name H" (ShownName). Sidecar is then the file to restore.
	Recalled, Lost bool
}

// VolumePath is a path in the volume: one step per component, none for
// the root.
type VolumePath struct {
	Steps []PathStep
	// Exists is set when the object of the last step is in CIPHERDIR,
	// IsDir when it is a directory there.
	Exists, IsDir bool
}

// Plain returns the plaintext path from the volume root, "/a/b" ("/" for
// the root).
func (p *VolumePath) Plain() string {
	var b strings.Builder
	for _, s := range p.Steps {
		b.WriteString("/")
		b.WriteString(s.Plain)
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// Cipher returns the ciphertext path relative to CIPHERDIR ("" for the
// root), slash separated.
func (p *VolumePath) Cipher() string {
	return p.cipherUpTo(len(p.Steps))
}

// cipherOrRoot is Cipher for messages, "." for the root.
func (p *VolumePath) cipherOrRoot() string {
	if len(p.Steps) == 0 {
		return "."
	}
	return p.Cipher()
}

func (p *VolumePath) cipherUpTo(n int) string {
	disks := make([]string, n)
	for i := range n {
		disks[i] = p.Steps[i].Disk
	}
	return strings.Join(disks, "/")
}

// RestoreFiles lists, relative to CIPHERDIR, every ciphertext file that the
// object at p needs to be read back, from the inside out: the object
// itself, its own gocryptfs.diriv if it is a directory, its long-name
// sidecar, then, from its parent up to the root, each directory's
// gocryptfs.diriv and long-name sidecar. Restoring an object from a backup or a sync service's history
// means restoring those of these that are gone. gocryptfs.conf is not
// listed: an older copy of it would bring back old passwords.
func (v *Volume) RestoreFiles(p *VolumePath) []string {
	ivs := v.DirIV && !v.PlaintextNames
	var out []string
	for i := len(p.Steps) - 1; i >= 0; i-- {
		s, parent := p.Steps[i], p.cipherUpTo(i)
		if i == len(p.Steps)-1 {
			out = append(out, JoinPath(parent, s.Disk))
		}
		if ivs && (i < len(p.Steps)-1 || p.IsDir) {
			out = append(out, JoinPath(JoinPath(parent, s.Disk), nametransform.DirIVFilename))
		}
		if s.Sidecar != "" {
			out = append(out, JoinPath(parent, s.Sidecar))
		}
	}
	if ivs {
		out = append(out, nametransform.DirIVFilename)
	}
	return out
}

// MissingDirError is returned when a directory on a path is not in
// CIPHERDIR and the rest of the path cannot be translated without it:
// names below it are encrypted with the IV in its gocryptfs.diriv (or a
// long name's sidecar is gone with it).
type MissingDirError struct {
	// Dir is the path up to and including the missing directory, whose
	// own name could still be translated.
	Dir *VolumePath
}

func (e *MissingDirError) Error() string {
	return fmt.Sprintf("directory %s is not in CIPHERDIR (its ciphertext path is %s)", e.Dir.Plain(), e.Dir.Cipher())
}

// Unwrap makes errors.Is(err, unix.ENOENT) hold.
func (e *MissingDirError) Unwrap() error { return unix.ENOENT }

// SplitPath cleans a slash-separated path relative to the volume root (a
// leading "/" is allowed) into its components; "" and "/" give none.
func SplitPath(p string) ([]string, error) {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return nil, fmt.Errorf("%q: %w: it must not contain ..", p, ErrNotInTree)
		}
	}
	clean := strings.TrimPrefix(path.Clean("/"+p), "/")
	if clean == "" {
		return nil, nil
	}
	return strings.Split(clean, "/"), nil
}

// Walker opens the directories of a path one after the other. fd is -1
// once a directory is missing; volumes whose names need no IV file can
// still go on computing names below it. It is exported for the reverse
// view (fs/reverse/view), which walks a plaintext tree the same way.
type Walker struct {
	v  *Volume
	fd int
}

func (v *Volume) newWalker(rootfd int) (*Walker, error) {
	fd, err := OpenDirAt(rootfd, "")
	if err != nil {
		return nil, err
	}
	return &Walker{v: v, fd: fd}, nil
}

// NewWalker starts a walk at the directory rootfd (for fs/reverse/view,
// the plaintext directory of a reverse volume). rootfd -1 gives a walker
// that has no directory from the start, so that the view's names, which
// derive from paths alone, can be computed without one.
func (v *Volume) NewWalker(rootfd int) (*Walker, error) {
	if rootfd < 0 {
		return &Walker{v: v, fd: -1}, nil
	}
	return v.newWalker(rootfd)
}

// FD is the descriptor of the current directory, -1 once one is missing.
func (w *Walker) FD() int { return w.fd }

// Close closes the current directory.
func (w *Walker) Close() {
	if w.fd >= 0 {
		closeFD(w.fd)
		w.fd = -1
	}
}

// iv returns the IV of the current directory. ok is false when the
// directory is missing and its IV is in a file.
func (w *Walker) iv() (iv []byte, ok bool, err error) {
	if w.fd < 0 {
		if w.v.DirIV && !w.v.PlaintextNames {
			return nil, false, nil
		}
		iv, err = w.v.DirIVAt(-1) // no file read in these modes
		return iv, true, err
	}
	iv, err = w.v.DirIVAt(w.fd)
	return iv, true, err
}

// Descend enters the subdirectory disk (plain is its path, for messages).
// A missing one leaves fd at -1.
func (w *Walker) Descend(disk, plain string) error {
	if w.fd < 0 {
		return nil
	}
	child, err := OpenDirAt(w.fd, disk)
	closeFD(w.fd)
	w.fd = child
	switch {
	case errors.Is(err, unix.ENOENT):
		w.fd = -1
		return nil
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%s is not a directory: %w", plain, ErrNotInTree)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s is a symbolic link, not a directory: %w", plain, ErrNotInTree)
	case err != nil:
		return err
	}
	return nil
}

// stat fills in Exists and IsDir for the last step of p.
func (w *Walker) stat(p *VolumePath) error {
	if w.fd < 0 || len(p.Steps) == 0 {
		p.Exists, p.IsDir = w.fd >= 0, w.fd >= 0
		return nil
	}
	var st unix.Stat_t
	err := unix.Fstatat(w.fd, p.Steps[len(p.Steps)-1].Disk, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == unix.ENOENT:
		return nil
	case err != nil:
		return fmt.Errorf("stat %s: %w", p.Cipher(), err)
	}
	p.Exists, p.IsDir = true, st.Mode&unix.S_IFMT == unix.S_IFDIR
	return nil
}

// EncryptPath maps a plaintext path (relative to the volume root, with or
// without a leading "/") to its ciphertext path. The object itself need
// not exist, so the name of a deleted file can be computed; its
// directories must, in a volume with per-directory IVs (MissingDirError
// otherwise). A name with a conflict marker that is no entry of its own
// resolves to the conflict copy EntryName shows under that name, as in a
// mount.
func (v *Volume) EncryptPath(rootfd int, plain string) (*VolumePath, error) {
	comps, err := SplitPath(plain)
	if err != nil {
		return nil, err
	}
	w, err := v.newWalker(rootfd)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	p := &VolumePath{}
	for i, name := range comps {
		iv, ok, err := w.iv()
		if err != nil {
			return nil, fmt.Errorf("directory %s (%s in CIPHERDIR): %w", p.Plain(), p.cipherOrRoot(), err)
		}
		if !ok {
			return nil, &MissingDirError{Dir: p}
		}
		step, err := v.encryptStep(w.fd, name, iv, i == 0)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, step)
		if i < len(comps)-1 {
			if err := w.Descend(step.Disk, p.Plain()); err != nil {
				return nil, err
			}
		}
	}
	if err := w.stat(p); err != nil {
		return nil, err
	}
	return p, nil
}

// encryptStep encrypts one name in directory dirfd (-1 if missing).
func (v *Volume) encryptStep(dirfd int, name string, iv []byte, atRoot bool) (PathStep, error) {
	disk, _, err := v.DiskName(name, iv, atRoot)
	if errors.Is(err, ErrReservedName) {
		return PathStep{}, err // names the name already
	}
	if err != nil {
		return PathStep{}, fmt.Errorf("name %q: %w", name, err)
	}
	step := PathStep{Plain: name, Disk: disk}
	if v.IsLong(disk) {
		step.Sidecar = nametransform.SidecarName(disk)
	}
	if dirfd < 0 || v.PlaintextNames {
		return step, nil
	}
	if obj, err := v.LostDiskName(dirfd, name, iv, atRoot); err == nil {
		return PathStep{Plain: name, Disk: obj, Sidecar: nametransform.SidecarName(obj), Lost: true}, nil
	}
	if _, _, marked := nametransform.ParseConflictDisplay(name); !marked {
		return step, nil
	}
	var st unix.Stat_t
	if unix.Fstatat(dirfd, disk, &st, unix.AT_SYMLINK_NOFOLLOW) != unix.ENOENT {
		return step, nil // an entry really named so
	}
	c, err := v.ConflictDiskName(dirfd, name, iv, atRoot)
	if err != nil {
		return step, nil // neither: the name a new file would get
	}
	return conflictStep(v, name, c), nil
}

// conflictStep describes the conflict copy disk, shown as plain.
func conflictStep(v *Volume, plain, disk string) PathStep {
	step := PathStep{Plain: plain, Disk: disk}
	if orig, c, ok := nametransform.SplitConflict(disk); ok {
		step.Conflict = &c
		if v.IsLong(orig) {
			step.Sidecar = nametransform.SidecarName(orig)
		}
	}
	return step
}

// FileRole tells what a file in CIPHERDIR is to the volume.
type FileRole int

const (
	// RoleEntry: a file, directory or symlink of the plaintext tree.
	RoleEntry FileRole = iota
	// RoleDirIV: a gocryptfs.diriv, the IV of its directory's names.
	RoleDirIV
	// RoleSidecar: a long-name sidecar, holding an object's encrypted name
	// (or a sync client's conflict copy of one).
	RoleSidecar
	// RoleConfig: gocryptfs.conf in the root.
	RoleConfig
	// RoleReserved: any other name the volume reserves for itself
	// (leftovers of an interrupted operation, a rotation journal, a
	// gocryptfs.diriv in a volume that has none).
	RoleReserved
	// RoleSyncClient: a sync client's own file or folder
	// (nametransform.SyncClientFile: .stfolder, .syncthing.*.tmp,
	// desktop.ini, ...), in an encrypted-names volume; not the volume's,
	// left alone.
	RoleSyncClient
)

// String names the role for messages and JSON.
func (r FileRole) String() string {
	switch r {
	case RoleEntry:
		return "entry"
	case RoleDirIV:
		return "diriv"
	case RoleSidecar:
		return "sidecar"
	case RoleConfig:
		return "config"
	case RoleReserved:
		return "reserved"
	case RoleSyncClient:
		return "sync-client"
	}
	return fmt.Sprintf("FileRole(%d)", int(r))
}

// role classifies the name disk of a directory, before any decryption.
func (v *Volume) role(disk string, atRoot bool) FileRole {
	if atRoot && disk == config.Filename {
		return RoleConfig
	}
	if v.PlaintextNames {
		return RoleEntry
	}
	// Before Classify: rclone's gocryptfs.diriv.partial is rclone's.
	if _, ok := nametransform.SyncClientFile(disk); ok {
		return RoleSyncClient
	}
	kind := nametransform.Classify(disk)
	if kind != nametransform.KindReserved {
		if kind == nametransform.KindLongNameSidecar {
			return RoleSidecar
		}
		return RoleEntry
	}
	if disk == nametransform.DirIVFilename && v.DirIV {
		return RoleDirIV
	}
	// A sync client's conflict copy of a long name, of a sidecar or of an
	// IV looks reserved too ("gocryptfs.longname.H (conflicted copy ...)").
	if orig, _, ok := nametransform.SplitConflict(disk); ok {
		switch kind := nametransform.Classify(orig); {
		case kind == nametransform.KindLongName:
			return RoleEntry
		case kind == nametransform.KindLongNameSidecar:
			return RoleSidecar
		case orig == nametransform.DirIVFilename && v.DirIV:
			return RoleDirIV
		}
	}
	return RoleReserved
}

// needsDir reports whether decrypting disk reads a file of its directory:
// the directory's IV, or a long name's sidecar.
func (v *Volume) needsDir(disk string) bool {
	if v.PlaintextNames {
		return false
	}
	if v.DirIV {
		return true
	}
	kind := nametransform.Classify(disk)
	if orig, _, ok := nametransform.SplitConflict(disk); ok {
		kind = nametransform.Classify(orig)
	}
	return kind == nametransform.KindLongName || kind == nametransform.KindLongNameSidecar
}

// DecryptPath maps a ciphertext path (relative to CIPHERDIR) to the
// plaintext path of what it is, with role saying what that is: for an
// entry, the entry itself, shown as EntryName shows it (conflict copies
// with their marker); for a gocryptfs.diriv, the directory it belongs to;
// for a long-name sidecar, the object whose name it holds; for
// gocryptfs.conf and other reserved files, the directory they are in; for
// a sync client's own file, or anything inside a sync client's folder
// (.stversions/...), the directory that holds the client's file or folder.
//
// The last component need not exist (a name seen in a sync service's
// history decrypts if its directory is still there), except a long name,
// whose sidecar holds it (or this machine's memory of it: Recalled). A
// long-name object whose sidecar is missing shows as ShownName shows it.
// The directories on the way must exist in a volume with per-directory IVs
// (MissingDirError otherwise). A name that does not decrypt gives an error
// naming the ciphertext path.
func (v *Volume) DecryptPath(rootfd int, cipherPath string) (p *VolumePath, role FileRole, err error) {
	comps, err := SplitPath(cipherPath)
	if err != nil {
		return nil, 0, err
	}
	w, err := v.newWalker(rootfd)
	if err != nil {
		return nil, 0, err
	}
	defer w.Close()
	p = &VolumePath{}
	for i, disk := range comps {
		last, atRoot := i == len(comps)-1, i == 0
		role := v.role(disk, atRoot)
		if role == RoleSyncClient {
			// Nothing below it is the volume's: its names are the
			// client's business (Syncthing's versions, say).
			p.Exists, p.IsDir = w.fd >= 0, w.fd >= 0
			return p, role, nil
		}
		if role != RoleEntry && !last {
			return nil, 0, fmt.Errorf("%s is one of the volume's own files, not a directory: %w", JoinPath(p.Cipher(), disk), ErrNotInTree)
		}
		if w.fd < 0 && v.needsDir(disk) {
			return nil, 0, &MissingDirError{Dir: p}
		}
		switch role {
		case RoleDirIV, RoleConfig, RoleReserved:
			p.Exists, p.IsDir = w.fd >= 0, w.fd >= 0
			return p, role, nil
		}
		iv, _, err := w.iv()
		if err != nil {
			return nil, 0, fmt.Errorf("directory %s (%s in CIPHERDIR): %w", p.Plain(), p.cipherOrRoot(), err)
		}
		var step PathStep
		if role == RoleSidecar {
			step, err = v.sidecarOwner(w.fd, disk, iv, atRoot)
		} else {
			step, err = v.decryptStep(w.fd, disk, iv, atRoot)
		}
		if err != nil {
			var ne *NameError
			switch {
			case errors.As(err, &ne) && ne.Disk == disk && atRoot:
				return nil, 0, err // it names the entry, and there is no directory to add
			case errors.As(err, &ne) && ne.Disk == disk:
				return nil, 0, fmt.Errorf("in directory %s: %w", p.Cipher(), err)
			}
			return nil, 0, fmt.Errorf("%s: %w", JoinPath(p.Cipher(), disk), err)
		}
		p.Steps = append(p.Steps, step)
		if role == RoleSidecar {
			if err := w.stat(p); err != nil {
				return nil, 0, err
			}
			return p, role, nil
		}
		if !last {
			if err := w.Descend(disk, p.Plain()); err != nil {
				return nil, 0, err
			}
		}
	}
	if err := w.stat(p); err != nil {
		return nil, 0, err
	}
	return p, RoleEntry, nil
}

// decryptStep decrypts the entry name disk of directory dirfd, as a
// listing shows it (ShownName: a long name whose sidecar is missing too).
func (v *Volume) decryptStep(dirfd int, disk string, iv []byte, atRoot bool) (PathStep, error) {
	sh, err := v.ShownName(dirfd, disk, iv, atRoot)
	if err != nil {
		return PathStep{}, err
	}
	var step PathStep
	if sh.Conflict != nil {
		step = conflictStep(v, sh.Name, disk)
	} else {
		step = PathStep{Plain: sh.Name, Disk: disk}
		if v.IsLong(disk) {
			step.Sidecar = nametransform.SidecarName(disk)
		}
	}
	step.Recalled, step.Lost = sh.Recalled, sh.Lost
	return step, nil
}

// sidecarOwner returns the step of the object whose name the sidecar side
// (or a conflict copy of it) holds.
func (v *Volume) sidecarOwner(dirfd int, side string, iv []byte, atRoot bool) (PathStep, error) {
	var conflict *nametransform.Conflict
	name := side
	if nametransform.Classify(side) != nametransform.KindLongNameSidecar {
		orig, c, _ := nametransform.SplitConflict(side)
		name, conflict = orig, &c
	}
	obj := strings.TrimSuffix(name, nametransform.LongNameSuffix)
	// A conflict copy holds what the original did; either is checked
	// against the object's hash.
	cname, err := v.readSidecarFile(dirfd, side, obj)
	if err != nil {
		return PathStep{}, err
	}
	plain, err := v.Names.DecryptName(cname, iv)
	if err != nil {
		return PathStep{}, &NameError{Disk: obj, Err: err}
	}
	return PathStep{Plain: plain, Disk: obj, Sidecar: side, Conflict: conflict}, nil
}

// readSidecarFile reads the sidecar content in file side and checks that
// it is the encrypted name hashed into obj.
func (v *Volume) readSidecarFile(dirfd int, side, obj string) (string, error) {
	fd, err := openRegular(dirfd, side)
	if errors.Is(err, unix.ENOENT) {
		return "", fmt.Errorf("%s: %w", side, ErrNoSidecar)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSidecar, err)
	}
	defer closeFD(fd)
	buf := make([]byte, maxSidecar+1)
	n, err := diskio.ReadFull(fd, buf)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", side, err)
	}
	cname := string(buf[:n])
	if n == 0 || n > maxSidecar || v.Names.HashLongName(cname) != obj {
		return "", fmt.Errorf("%s: %w", side, ErrBadSidecar)
	}
	v.remember(cname)
	return cname, nil
}

// ListEntry is one entry of a ciphertext directory with what it means.
type ListEntry struct {
	// Disk is the entry's name in the directory.
	Disk string
	// Role says what the entry is; only RoleEntry entries are part of the
	// plaintext tree.
	Role FileRole
	// Step is the entry in both forms for RoleEntry, and for RoleSidecar
	// the object whose name the sidecar holds (Step.Disk is the object's
	// name). Step.Undecryptable is set, with NameErr saying why, when
	// the name does not decrypt.
	Step    PathStep
	NameErr error
	// Mode is the ciphertext object's lstat mode (type and permissions);
	// 0 with StatErr set when lstat failed.
	Mode       uint32
	StatErr    error
	CipherSize int64
	// Size is the plaintext size: of the content for a regular file, of
	// the target for a symlink, else the ciphertext size. SizeErr is set
	// when the content's size is impossible (a truncated last block; Size
	// is then gocryptfs's guess) or a symlink target does not decrypt.
	Size    int64
	SizeErr error
}

// ListDir lists every entry of the directory dirfd (whose IV is iv),
// our own files and sync clients' included (Role tells them apart), in no particular
// order. An entry whose name does not decrypt is listed too, with
// NameErr; a sync client's conflict copy shows as EntryName shows it.
func (v *Volume) ListDir(dirfd int, iv []byte, atRoot bool) ([]ListEntry, error) {
	fd, err := OpenReadDirAt(dirfd, ".")
	if err != nil {
		return nil, err
	}
	defer closeFD(fd)
	var out []ListEntry
	err = diskio.ReadDirents(fd, func(disk string, _ uint64, _ uint8) bool {
		out = append(out, v.listEntry(dirfd, disk, iv, atRoot))
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (v *Volume) listEntry(dirfd int, disk string, iv []byte, atRoot bool) ListEntry {
	e := ListEntry{Disk: disk, Role: v.role(disk, atRoot)}
	var err error
	switch e.Role {
	case RoleEntry:
		e.Step, err = v.decryptStep(dirfd, disk, iv, atRoot)
		if errors.Is(err, ErrReservedName) {
			e.Role, err = RoleReserved, nil
		}
	case RoleSidecar:
		e.Step, err = v.sidecarOwner(dirfd, disk, iv, atRoot)
	}
	if err != nil {
		e.Step = PathStep{Plain: "?", Disk: disk, Undecryptable: true}
		if e.Role == RoleEntry && v.IsLong(disk) {
			e.Step.Sidecar = nametransform.SidecarName(disk)
		}
		e.NameErr = err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, disk, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		e.StatErr = fmt.Errorf("stat %s: %w", disk, err)
		return e
	}
	e.Mode, e.CipherSize, e.Size = uint32(st.Mode), st.Size, st.Size
	if e.Role != RoleEntry {
		return e
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Size, e.SizeErr = v.Content.PlainSize(st.Size)
	case unix.S_IFLNK:
		buf := make([]byte, MaxLinkLen+1)
		n, err := unix.Readlinkat(dirfd, disk, buf)
		if err != nil {
			e.SizeErr = fmt.Errorf("readlink %s: %w", disk, err)
			break
		}
		target, err := v.DecryptLink(string(buf[:n]))
		if err != nil {
			e.SizeErr = err
			break
		}
		e.Size = int64(len(target))
	}
	return e
}
