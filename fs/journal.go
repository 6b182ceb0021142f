package fs

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
)

// The undo journal makes every write either happen or not, per block, when
// the daemon is killed (SIGKILL, the OOM killer) in the middle of it.
//
// Without it a kill can tear a ciphertext block: the kernel checks for a
// fatal signal between page-cache folios inside one pwrite, and a 4128-byte
// block always straddles a page boundary, so part of a block can be new and
// part old. Such a block no longer authenticates and its acknowledged old
// bytes are lost. No write order prevents that.
//
// A killed process's page cache survives it, so the journal needs no fsync
// and no place in CIPHERDIR (which keeps the volume exactly gocryptfs's
// format): it lives in a runtime directory (tmpfs), one subdirectory per
// mount, with a pool of record files that open handles take in turn.
// Before a ciphertext write the handle's record gets the bytes the write
// will overwrite and the file's old size; after the write it is wiped.
// Record files are mapped into the daemon (MAP_SHARED), so a record is
// written and wiped by plain stores into the page cache, which a killed
// process leaves behind as surely as a write(2): a write that appends
// costs no system call for its journal, one that overwrites one (the pread
// of the old bytes). The next mount of the same
// CIPHERDIR finds the subdirectory of a daemon that no longer runs and puts
// every recorded write back to its old state.
//
// Two things can mislead that next mount, and each record and directory
// says enough to rule them out:
//   - A PID is reused, so "the daemon of this directory still runs" cannot
//     be a check of its PID: the live daemon holds an flock on the
//     directory's lock file, which the kernel releases when it dies, and a
//     directory whose lock can be taken is a dead daemon's.
//   - An inode number is reused once its file is deleted, so finding "the
//     file" by inode could write old bytes into another file (or into a
//     gocryptfs.diriv). A record also holds the device and the file ID of
//     the file's header, which is random per file (FORMAT §4.6): recovery
//     writes only into a file whose header carries it.
//
// Power loss is a different matter: there the backing filesystem's own
// rules and fsync apply (SECURITY.md, durability).

// journalMagic starts every record; the version is in the last byte.
// Version 1 records had no device and file ID: they are not replayed.
var journalMagic = [4]byte{'V', 'J', 'R', '2'}

// journalHeader: magic, crc32 (of everything after it), ino, dev, file ID,
// old size, offset, old-bytes length, path length; then the path and the
// old bytes.
const journalHeader = 4 + 4 + 8 + 8 + cipher.FileIDSize + 8 + 8 + 4 + 2

// Offsets of the record fields after the magic and checksum.
const (
	recIno     = 8
	recDev     = recIno + 8
	recFileID  = recDev + 8
	recOldSize = recFileID + cipher.FileIDSize
	recOff     = recOldSize + 8
	recOldLen  = recOff + 8
	recPathLen = recOldLen + 4
)

// journalLock is the file in a journal directory that its live daemon
// holds an flock on.
const journalLock = "lock"

// journal is the journal directory of one mount, with a pool of record
// files: a record names the file it is about, so any free slot will do, and
// a handle takes one for its lifetime instead of creating a file of its own.
type journal struct {
	dir  string // "" disables journaling
	lock int    // descriptor holding the flock on dir's lock file, or -1

	mu    sync.Mutex
	free  []*slot // idle, empty record files
	count int     // record files created so far
}

// slot is one record file and its shared mapping.
type slot struct {
	fd  int
	mem []byte // the whole file, MAP_SHARED
}

// slotMin is the size a record file starts at: a record of a write that
// overwrites one block, with a path of up to a few KiB. Larger writes grow
// the slot they use (grow).
const slotMin = 16 << 10

// take returns an empty record file.
func (j *journal) take() (*slot, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.free); n > 0 {
		s := j.free[n-1]
		j.free = j.free[:n-1]
		return s, nil
	}
	fd, err := unix.Open(filepath.Join(j.dir, "slot-"+strconv.Itoa(j.count)),
		unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal record: %w", err)
	}
	s := &slot{fd: fd}
	if err := s.grow(slotMin); err != nil {
		unix.Close(fd)
		return nil, err
	}
	j.count++
	return s, nil
}

