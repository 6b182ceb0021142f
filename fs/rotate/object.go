package rotate

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrCorrupt is returned for an object that decrypts under neither key: it
// cannot be rewritten without losing it, so the rotation stops there.
var ErrCorrupt = errors.New("corrupt ciphertext")

// chunkBlocks is how many content blocks are re-encrypted per read: 1 MiB
// of plaintext, enough for SealBlocks/OpenBlocks to use every core.
const chunkBlocks = 256

type buffers struct{ cipher, plain, out []byte }

func randRead(b []byte) (int, error) { return rand.Read(b) }

// rewriteObject gives a regular file or symlink its new-key form, unless it
// already has it (a resumed run).
func (r *rotator) rewriteObject(dirfd int, rel, name string, st *unix.Stat_t) error {
	path := cipherdir.JoinPath(rel, name)
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		r.prog.Files++
		r.prog.Bytes += st.Size
		defer r.progress()
	}
	todo, err := r.needsRewrite(dirfd, name, st)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !todo {
		return nil
	}
	if err := r.makeCopy(dirfd, name, st); err != nil {
		unix.Unlinkat(dirfd, tmpName, 0)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := r.fault("copied"); err != nil {
		return err
	}
	if st.Nlink > 1 {
		return r.startGroup(dirfd, rel, st)
	}
	if err := unix.Renameat(dirfd, tmpName, dirfd, name); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return r.fault("replaced")
}

// needsRewrite tells an original object from one already rewritten by the
// AEAD: the first content block (or the symlink target) authenticates
// under exactly one of the two keys. An object with no key-dependent data
// (an empty file, only holes) is rewritten if any of its xattrs is old.
func (r *rotator) needsRewrite(dirfd int, name string, st *unix.Stat_t) (bool, error) {
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		target, err := readlink(dirfd, name)
		if err != nil {
			return false, err
		}
		if _, err := r.new.DecryptLink(target); err == nil {
			// Already rewritten. readlink may have set its atime (no
			// O_NOATIME for symlinks): put back the one it had.
			ts := []unix.Timespec{st.Atim, st.Mtim}
			if err := unix.UtimesNanoAt(dirfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return false, fmt.Errorf("restore times: %w", err)
			}
			return false, nil
		}
		if _, err := r.old.DecryptLink(target); err != nil {
			return false, fmt.Errorf("symlink target: %w: %w", ErrCorrupt, err)
		}
		return true, nil
	}
	fd, err := diskio.OpenRead(dirfd, name)
	if err != nil {
		return false, fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	if st.Size > 0 {
		id, err := readHeader(fd)
		if err != nil {
			return false, err
		}
		if b, n, ok, err := firstDataBlock(fd, st.Size, r.new.Content); err != nil {
			return false, err
		} else if ok {
			if _, err := r.new.Content.OpenBlock(nil, b, n, id); err == nil {
				return false, nil
			}
		}
		b, n, ok, err := firstDataBlock(fd, st.Size, r.old.Content)
		if err != nil {
			return false, err
		}
		if ok {
			if _, err := r.old.Content.OpenBlock(nil, b, n, id); err != nil {
				return false, fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			return true, nil
		}
	}
	return r.hasOldXattr(fd)
}

// hasOldXattr reports whether any encrypted xattr of fd is under the old
// key: a non-empty value authenticates; an empty one is judged by its name,
// which decrypts to a valid namespaced name under one key only (a wrong
// key gives random bytes: a false match is below 2^-40).
func (r *rotator) hasOldXattr(fd int) (bool, error) {
	names, err := diskio.ListXattrs(fd)
	if err != nil {
		return false, err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, nametransform.XattrStorePrefix) {
			continue
		}
		value, err := diskio.GetXattr(fd, name)
		if err != nil {
			return false, err
		}
		if len(value) > 0 {
			if _, err := r.new.DecryptXattrValue(value); err == nil {
				return false, nil
			}
			if _, err := r.old.DecryptXattrValue(value); err == nil {
				return true, nil
			}
			continue
		}
		if plausibleXattr(r.new, name) {
			return false, nil
		}
		if plausibleXattr(r.old, name) {
			return true, nil
		}
	}
	return false, nil
}

