package fs

import (
	"context"
	"fmt"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// File is an open regular file: the ciphertext descriptor and the node
// whose content lock and file-ID cache it shares with every other handle
// and hard link of the same file.
type File struct {
	n  *Node
	fd int
	// unchanged: at open, the backing file was as last released.
	unchanged bool
	// opened is the backing file's version at open. Whatever this
	// handle read into the page cache came from it, so Release may vouch
	// for the cache (n.stamp) only if the file is still that version: a
	// change made underneath while the handle was open (another machine's
	// write arriving) must not be mistaken for the cached content.
	opened cacheStamp
	// wrote: this handle changed the content (guarded by n.contentMu).
	wrote bool
	// csize is the ciphertext size as of the last state() or write
	// (guarded by n.contentMu; see pwrite).
	csize int64
	// rec is the undo-journal record of this handle (journal.go).
	rec *record
}

func (n *Node) newFile(fd int) *File {
	n.r.stats.openFiles.Add(1)
	return &File{n: n, fd: fd}
}

// fail maps err to an errno, reporting corruption with the file's
// ciphertext path.
func (f *File) fail(err error) syscall.Errno { return f.n.fail(err) }

var _ = (fusefs.FileReader)((*File)(nil))

// Read decrypts the blocks under [off, off+len(dest)).
func (f *File) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f.n.r.touch()
	f.n.contentMu.RLock()
	defer f.n.contentMu.RUnlock()
	n, err := f.readAt(dest, off)
	if err != nil {
		return nil, f.fail(err)
	}
	f.n.r.stats.bytesRead.Add(uint64(n))
	return fuse.ReadResultData(dest[:n]), 0
}

var _ = (fusefs.FileWriter)((*File)(nil))

// Write encrypts data into the blocks under [off, off+len(data)).
func (f *File) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	f.n.r.touch()
	f.n.contentMu.Lock()
	defer f.n.contentMu.Unlock()
	st, err := f.state()
	if err == nil {
		err = f.writeAt(data, off, st.size)
	}
	if err == nil {
		err = f.dropPrivileges(ctx, st)
	}
	if err != nil {
		return 0, f.fail(err)
	}
	f.n.r.stats.bytesWritten.Add(uint64(len(data)))
	return uint32(len(data)), 0
}

// dropPrivileges clears the setuid and setgid bits after a write by a
// caller without CAP_FSETID, as the kernel does on a local filesystem
// (setattr_should_drop_suidgid): setuid always; setgid when the group may
// execute or the caller is not in the file's group. The mount negotiates
// FUSE_HANDLE_KILLPRIV_V2, which hands this job to us, and in return the
// kernel stops asking for security.capability before every write.
//
// FUSE tells us only the caller's primary group, so membership through a
// supplementary group is missed: we then clear setgid, the safe direction.
func (f *File) dropPrivileges(ctx context.Context, st fileState) error {
	caller, ok := fuse.FromContext(ctx)
	if !ok || caller.Uid == 0 { // root: approximates CAP_FSETID
		return nil
	}
	kill := st.mode & unix.S_ISUID
	if st.mode&unix.S_IXGRP != 0 || caller.Gid != st.gid {
		kill |= st.mode & unix.S_ISGID
	}
	if kill == 0 {
		return nil
	}
	if err := unix.Fchmod(f.fd, st.mode&07777&^kill); err != nil {
		return fmt.Errorf("clear setuid/setgid: %w", err)
	}
	return nil
}

var _ = (fusefs.FileGetattrer)((*File)(nil))

// Getattr stats the open descriptor.
func (f *File) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return toErrno(err)
	}
	return toErrno(f.n.r.fillAttr(&st, &out.Attr, -1, ""))
}

// setattr applies a Setattr through the descriptor.
func (f *File) setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if err := f.truncate(int64(size)); err != nil {
			return f.fail(err)
		}
	}
	if in.Valid&fuse.FATTR_KILL_SUIDGID != 0 {
		// A truncate or chown by an unprivileged caller (killpriv v2).
		st, err := f.state()
		if err == nil {
			err = f.dropPrivileges(ctx, st)
		}
		if err != nil {
			return toErrno(err)
		}
	}
	if err := setattrFD(f.fd, unix.S_IFREG, in); err != nil {
		return toErrno(err)
	}
	return f.Getattr(ctx, out)
}