// grow makes the record file at least size bytes long and maps all of it.
// The space is allocated, not just a hole, so that storing into the
// mapping can never fault for want of space (SIGBUS on a full tmpfs):
// running out shows as an error here, before the write it would journal.
func (s *slot) grow(size int) error {
	if size <= len(s.mem) {
		return nil
	}
	size = max(size, 2*len(s.mem))
	if err := allocate(s.fd, int64(size)); err != nil {
		if err != unix.EOPNOTSUPP {
			return fmt.Errorf("allocate journal record: %w", err)
		}
		// No fallocate (not tmpfs): a sparse file, as a write(2) would make.
		if err := unix.Ftruncate(s.fd, int64(size)); err != nil {
			return fmt.Errorf("size journal record: %w", err)
		}
	}
	mem, err := unix.Mmap(s.fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map journal record: %w", err)
	}
	s.unmap()
	s.mem = mem
	return nil
}

func (s *slot) unmap() {
	if s.mem != nil {
		unix.Munmap(s.mem)
		s.mem = nil
	}
}

// give returns a record file, emptied by its last journalEnd, to the pool.
func (j *journal) give(s *slot) {
	j.mu.Lock()
	j.free = append(j.free, s)
	j.mu.Unlock()
}

// journalDirFor names the journal directory of CIPHERDIR dir for this
// mount: <base>/<hash of dir>-<pid>-<random>. The PID says whose it is
// to a reader without the lock (an older veilfs's directory, which has
// none); the random part keeps two mounts of one process apart, so that
// one mount's removal of its directory at unmount can never take another's.
func journalDirFor(base, dir string) (prefix, own string) {
	sum := sha256.Sum256([]byte(dir))
	prefix = filepath.Join(base, hex.EncodeToString(sum[:8]))
	return prefix, fmt.Sprintf("%s-%d-%s", prefix, os.Getpid(), rand.Text()[:8])
}

// journalPID is the PID in the name of journal directory d, one of
// prefix's: <prefix>-<pid>, as older versions named them, or
// <prefix>-<pid>-<random>.
func journalPID(prefix, d string) (int, bool) {
	rest, ok := strings.CutPrefix(d, prefix+"-")
	if !ok {
		return 0, false
	}
	rest, _, _ = strings.Cut(rest, "-")
	pid, err := strconv.Atoi(rest)
	return pid, err == nil
}

// openJournal recovers what dead daemons of the same CIPHERDIR left behind
// and creates this mount's journal directory. base "" disables the journal.
func openJournal(base string, r *root) (*journal, error) {
	if base == "" {
		return &journal{lock: -1}, nil
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("journal directory %s: %w", base, err)
	}
	prefix, own := journalDirFor(base, r.vol.Dir)
	if err := recoverJournals(prefix, r); err != nil {
		return nil, err
	}
	lock, err := createLockedDir(own)
	if err != nil {
		return nil, fmt.Errorf("journal directory %s: %w", own, err)
	}
	return &journal{dir: own, lock: lock}, nil
}

// createLockedDir creates dir with its lock file already locked, and
// returns the lock's descriptor. The directory is made under another name
// and renamed into place, so no other mount can see it unlocked and take
// it for a dead daemon's.
func createLockedDir(dir string) (int, error) {
	tmp := filepath.Join(filepath.Dir(dir), ".new-"+filepath.Base(dir))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return -1, err
	}
	fd, err := unix.Open(filepath.Join(tmp, journalLock), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		os.RemoveAll(tmp)
		return -1, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		os.RemoveAll(tmp)
		return -1, fmt.Errorf("lock: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		unix.Close(fd)
		os.RemoveAll(tmp)
		return -1, fmt.Errorf("create: %w", err)
	}
	return fd, nil
}

// remove deletes the journal after a clean unmount.
func (j *journal) remove() {
	if j.dir == "" {
		return
	}
	j.mu.Lock()
	for _, s := range j.free {
		s.unmap()
		unix.Close(s.fd)
	}
	j.free = nil
	j.mu.Unlock()
	os.RemoveAll(j.dir)
	if j.lock >= 0 {
		unix.Close(j.lock) // after the removal: the directory stays ours until gone
		j.lock = -1
	}
}

// record is a File's journal record file, opened on its first write. The
// node's content lock serialises the writes that use it.
type record struct {
	slot *slot
	path string // ciphertext path when the record was opened
}

