package rotate

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// Names of the rotation's temporary objects (registered in
// fs/cipherdir/reserved.go, whose entry fsck reads). At most one of each
// exists in a directory at a time; the reserved "gocryptfs." prefix keeps a
// mount from ever showing them.
const (
	tmpName  = cipherdir.RotateTmpName  // an object's re-encrypted copy
	linkName = cipherdir.RotateLinkName // a hard link to a copy, before it replaces a name
	sideName = cipherdir.RotateSideName // a long name's new sidecar
)

// rotator walks the tree. Each directory is done in two phases:
//
//  1. In place, under the old names: every file's content and xattrs and
//     every symlink target is rewritten under the new key (a copy replaces
//     the original atomically; the AEAD tells a rewritten object from an
//     original, so this phase can be redone after a crash), every
//     subdirectory is done completely, and the directory's renames are
//     written to the journal as its plan.
//  2. From the plan: every entry is renamed to its new name (an old name
//     that still exists is the one thing left to do), the directory's own
//     xattrs are replaced, its times restored, and the journal says done.
//
// Encrypted names carry no authentication, so they are the one thing that
// cannot be told apart after a crash: the plan decides for them.
type rotator struct {
	dir      string
	old, new *cipherdir.Volume
	j        *journal
	opts     Options
	rootfd   int
	links    map[uint64][]string // inode → every path of a multiply-linked file
	prog     Progress
	buf      buffers
}

func (r *rotator) fault(step string) error { return fault(r.opts, step) }

func (r *rotator) warn(format string, args ...any) {
	if r.opts.Warn != nil {
		r.opts.Warn(fmt.Sprintf(format, args...))
	}
}

func (r *rotator) progress() {
	if r.opts.Progress != nil {
		r.opts.Progress(r.prog)
	}
}

func (r *rotator) run() error {
	fd, err := unix.Open(r.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", r.dir, err)
	}
	defer unix.Close(fd)
	r.rootfd = fd
	// A hard-link group interrupted last time first: its paths are valid
	// only until something else is renamed.
	for _, g := range r.j.groups {
		if err := r.finishGroup(g); err != nil {
			return err
		}
	}
	if err := r.scan(); err != nil {
		return err
	}
	r.progress()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	return r.processDir(fd, "", st.Ino)
}

// ours reports whether name is one of the volume's own files (config, IVs,
// sidecars, the journal, our temporaries) rather than a user entry; and a
// sync client's own file or folder (.stfolder, .syncthing.*.tmp, ...),
// which a rotation must leave alone just the same: it holds nothing of the
// volume, and neither it nor anything in it may be renamed or rewritten.
func (r *rotator) ours(name string, atRoot bool) bool {
	if r.old.PlaintextNames {
		return name == tmpName || name == linkName || name == sideName ||
			atRoot && (name == config.Filename || name == nametransform.DirIVFilename || strings.HasPrefix(name, JournalName))
	}
	if syncClient(name) {
		return true
	}
	k := nametransform.Classify(name)
	return k == nametransform.KindReserved || k == nametransform.KindLongNameSidecar
}

// processDir rotates the directory open at fd, whose path relative to
// CIPHERDIR is rel and inode ino, and everything below it.
func (r *rotator) processDir(fd int, rel string, ino uint64) error {
	if r.j.done[ino] {
		return nil
	}
	atRoot := rel == ""
	if r.j.plans[ino] == nil {
		if err := r.rewriteDir(fd, rel, ino, atRoot); err != nil {
			return err
		}
	}
	if err := r.applyPlan(fd, rel, r.j.plans[ino]); err != nil {
		return err
	}
	if t, ok := r.j.times[ino]; ok {
		ts := []unix.Timespec{{Sec: t[0], Nsec: t[1]}, {Sec: t[2], Nsec: t[3]}}
		if err := unix.UtimesNanoAt(fd, ".", ts, 0); err != nil {
			return fmt.Errorf("restore times of %s: %w", display(rel), err)
		}
	}
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", display(rel), err)
	}
	if err := r.fault("dirdone"); err != nil {
		return err
	}
	if err := r.j.append(record{T: "done", Ino: ino}); err != nil {
		return err
	}
	r.prog.Dirs++
	r.progress()
	return nil
}