// underNewKey reports whether the encrypted xattr stored = value is under
// the new key already, judged as hasOldXattr judges.
func (r *rotator) underNewKey(stored string, value []byte) bool {
	if len(value) > 0 {
		_, err := r.new.DecryptXattrValue(value)
		return err == nil
	}
	return plausibleXattr(r.new, stored)
}

func plausibleXattr(v *cipherdir.Volume, stored string) bool {
	n, err := v.Names.DecryptXattrName(stored)
	if err != nil {
		return false
	}
	for _, ns := range []string{"user.", "trusted.", "security.", "system."} {
		if strings.HasPrefix(n, ns) {
			return true
		}
	}
	return false
}

func readHeader(fd int) ([]byte, error) {
	var h [cipher.HeaderSize]byte
	if n, err := unix.Pread(fd, h[:], 0); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	} else if n < len(h) {
		return nil, fmt.Errorf("header: %w: file is %d bytes", ErrCorrupt, n)
	}
	id, err := cipher.ParseHeader(h[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return id, nil
}

// firstDataBlock returns the first block of the file, in c's layout, that
// is not a hole, and its number; ok is false when there is none.
func firstDataBlock(fd int, size int64, c *cipher.Content) (block []byte, n uint64, ok bool, err error) {
	cbs := int64(c.CipherBlockSize())
	buf := make([]byte, cbs)
	for off := int64(cipher.HeaderSize); off < size; off += cbs {
		m, err := unix.Pread(fd, buf, off)
		if err != nil {
			return nil, 0, false, fmt.Errorf("read: %w", err)
		}
		b := buf[:m]
		if diskio.HoleBlock(b, 0, cbs) {
			continue
		}
		return b, uint64((off - cipher.HeaderSize) / cbs), true, nil
	}
	return nil, 0, false, nil
}

// makeCopy writes the new-key form of the object name as tmpName in the
// same directory: content, xattrs, owner, mode and times. It is durable
// when makeCopy returns.
func (r *rotator) makeCopy(dirfd int, name string, st *unix.Stat_t) error {
	if err := unix.Unlinkat(dirfd, tmpName, 0); err != nil && err != unix.ENOENT {
		return err
	}
	times := []unix.Timespec{st.Atim, st.Mtim}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		target, err := readlink(dirfd, name)
		if err != nil {
			return err
		}
		plain, err := r.old.DecryptLink(target)
		if err != nil {
			return err
		}
		stored, err := r.new.EncryptLink(plain)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(stored, dirfd, tmpName); err != nil {
			return fmt.Errorf("create symlink copy: %w", err)
		}
		if err := r.rekeyTrustedXattrs(dirfd, name, tmpName); err != nil {
			return err
		}
		if err := chown(unix.Fchownat(dirfd, tmpName, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)); err != nil {
			return err
		}
		return unix.UtimesNanoAt(dirfd, tmpName, times, unix.AT_SYMLINK_NOFOLLOW)
	}
	src, err := diskio.OpenRead(dirfd, name)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer unix.Close(src)
	dst, err := unix.Openat(dirfd, tmpName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create copy: %w", err)
	}
	defer unix.Close(dst)
	if err := r.copyContent(src, dst, st.Size); err != nil {
		return err
	}
	if err := r.copyXattrs(src, dst); err != nil {
		return err
	}
	if err := chown(unix.Fchown(dst, int(st.Uid), int(st.Gid))); err != nil {
		return err
	}
	// After chown, which clears setuid/setgid.
	if err := unix.Fchmod(dst, uint32(st.Mode)&0o7777); err != nil {
		return fmt.Errorf("chmod copy: %w", err)
	}
	if err := unix.Fsync(dst); err != nil {
		return fmt.Errorf("fsync copy: %w", err)
	}
	return unix.UtimesNanoAt(dirfd, tmpName, times, unix.AT_SYMLINK_NOFOLLOW)
}