// journalBegin records that ciphertext [off, end) of f is about to change:
// the old bytes of that range that exist, and the old file size. id is
// the file ID the file has after the write (a new one for new content).
func (f *File) journalBegin(off, end int64, id []byte) error {
	j := f.n.r.journal
	if j.dir == "" {
		return nil
	}
	if f.rec == nil {
		s, err := j.take()
		if err != nil {
			return err
		}
		// Recovery finds the file by inode number where a rename made
		// the path stale.
		f.rec = &record{slot: s, path: f.n.cipherPathHint()}
	}
	path := f.rec.path
	oldLen := 0
	if off < f.csize {
		oldLen = int(min(end, f.csize) - off)
	}
	size := journalHeader + len(path) + oldLen
	if err := f.rec.slot.grow(size); err != nil {
		return err
	}
	// The old bytes go straight into the mapping; the magic and checksum,
	// stored last, make the record count (see undoRecord).
	b := f.rec.slot.mem[:size]
	if oldLen > 0 {
		if _, err := diskio.PreadFull(f.fd, b[journalHeader+len(path):], off); err != nil {
			return fmt.Errorf("save old bytes for the journal: %w", err)
		}
	}
	encodeRecord(b, f.n.StableAttr().Ino, f.n.dev, id, f.csize, off, path)
	return nil
}

// encodeRecord fills in the header and path of record b, whose old bytes
// are already in place after them, and seals it with its checksum.
func encodeRecord(b []byte, ino, dev uint64, id []byte, oldSize, off int64, path string) {
	oldLen := len(b) - journalHeader - len(path)
	binary.LittleEndian.PutUint64(b[recIno:], ino)
	binary.LittleEndian.PutUint64(b[recDev:], dev)
	copy(b[recFileID:recFileID+cipher.FileIDSize], id)
	binary.LittleEndian.PutUint64(b[recOldSize:], uint64(oldSize))
	binary.LittleEndian.PutUint64(b[recOff:], uint64(off))
	binary.LittleEndian.PutUint32(b[recOldLen:], uint32(oldLen))
	binary.LittleEndian.PutUint16(b[recPathLen:], uint16(len(path)))
	copy(b[journalHeader:], path)
	binary.LittleEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b[8:]))
	copy(b, journalMagic[:])
}

// journalEnd empties the record: the write is complete. Wiping the magic
// is enough for recovery to ignore it, and a slot handed on later can never
// replay a write that completed.
func (f *File) journalEnd() {
	if f.rec != nil {
		clear(f.rec.slot.mem[:len(journalMagic)])
	}
}

// journalClose returns the record file to the pool (at release).
func (f *File) journalClose() {
	if f.rec != nil {
		f.n.r.journal.give(f.rec.slot)
		f.rec = nil
	}
}