func display(rel string) string {
	if rel == "" {
		return "CIPHERDIR"
	}
	return rel
}

// rewriteDir is phase 1 of processDir.
func (r *rotator) rewriteDir(fd int, rel string, ino uint64, atRoot bool) error {
	for _, t := range []string{tmpName, linkName, sideName} {
		if err := unix.Unlinkat(fd, t, 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove leftover %s in %s: %w", t, display(rel), err)
		}
	}
	iv, err := r.old.DirIVAt(fd)
	if err != nil {
		return fmt.Errorf("directory %s: %w; run veilfs fsck, or restore its gocryptfs.diriv, then rotate again", display(rel), err)
	}
	names, err := diskio.ListNames(fd)
	if err != nil {
		return fmt.Errorf("list %s: %w", display(rel), err)
	}
	plan := record{T: "plan", Ino: ino}
	for _, name := range names {
		if r.ours(name, atRoot) {
			continue
		}
		plain, err := r.old.PlainName(fd, name, iv, atRoot)
		if errors.Is(err, cipherdir.ErrReservedName) {
			continue
		}
		if err != nil {
			r.warn("%s: name does not decrypt (%v); left as it is", cipherdir.JoinPath(rel, name), err)
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %s: %w", cipherdir.JoinPath(rel, name), err)
		}
		path := cipherdir.JoinPath(rel, name)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", path, err)
			}
			err = r.processDir(cfd, path, st.Ino)
			unix.Close(cfd)
			if err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := r.rewriteObject(fd, rel, name, &st); err != nil {
				return err
			}
		default:
			if st.Mode&unix.S_IFMT == unix.S_IFLNK {
				if err := r.rewriteObject(fd, rel, name, &st); err != nil {
					return err
				}
			}
			// The xattrs of a FIFO, socket or device node, which is
			// kept, and of a symlink that needed no copy (plaintext
			// names), are rekeyed in place; a copy has them already.
			if err := r.rekeyTrustedXattrs(fd, name, name); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		disk, cname, err := r.new.DiskName(plain, iv, atRoot)
		if err != nil {
			return fmt.Errorf("%s: new name: %w", path, err)
		}
		e := planEntry{Old: name, New: disk}
		if disk != cname {
			e.Long = cname
		}
		plan.Entries = append(plan.Entries, e)
	}
	if plan.Xattrs, err = r.dirXattrPlan(fd, rel); err != nil {
		return err
	}
	if err := r.fault("plan"); err != nil {
		return err
	}
	return r.j.append(plan)
}