// truncateOnOpen empties the file for O_TRUNC, clearing setuid/setgid
// for an unprivileged caller as the kernel would (killpriv v2).
func (f *File) truncateOnOpen(ctx context.Context) error {
	f.n.contentMu.Lock()
	defer f.n.contentMu.Unlock()
	st, err := f.state()
	if err == nil {
		err = f.truncateLocked(0)
	}
	if err == nil {
		err = f.dropPrivileges(ctx, st)
	}
	return err
}

// truncate changes the plaintext size under the content lock.
func (f *File) truncate(size int64) error {
	f.n.contentMu.Lock()
	defer f.n.contentMu.Unlock()
	return f.truncateLocked(size)
}

// Fsync flushes the ciphertext file (called by Node.Fsync).
func (f *File) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if flags&fsyncDataOnly != 0 {
		return toErrno(cipherdir.Fdatasync(f.fd))
	}
	return toErrno(unix.Fsync(f.fd))
}

// No Flush: every open returns FOPEN_NOFLUSH (openFlags), and a FLUSH that
// still comes (an older kernel) has nothing to do, which go-fuse answers
// by itself when the handle has no Flush method.

var _ = (fusefs.FileReleaser)((*File)(nil))

// Release records the backing file's stamp for the next open (see
// openFile) and closes the ciphertext descriptor. A handle that wrote
// leaves no stamp: writes through FUSE leave the kernel's cache of the
// file fragmented (partially written pages are not up to date), and the
// next reader is better served by a fresh cache filled by readahead.
func (f *File) Release(ctx context.Context) syscall.Errno {
	f.n.releaseTmpfile(f)
	var st unix.Stat_t
	stamp := cacheStamp{}
	f.n.contentMu.Lock()
	if !f.wrote && unix.Fstat(f.fd, &st) == nil && stampOf(&st) == f.opened {
		stamp = f.opened
	}
	f.journalClose()
	f.n.contentMu.Unlock()
	f.n.idMu.Lock()
	f.n.stamp = stamp
	f.n.idMu.Unlock()
	f.n.r.stats.openFiles.Add(-1)
	return toErrno(unix.Close(f.fd))
}

var _ = (fusefs.FileAllocater)((*File)(nil))

// Allocate implements fallocate modes 0 (grow with zeros), KEEP_SIZE (a
// no-op beyond preallocation), PUNCH_HOLE|KEEP_SIZE (the kernel refuses
// PUNCH_HOLE alone), and ZERO_RANGE with or without KEEP_SIZE (holes.go):
// veilfs makes no preallocation promise, so zeroing and punching are one.
func (f *File) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	var err error
	switch mode {
	case 0:
		f.n.contentMu.Lock()
		defer f.n.contentMu.Unlock()
		var st fileState
		if st, err = f.state(); err == nil && int64(off+size) > st.size {
			err = f.truncateLocked(int64(off + size))
		}
	case fallocKeepSize:
		return 0
	case fallocPunchHole | fallocKeepSize, fallocZeroRange | fallocKeepSize, fallocZeroRange:
		f.n.contentMu.Lock()
		defer f.n.contentMu.Unlock()
		err = f.zeroRange(int64(off), int64(size), mode&fallocKeepSize != 0)
	default:
		return syscall.EOPNOTSUPP
	}
	return f.fail(err)
}

var _ = (fusefs.FileLseeker)((*File)(nil))

// Lseek answers SEEK_DATA and SEEK_HOLE from where the backing file's
// holes are (seek.go); the kernel handles the other whence values.
func (f *File) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	if whence != seekData && whence != seekHole {
		return 0, syscall.EINVAL
	}
	f.n.contentMu.RLock()
	defer f.n.contentMu.RUnlock()
	pos, err := f.seek(int64(off), whence)
	if err != nil {
		return 0, f.fail(err)
	}
	return uint64(pos), 0
}

// fsyncDataOnly is FUSE_FSYNC_FDATASYNC in fuse_fsync_in.fsync_flags.
const fsyncDataOnly = 1
