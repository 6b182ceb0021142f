package fsck

// Repairing a duplicated directory IV: the names of one of the directories
// are re-encrypted under a fresh IV. EME names carry no authentication, so
// after a crash nothing could tell a name under the old IV from one under
// the new one if both lived in one directory. So they never do: the
// entries move, one rename each, from the directory D (old IV, its own
// gocryptfs.diriv) into a new hidden sibling T (new IV), and T then takes
// D's place in one RENAME_EXCHANGE. Every entry is at every instant in
// exactly one of the two, under the IV of the directory it is in.
//
//  1. mkdir T = "gocryptfs.fsck.reiv.<hash of D's name>" with a new
//     gocryptfs.diriv, then create the marker T/gocryptfs.fsck.moving;
//     fsync both.
//  2. Move every entry of D into T under its name re-encrypted with T's
//     IV (a long name's new sidecar first, its old one after).
//  3. Remove the marker; give T D's mode, owner, xattrs and times.
//  4. Exchange T and D; remove the old D (now named T, holding only the
//     old IV).
//
// A later --repair finds T in D's parent and finishes: with the marker it
// continues at step 2; without it, T with entries is at step 3, and T
// without entries is either a step 1 that never got its marker or the old
// D after step 4, and is removed in both cases. The hash in T's name finds
// D again. While T exists, the entries moved into it do not show in a
// mount (its name is reserved), and gocryptfs -fsck reports T as corrupt.

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// reivName is the temporary directory's name for the directory disk.
func reivName(disk string) string {
	h := sha256.Sum256([]byte(disk))
	return cipherdir.FsckReIVPrefix + base64.RawURLEncoding.EncodeToString(h[:16])
}

// dupDirIVs reports every directory whose IV another one, found earlier in
// the walk (root first), has too, and with --repair gives it a new one.
// Repairs go deepest first: re-encrypting a directory renames everything
// in it, which would change the paths of the directories still to do
// below it.
func (c *checker) dupDirIVs() {
	type job struct {
		idx int
		r   dirRef
	}
	var jobs []job
	for _, key := range c.ivOrder {
		refs := c.ivs[key]
		if len(refs) < 2 {
			continue
		}
		first := refs[0].loc
		what := first.rel
		if what == "" {
			what = "CIPHERDIR"
		}
		if first.known {
			what += fmt.Sprintf(" (%s)", first.plainPath())
		}
		for _, r := range refs[1:] {
			idx := c.report(DupDirIV, r.loc, fmt.Sprintf("the same gocryptfs.diriv as %s: a name encrypts the same in both, "+
				"so whoever sees CIPHERDIR can tell which names they share (a copy made in CIPHERDIR rather than through a mount "+
				"does this); its names can be re-encrypted under a new IV", what))
			jobs = append(jobs, job{idx, r})
		}
	}
	if !c.opts.Repair {
		return
	}
	slices.SortStableFunc(jobs, func(a, b job) int {
		return strings.Count(b.r.loc.rel, "/") - strings.Count(a.r.loc.rel, "/")
	})
	for _, j := range jobs {
		if c.stop != nil {
			return
		}
		action, err := c.reIV(j.r)
		c.repaired(j.idx, action, err)
	}
}

// reIV gives the directory r a new IV and re-encrypts its names under it.
func (c *checker) reIV(r dirRef) (string, error) {
	parent, base := splitRel(r.loc.rel)
	if base == "" {
		return "", errors.New("the root directory keeps its IV")
	}
	pfd, err := cipherdir.OpenReadDirAt(c.rootfd, parent)
	if err != nil {
		return "", err
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || uint64(st.Dev) != r.dev || st.Ino != r.ino {
		return "", errors.New("the directory moved while fsck ran (into quarantine?): run veilfs fsck --repair again")
	}
	dfd, err := cipherdir.OpenReadDirAt(pfd, base)
	if err != nil {
		return "", err
	}
	defer unix.Close(dfd)
	iv, err := cipherdir.ReadDirIV(dfd)
	if err != nil {
		return "", err
	}
	names, err := diskio.ListNames(dfd)
	if err != nil {
		return "", err
	}
	// Only names that re-encrypt exactly: a name that does not decrypt, a
	// conflict copy or a file of ours would have to be guessed at.
	entries := 0
	var clientFile error // a sync client's file, which re-encrypting would move
	for _, n := range names {
		if client, ok := nametransform.SyncClientFile(n); ok {
			clientFile = fmt.Errorf("not re-encrypted: it holds %s, %s's own file, which --repair does not move; "+
				"run it again when the client is done with it (or after removing it, if it is only a cache such as .DS_Store)", n, client)
			continue
		}
		switch nametransform.Classify(n) {
		case nametransform.KindLongNameSidecar:
			continue
		case nametransform.KindReserved:
			if n == nametransform.DirIVFilename {
				continue
			}
			return "", fmt.Errorf("not re-encrypted: it holds %s, which is not an encrypted name; deal with that first", n)
		}
		_, conflict, err := c.v.EntryName(dfd, n, iv, false)
		switch {
		case err != nil:
			return "", fmt.Errorf("not re-encrypted: the name %s does not decrypt; deal with that first", n)
		case conflict != nil:
			return "", fmt.Errorf("not re-encrypted: it holds a conflict copy (%s); keep one version and delete the other first", n)
		}
		entries++
	}
	if entries == 0 {
		if err := cipherdir.ReplaceDirIV(dfd); err != nil {
			return "", err
		}
		return "gave the directory, which holds no name, a new random gocryptfs.diriv", c.fault("reiv-empty")
	}
	if clientFile != nil {
		return "", clientFile
	}
	tmp := reivName(base)
	if err := c.fault("reiv-start"); err != nil {
		return "", err
	}
	if _, err := c.v.Mkdir(pfd, tmp, 0o700); err != nil {
		return "", err
	}
	tfd, err := cipherdir.OpenReadDirAt(pfd, tmp)
	if err != nil {
		return "", err
	}
	defer unix.Close(tfd)
	if err := c.fault("reiv-mkdir"); err != nil {
		return "", err
	}
	if err := createMarker(tfd); err != nil {
		return "", err
	}
	if err := syncAll(tfd, pfd); err != nil {
		return "", err
	}
	if err := c.fault("reiv-marked"); err != nil {
		return "", err
	}
	if err := c.reivMove(dfd, tfd); err != nil {
		return "", err
	}
	if err := c.reivFinish(pfd, base, tmp, dfd, tfd); err != nil {
		return "", err
	}
	return fmt.Sprintf("re-encrypted the names of its %s under a new random gocryptfs.diriv", plural(entries, "entry")), nil
}

func splitRel(rel string) (parent, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel
	}
	return rel[:i], rel[i+1:]
}