// recoverJournals restores the writes in flight of every dead daemon whose
// journal directory starts with prefix, then removes those directories.
func recoverJournals(prefix string, r *root) error {
	dirs, _ := filepath.Glob(prefix + "-*")
	for _, d := range dirs {
		pid, ok := journalPID(prefix, d)
		if !ok {
			continue
		}
		lock, alive := lockDeadJournal(d, pid)
		if alive {
			continue
		}
		err := recoverJournal(d, r)
		if lock >= 0 {
			unix.Close(lock)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// recoverJournal undoes the records of the dead daemon's directory d, then
// removes it.
func recoverJournal(d string, r *root) error {
	entries, err := os.ReadDir(d)
	if err != nil {
		return fmt.Errorf("read journal %s: %w", d, err)
	}
	for _, e := range entries {
		if e.Name() == journalLock {
			continue
		}
		if err := r.undoRecord(filepath.Join(d, e.Name())); err != nil {
			r.log.Printf("journal: %v", err)
		}
	}
	if err := os.RemoveAll(d); err != nil {
		return fmt.Errorf("remove journal %s: %w", d, err)
	}
	return nil
}

// lockDeadJournal tells whether the daemon of journal directory d still
// runs, by taking the flock it holds while it does; when it does not, the
// lock is returned, held, so that no other mount recovers d at the same
// time (close it after the removal). A directory without a lock file is an
// older veilfs's: only its PID tells, which a new process may have reused.
func lockDeadJournal(d string, pid int) (lock int, alive bool) {
	fd, err := unix.Open(filepath.Join(d, journalLock), unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, processAlive(pid)
	}
	if err != nil {
		return -1, true // cannot tell: leave it rather than race a live daemon
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return -1, true // EWOULDBLOCK: its daemon holds it
	}
	return fd, false
}

// openByIno opens the ciphertext file recorded at path with inode ino on
// device dev, looking for the inode in all of CIPHERDIR if it moved. The
// inode may have been reused by another file: the caller checks the
// file ID.
func (r *root) openByIno(path string, dev, ino uint64) (int, string, error) {
	try := func(p string) (int, bool) {
		dir, name := filepath.Split(p)
		dfd, err := cipherdir.OpenDirAt(r.rootfd, strings.TrimSuffix(dir, "/"))
		if err != nil {
			return -1, false
		}
		defer unix.Close(dfd)
		fd, err := unix.Openat(dfd, name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, false
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Ino != ino || uint64(st.Dev) != dev || st.Mode&unix.S_IFMT != unix.S_IFREG {
			unix.Close(fd)
			return -1, false
		}
		return fd, true
	}
	if path != "" {
		if fd, ok := try(path); ok {
			return fd, path, nil
		}
	}
	var found string
	filepath.WalkDir(r.vol.Dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || found != "" || !e.Type().IsRegular() {
			return nil
		}
		if info, err := e.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == ino && uint64(st.Dev) == dev {
				found, _ = filepath.Rel(r.vol.Dir, p)
				return filepath.SkipAll
			}
		}
		return nil
	})
	if found != "" {
		if fd, ok := try(found); ok {
			return fd, found, nil
		}
	}
	return -1, path, fmt.Errorf("the file written when the previous daemon was killed (inode %d, %s) is gone; nothing to restore", ino, r.absCipherPath(path))
}

// sameFileID tells whether the file fd is the one a record is about: its
// header carries the file ID id the write used, or the one of the old
// header the record saved (a write of new content over a header-only file
// replaces the header, and may have been killed before or after that).
func sameFileID(fd int, id, old []byte, off int64) bool {
	var hdr [cipher.HeaderSize]byte
	if n, _ := diskio.PreadFull(fd, hdr[:], 0); n < len(hdr) {
		return false // no gocryptfs file has 1-17 bytes; a gocryptfs.diriv has 16
	}
	got := hdr[cipher.HeaderSize-cipher.FileIDSize:]
	if bytes.Equal(got, id) {
		return true
	}
	return off == 0 && len(old) >= cipher.HeaderSize && bytes.Equal(got, old[cipher.HeaderSize-cipher.FileIDSize:cipher.HeaderSize])
}

func processAlive(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}

// undoRecord puts one recorded write back to the state before it.
func (r *root) undoRecord(recPath string) error {
	b, err := os.ReadFile(recPath)
	if err != nil || len(b) == 0 {
		return err // empty: never used
	}
	if len(b) >= 4 && [4]byte(b[:4]) == [4]byte{'V', 'J', 'R', '1'} {
		return fmt.Errorf("record %s is an older veilfs's, which does not say which file it is about beyond an inode number that may have been reused: not replayed", recPath)
	}
	if len(b) < journalHeader || [4]byte(b[:4]) != journalMagic {
		return nil // wiped: the write completed
	}
	// The length fields say where this record ends: a longer earlier one
	// may have left bytes behind it in the slot.
	pathLen := int(binary.LittleEndian.Uint16(b[recPathLen:]))
	oldLen := int(binary.LittleEndian.Uint32(b[recOldLen:]))
	if n := journalHeader + pathLen + oldLen; n <= len(b) {
		b = b[:n]
	}
	if binary.LittleEndian.Uint32(b[4:]) != crc32.ChecksumIEEE(b[8:]) {
		return nil // killed while writing the record, so before the data write
	}
	ino := binary.LittleEndian.Uint64(b[recIno:])
	dev := binary.LittleEndian.Uint64(b[recDev:])
	id := b[recFileID : recFileID+cipher.FileIDSize]
	oldSize := int64(binary.LittleEndian.Uint64(b[recOldSize:]))
	off := int64(binary.LittleEndian.Uint64(b[recOff:]))
	if journalHeader+pathLen+oldLen != len(b) {
		return fmt.Errorf("record %s has a wrong length", recPath)
	}
	path := string(b[journalHeader : journalHeader+pathLen])
	old := b[journalHeader+pathLen:]
	fd, path, err := r.openByIno(path, dev, ino)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("restore %s: %w", r.absCipherPath(path), err)
	}
	if st.Size < oldSize {
		// Only a truncate makes a file shorter, and it is the last step
		// of its operation: that operation completed.
		return nil
	}
	if st.Size == 0 {
		return nil // new content that had not reached the file: nothing to undo
	}
	if !sameFileID(fd, id, old, off) {
		r.log.Printf("journal: %s has the inode (%d) of the file a killed daemon was writing, but not its file ID: another file reused the inode; left alone", r.absCipherPath(path), ino)
		return nil
	}
	if err := diskio.PwriteFull(fd, old, off); err != nil {
		return fmt.Errorf("restore %s: %w", r.absCipherPath(path), err)
	}
	if st.Size > oldSize {
		if err := unix.Ftruncate(fd, oldSize); err != nil {
			return fmt.Errorf("restore %s: %w", r.absCipherPath(path), err)
		}
	}
	r.log.Printf("journal: undid the write in flight to %s when the previous daemon was killed", r.absCipherPath(path))
	return nil
}