// applyPlan is phase 2 of processDir; every step can be repeated.
func (r *rotator) applyPlan(fd int, rel string, plan *record) error {
	for _, e := range plan.Entries {
		if e.Old == e.New {
			continue
		}
		var st unix.Stat_t
		err := unix.Fstatat(fd, e.Old, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil {
			if e.Long != "" {
				if err := cipherdir.ReplaceSidecar(fd, sideName, e.New, e.Long); err != nil {
					return fmt.Errorf("%s: %w", cipherdir.JoinPath(rel, e.New), err)
				}
			}
			// NOREPLACE: a new name can only collide with an existing
			// entry by a 2^-128 accident or a planted entry; never clobber.
			if err := cipherdir.RenameNoReplace(fd, e.Old, fd, e.New); err != nil {
				return fmt.Errorf("rename %s to %s: %w", cipherdir.JoinPath(rel, e.Old), e.New, err)
			}
			if err := r.fault("rename"); err != nil {
				return err
			}
		} else if err != unix.ENOENT {
			return fmt.Errorf("stat %s: %w", cipherdir.JoinPath(rel, e.Old), err)
		}
		if r.old.IsLong(e.Old) {
			if err := cipherdir.RemoveSidecar(fd, e.Old); err != nil {
				return err
			}
		}
	}
	for _, x := range plan.Xattrs {
		if _, err := unix.Fgetxattr(fd, x.Old, nil); err == cipherdir.ENOATTR {
			continue
		} else if err != nil {
			return fmt.Errorf("xattr of %s: %w", display(rel), err)
		}
		if err := unix.Fsetxattr(fd, x.New, x.Value, 0); err != nil {
			return fmt.Errorf("set xattr of %s: %w", display(rel), err)
		}
		if err := unix.Fremovexattr(fd, x.Old); err != nil && err != cipherdir.ENOATTR {
			return fmt.Errorf("remove old xattr of %s: %w", display(rel), err)
		}
	}
	return nil
}

// dirXattrPlan lists the directory's encrypted xattrs with their names and
// values under the new key. Directories are not copied, so their xattrs
// change in place in phase 2, driven by this list.
func (r *rotator) dirXattrPlan(fd int, rel string) ([]planXattr, error) {
	names, err := diskio.ListXattrs(fd)
	if err != nil {
		return nil, fmt.Errorf("list xattrs of %s: %w", display(rel), err)
	}
	var out []planXattr
	for _, name := range names {
		if !strings.HasPrefix(name, nametransform.XattrStorePrefix) {
			continue
		}
		plainName, plainValue, err := r.decryptXattr(fd, name)
		if err != nil {
			r.warn("%s: xattr %s: %v; left as it is", display(rel), name, err)
			continue
		}
		newName, err := r.new.Names.EncryptXattrName(plainName)
		if err != nil {
			return nil, err
		}
		out = append(out, planXattr{Old: name, New: newName, Value: r.new.EncryptXattrValue(plainValue)})
	}
	return out, nil
}

func (r *rotator) decryptXattr(fd int, name string) (string, []byte, error) {
	value, err := diskio.GetXattr(fd, name)
	if err != nil {
		return "", nil, err
	}
	plainName, err := r.old.Names.DecryptXattrName(name)
	if err != nil {
		return "", nil, err
	}
	plainValue, err := r.old.DecryptXattrValue(value)
	if err != nil {
		return "", nil, err
	}
	return plainName, plainValue, nil
}

// scan counts what is left to do and finds every path of each multiply
// linked file, skipping directories already done.
func (r *rotator) scan() error {
	r.links = map[uint64][]string{}
	skip := func(name string, atRoot bool, st *unix.Stat_t) bool {
		return r.ours(name, atRoot) || st.Mode&unix.S_IFMT == unix.S_IFDIR && r.j.done[st.Ino]
	}
	return walkTree(r.rootfd, "", skip, func(rel string, st *unix.Stat_t) {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			r.prog.TotalDirs++
			return
		case unix.S_IFREG:
			r.prog.TotalFiles++
			r.prog.TotalBytes += st.Size
		}
		if st.Nlink > 1 {
			r.links[st.Ino] = append(r.links[st.Ino], rel)
		}
	})
}

// walkTree calls fn for every entry below the directory fd (not for fd
// itself) that skip does not reject, and descends into the directories
// among them. It never follows a symlink.
func walkTree(fd int, rel string, skip func(name string, atRoot bool, st *unix.Stat_t) bool, fn func(rel string, st *unix.Stat_t)) error {
	names, err := diskio.ListNames(fd)
	if err != nil {
		return fmt.Errorf("list %s: %w", display(rel), err)
	}
	for _, name := range names {
		path := cipherdir.JoinPath(rel, name)
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT && syncClient(name) {
				continue // a client's temporary, renamed meanwhile: not ours anyway
			}
			return fmt.Errorf("stat %s: %w", path, err)
		}
		if skip != nil && skip(name, rel == "", &st) {
			continue
		}
		fn(path, &st)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		err = walkTree(cfd, path, skip, fn)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}

// syncClient reports whether name, in an encrypted-names volume, is a sync
// client's own file or folder.
func syncClient(name string) bool {
	_, ok := nametransform.SyncClientFile(name)
	return ok
}

// dirTimes records every directory's atime and mtime before a rotation
// starts, to put them back after it renamed the entries inside. A sync
// client's folders are not the volume's (plainNames false): the rotation
// never enters them, and one it cannot read must not stop it.
func dirTimes(dir string, plainNames bool) (map[uint64][4]int64, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	times := map[uint64][4]int64{}
	put := func(_ string, st *unix.Stat_t) {
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			times[st.Ino] = [4]int64{st.Atim.Sec, st.Atim.Nsec, st.Mtim.Sec, st.Mtim.Nsec}
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	put("", &st)
	skip := func(name string, _ bool, _ *unix.Stat_t) bool { return !plainNames && syncClient(name) }
	return times, walkTree(fd, "", skip, put)
}