func createMarker(dirfd int) error {
	fd, err := unix.Openat(dirfd, cipherdir.FsckMovingName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o400)
	if err != nil {
		return fmt.Errorf("create %s: %w", cipherdir.FsckMovingName, err)
	}
	if err := unix.Fsync(fd); err != nil {
		unix.Close(fd)
		return fmt.Errorf("fsync %s: %w", cipherdir.FsckMovingName, err)
	}
	return unix.Close(fd)
}

func syncAll(fds ...int) error {
	for _, fd := range fds {
		if err := unix.Fsync(fd); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	return nil
}

// reivMove is step 2: every entry of D (dfd) moves into T (tfd) under its
// name re-encrypted with T's IV. It can be repeated: an entry is in D
// under D's IV until the rename that moves it.
func (c *checker) reivMove(dfd, tfd int) error {
	oldIV, err := cipherdir.ReadDirIV(dfd)
	if err != nil {
		return err
	}
	newIV, err := cipherdir.ReadDirIV(tfd)
	if err != nil {
		return err
	}
	names, err := diskio.ListNames(dfd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == nametransform.DirIVFilename || nametransform.Classify(n) == nametransform.KindLongNameSidecar {
			continue
		}
		plain, err := c.v.PlainName(dfd, n, oldIV, false)
		if err != nil {
			return fmt.Errorf("re-encrypt %s: %w", n, err)
		}
		disk, cname, err := c.v.DiskName(plain, newIV, false)
		if err != nil {
			return fmt.Errorf("re-encrypt %s: %w", n, err)
		}
		// The new long name's sidecar comes first (reused if a crash left
		// it); NOREPLACE: never clobber, a collision would be a bug.
		err = c.v.PrepareName(tfd, disk, cname, func() error {
			return cipherdir.RenameNoReplace(dfd, n, tfd, disk)
		})
		if err != nil {
			return fmt.Errorf("move %s: %w", n, err)
		}
		if err := c.fault("reiv-rename"); err != nil {
			return err
		}
		if c.v.IsLong(n) {
			if err := cipherdir.RemoveSidecar(dfd, n); err != nil {
				return err
			}
		}
	}
	// Sidecars whose entry moved before a crash removed them.
	names, err = diskio.ListNames(dfd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if nametransform.Classify(n) != nametransform.KindLongNameSidecar {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dfd, strings.TrimSuffix(n, nametransform.LongNameSuffix), &st, unix.AT_SYMLINK_NOFOLLOW) == unix.ENOENT {
			if err := unix.Unlinkat(dfd, n, 0); err != nil {
				return fmt.Errorf("remove %s: %w", n, err)
			}
		}
	}
	return syncAll(tfd, dfd)
}

// reivFinish is steps 3 and 4: D (dfd, named base in pfd) holds nothing
// but its IV, T (tfd, named tmp) every entry.
func (c *checker) reivFinish(pfd int, base, tmp string, dfd, tfd int) error {
	names, err := diskio.ListNames(dfd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n != nametransform.DirIVFilename {
			return fmt.Errorf("%s still holds %s; nothing was exchanged", base, n)
		}
	}
	if err := unix.Unlinkat(tfd, cipherdir.FsckMovingName, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove %s: %w", cipherdir.FsckMovingName, err)
	}
	if err := c.fault("reiv-unmarked"); err != nil {
		return err
	}
	if err := copyDirAttrs(dfd, tfd, pfd, tmp); err != nil {
		return err
	}
	if err := cipherdir.RenameExchange(pfd, tmp, pfd, base); err != nil {
		return fmt.Errorf("exchange %s and %s: %w", tmp, base, err)
	}
	if err := unix.Fsync(pfd); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	if err := c.fault("reiv-exchanged"); err != nil {
		return err
	}
	return removeOld(pfd, tmp)
}

// copyDirAttrs gives T (tfd, named tmp in pfd) D's mode, owner, xattrs and
// times. Xattrs are copied as stored: their names and values are encrypted
// without the directory IV (FORMAT §7), so they stay valid.
func copyDirAttrs(dfd, tfd, pfd int, tmp string) error {
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return err
	}
	names, err := diskio.ListXattrs(dfd)
	if err != nil {
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, n := range names {
		v, err := diskio.GetXattr(dfd, n)
		if err != nil {
			return fmt.Errorf("read xattr %s: %w", n, err)
		}
		if err := unix.Fsetxattr(tfd, n, v, 0); err != nil {
			// Only our encrypted ones must make it; a security label the
			// kernel keeps to itself is not ours to copy.
			if strings.HasPrefix(n, nametransform.XattrStorePrefix) || nametransform.IsACLName(n) {
				return fmt.Errorf("copy xattr %s: %w", n, err)
			}
		}
	}
	if err := unix.Fchown(tfd, int(st.Uid), int(st.Gid)); err != nil && !(err == unix.EPERM && unix.Geteuid() != 0) {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(tfd, uint32(st.Mode)&0o7777); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(pfd, tmp, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return unix.Fsync(tfd)
}

// removeOld removes the temporary name tmp once it holds at most an IV
// (and the marker of a step 1 that never moved anything).
func removeOld(pfd int, tmp string) error {
	ofd, err := cipherdir.OpenReadDirAt(pfd, tmp)
	if err != nil {
		return err
	}
	defer unix.Close(ofd)
	names, err := diskio.ListNames(ofd)
	if err != nil {
		return err
	}
	// It may be read-only: it had D's mode.
	_ = unix.Fchmod(ofd, 0o700)
	for _, n := range names {
		if n != nametransform.DirIVFilename && n != cipherdir.FsckMovingName {
			return fmt.Errorf("%s holds %s; left as it is", tmp, n)
		}
		if err := unix.Unlinkat(ofd, n, 0); err != nil {
			return fmt.Errorf("remove %s/%s: %w", tmp, n, err)
		}
	}
	if err := unix.Unlinkat(pfd, tmp, unix.AT_REMOVEDIR); err != nil {
		return fmt.Errorf("remove %s: %w", tmp, err)
	}
	return unix.Fsync(pfd)
}

// resumeReIVs finishes, before the directory d is listed, every
// re-encryption a crash interrupted in it (see the top of this file).
func (c *checker) resumeReIVs(d *dirState) {
	names, err := diskio.ListNames(d.fd)
	if err != nil {
		return // dir reports it
	}
	for _, n := range names {
		if !strings.HasPrefix(n, cipherdir.FsckReIVPrefix) || c.stop != nil {
			continue
		}
		d.skip[n] = true
		idx := c.report(InterruptedRepair, d.loc.child(n, "", false),
			"an fsck --repair stopped while re-encrypting the names of a directory of this one; entries it moved were hidden in this directory")
		action, err := c.resumeReIV(d.fd, n, names)
		c.repaired(idx, action, err)
	}
}

func (c *checker) resumeReIV(pfd int, tmp string, names []string) (string, error) {
	var base string
	for _, n := range names {
		if n != tmp && !strings.HasPrefix(n, cipherdir.FsckReIVPrefix) && reivName(n) == tmp {
			base = n
		}
	}
	tfd, err := cipherdir.OpenReadDirAt(pfd, tmp)
	if err != nil {
		return "", err
	}
	defer unix.Close(tfd)
	var st unix.Stat_t
	marked := unix.Fstatat(tfd, cipherdir.FsckMovingName, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	inT, err := diskio.ListNames(tfd)
	if err != nil {
		return "", err
	}
	moved := 0
	for _, n := range inT {
		if n != nametransform.DirIVFilename && n != cipherdir.FsckMovingName {
			moved++
		}
	}
	if !marked && moved == 0 {
		// Never got going, or the old directory after the exchange.
		return "removed its temporary directory", removeOld(pfd, tmp)
	}
	if base == "" {
		return "", fmt.Errorf("the directory it belongs to is gone; %d entries are in %s: move them out by hand", moved, tmp)
	}
	dfd, err := cipherdir.OpenReadDirAt(pfd, base)
	if err != nil {
		return "", err
	}
	defer unix.Close(dfd)
	if marked {
		if err := c.reivMove(dfd, tfd); err != nil {
			return "", err
		}
	}
	if err := c.reivFinish(pfd, base, tmp, dfd, tfd); err != nil {
		return "", err
	}
	return "finished re-encrypting the names of " + base + " under a new IV", nil
}