// chown errors matter only for root: an ordinary user's files are all
// their own, and chown to oneself never fails.
func chown(err error) error {
	if err != nil && !(err == unix.EPERM && unix.Geteuid() != 0) {
		return fmt.Errorf("chown copy: %w", err)
	}
	return nil
}

// copyContent re-encrypts size bytes of ciphertext from src into dst under
// a new file ID. Holes stay holes: an all-zero block is skipped and the
// size set at the end.
func (r *rotator) copyContent(src, dst int, size int64) error {
	if size == 0 {
		return nil
	}
	oldC, newC := r.old.Content, r.new.Content
	plainSize, err := oldC.PlainSize(size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	id, err := readHeader(src)
	if err != nil {
		return err
	}
	newID := cipher.NewFileID()
	if err := diskio.PwriteFull(dst, cipher.MarshalHeader(newID), 0); err != nil {
		return fmt.Errorf("write copy: %w", err)
	}
	ocbs := int64(oldC.CipherBlockSize())
	blocks := uint64((plainSize + cipher.PlainBlockSize - 1) / cipher.PlainBlockSize)
	b := &r.buf
	defer func() { cipher.Wipe(b.plain[:cap(b.plain)]) }()
	for first := uint64(0); first < blocks; first += chunkBlocks {
		n := min(chunkBlocks, blocks-first)
		off := oldC.BlockCipherOffset(first)
		clen := min(int64(n)*ocbs, size-off)
		b.cipher = grow(b.cipher, int(clen))
		if m, err := unix.Pread(src, b.cipher, off); err != nil {
			return fmt.Errorf("read block %d: %w", first, err)
		} else if int64(m) != clen {
			return fmt.Errorf("read block %d: short read (file changed?)", first)
		}
		// Runs of data blocks between holes go through OpenBlocks and
		// SealBlocks whole.
		for i := int64(0); i < int64(n); {
			start := i
			if diskio.HoleBlock(b.cipher, i, ocbs) {
				i++
				continue
			}
			for i < int64(n) && !diskio.HoleBlock(b.cipher, i, ocbs) {
				i++
			}
			run := b.cipher[start*ocbs : min(i*ocbs, clen)]
			bn := first + uint64(start)
			b.plain, err = oldC.OpenBlocks(b.plain[:0], run, bn, id)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			b.out = newC.SealBlocks(b.out[:0], b.plain, bn, newID)
			if err := diskio.PwriteFull(dst, b.out, newC.BlockCipherOffset(bn)); err != nil {
				return fmt.Errorf("write copy: %w", err)
			}
		}
	}
	if err := unix.Ftruncate(dst, newC.CipherSize(plainSize)); err != nil {
		return fmt.Errorf("set size of copy: %w", err)
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// copyXattrs copies every xattr of src to dst, re-encrypting veilfs's own
// (name and value). Others (ACLs, security labels) are copied as they are;
// one the kernel refuses to set is reported, not fatal.
func (r *rotator) copyXattrs(src, dst int) error {
	names, err := diskio.ListXattrs(src)
	if err != nil {
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, name := range names {
		value, err := diskio.GetXattr(src, name)
		if err != nil {
			return fmt.Errorf("read xattr: %w", err)
		}
		if strings.HasPrefix(name, nametransform.XattrStorePrefix) {
			plainName, err := r.old.Names.DecryptXattrName(name)
			if err != nil {
				r.warn("xattr %s does not decrypt (%v); dropped from the copy", name, err)
				continue
			}
			plainValue, err := r.old.DecryptXattrValue(value)
			if err != nil {
				return fmt.Errorf("xattr value: %w: %w", ErrCorrupt, err)
			}
			if name, err = r.new.Names.EncryptXattrName(plainName); err != nil {
				return err
			}
			value = r.new.EncryptXattrValue(plainValue)
		}
		if err := unix.Fsetxattr(dst, name, value, 0); err != nil {
			if strings.HasPrefix(name, nametransform.XattrStorePrefix) {
				return fmt.Errorf("set xattr: %w", err)
			}
			r.warn("xattr %s not copied: %v", name, err)
		}
	}
	return nil
}

func readlink(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", fmt.Errorf("readlink: %w", err)
	}
	return string(buf[:n]), nil
}

// startGroup replaces every name of a multiply-linked object with a link
// to its copy, tmpName in dirfd. The journal holds the list first, so a
// crash between two names is finished by the next run.
func (r *rotator) startGroup(dirfd int, rel string, st *unix.Stat_t) error {
	names := r.links[st.Ino]
	if int(st.Nlink) > len(names) {
		r.warn("%s has %d hard links, %d of them inside CIPHERDIR: the others keep the old content", names[0], st.Nlink, len(names))
	}
	if err := unix.Fsync(dirfd); err != nil {
		return fmt.Errorf("fsync %s: %w", display(rel), err)
	}
	g := record{T: "group", Tmp: cipherdir.JoinPath(rel, tmpName), Names: names}
	if err := r.j.append(g); err != nil {
		return err
	}
	return r.finishGroup(r.j.groups[g.Tmp])
}

func (r *rotator) finishGroup(g *record) error {
	tdir, tbase := splitPath(g.Tmp)
	tfd, err := r.openDir(tdir)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	var tst unix.Stat_t
	if err := unix.Fstatat(tfd, tbase, &tst, unix.AT_SYMLINK_NOFOLLOW); err == unix.ENOENT {
		// Removed at the end of the group: every name was done.
		return r.j.append(record{T: "gdone", Tmp: g.Tmp})
	} else if err != nil {
		return fmt.Errorf("stat %s: %w", g.Tmp, err)
	}
	for _, p := range g.Names {
		dir, base := splitPath(p)
		dfd, err := r.openDir(dir)
		if err != nil {
			return err
		}
		err = relink(tfd, tbase, dfd, base, tst.Ino)
		if err == nil {
			err = unix.Fsync(dfd)
		}
		unix.Close(dfd)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := r.fault("grouplink"); err != nil {
			return err
		}
	}
	if err := unix.Unlinkat(tfd, tbase, 0); err != nil {
		return fmt.Errorf("remove %s: %w", g.Tmp, err)
	}
	if err := unix.Fsync(tfd); err != nil {
		return err
	}
	return r.j.append(record{T: "gdone", Tmp: g.Tmp})
}

// relink makes name in dfd a hard link to the object tbase in tfd (inode
// ino), replacing what name was atomically; already linked is done.
func relink(tfd int, tbase string, dfd int, name string, ino uint64) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Ino == ino {
		return nil
	}
	if err := unix.Unlinkat(dfd, linkName, 0); err != nil && err != unix.ENOENT {
		return err
	}
	if err := unix.Linkat(tfd, tbase, dfd, linkName, 0); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	if err := unix.Renameat(dfd, linkName, dfd, name); err != nil {
		return fmt.Errorf("replace: %w", err)
	}
	return nil
}

// openDir opens a directory of CIPHERDIR by relative path, never leaving it
// and never following a symlink (the journal's paths could be planted).
func (r *rotator) openDir(rel string) (int, error) {
	if rel == "" {
		rel = "."
	}
	return cipherdir.OpenReadDirAt(r.rootfd, rel)
}

func splitPath(p string) (dir, base string) {
	dir, base = path.Split(p)
	return strings.TrimSuffix(dir, "/"), base
}
