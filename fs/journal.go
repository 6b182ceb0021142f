package fs

import (
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

	"github.com/veilfs/veilfs/fs/cipherdir"
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
// will overwrite and the file's old size; after the write it is wiped. The next mount of the same
// CIPHERDIR finds the subdirectory of a daemon that no longer runs and puts
// every recorded write back to its old state.
//
// Power loss is a different matter: there the backing filesystem's own
// rules and fsync apply (SECURITY.md, durability).

// journalMagic starts every record; the version is in the last byte.
var journalMagic = [4]byte{'V', 'J', 'R', '1'}

// journalHeader: magic, crc32 (of everything after it), ino, old size,
// offset, old-bytes length, path length; then the path and the old bytes.
const journalHeader = 4 + 4 + 8 + 8 + 8 + 4 + 2

// journal is the journal directory of one mount, with a pool of record
// files: a record names the file it is about, so any free slot will do, and
// a handle takes one for its lifetime instead of creating a file of its own.
type journal struct {
	dir string // "" disables journaling

	mu    sync.Mutex
	free  []int // descriptors of idle, empty record files
	count int   // record files created so far
}

// take returns an empty record file.
func (j *journal) take() (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.free); n > 0 {
		fd := j.free[n-1]
		j.free = j.free[:n-1]
		return fd, nil
	}
	fd, err := unix.Open(filepath.Join(j.dir, "slot-"+strconv.Itoa(j.count)),
		unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return -1, fmt.Errorf("open journal record: %w", err)
	}
	j.count++
	return fd, nil
}

// give returns a record file, emptied by its last journalEnd, to the pool.
func (j *journal) give(fd int) {
	j.mu.Lock()
	j.free = append(j.free, fd)
	j.mu.Unlock()
}

// journalDirFor names the journal directory of CIPHERDIR dir for this
// process: <base>/<hash of dir>-<pid>.
func journalDirFor(base, dir string) (prefix, own string) {
	sum := sha256.Sum256([]byte(dir))
	prefix = filepath.Join(base, hex.EncodeToString(sum[:8]))
	return prefix, fmt.Sprintf("%s-%d", prefix, os.Getpid())
}

// openJournal recovers what dead daemons of the same CIPHERDIR left behind
// and creates this mount's journal directory. base "" disables the journal.
func openJournal(base string, r *root) (*journal, error) {
	if base == "" {
		return &journal{}, nil
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("journal directory %s: %w", base, err)
	}
	prefix, own := journalDirFor(base, r.vol.Dir)
	if err := recoverJournals(prefix, r); err != nil {
		return nil, err
	}
	if err := os.Mkdir(own, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("journal directory %s: %w", own, err)
	}
	return &journal{dir: own}, nil
}

// remove deletes the journal after a clean unmount.
func (j *journal) remove() {
	if j.dir == "" {
		return
	}
	j.mu.Lock()
	for _, fd := range j.free {
		unix.Close(fd)
	}
	j.free = nil
	j.mu.Unlock()
	os.RemoveAll(j.dir)
}

// record is a File's journal record file, opened on its first write. The
// node's content lock serialises the writes that use it.
type record struct {
	fd   int
	path string // ciphertext path when the record was opened
	buf  []byte
}

// journalBegin records that ciphertext [off, end) of f is about to change:
// the old bytes of that range that exist, and the old file size.
func (f *File) journalBegin(off, end int64) error {
	j := f.n.r.journal
	if j.dir == "" {
		return nil
	}
	if f.rec == nil {
		fd, err := j.take()
		if err != nil {
			return err
		}
		// Worked out once per handle; recovery finds the file by inode
		// number if it was renamed since.
		path, err := f.n.cipherPath()
		if err != nil {
			path = ""
		}
		f.rec = &record{fd: fd, path: path}
	}
	path := f.rec.path
	oldLen := 0
	if off < f.csize {
		oldLen = int(min(end, f.csize) - off)
	}
	size := journalHeader + len(path) + oldLen
	if cap(f.rec.buf) < size {
		f.rec.buf = make([]byte, size)
	}
	b := f.rec.buf[:size]
	if oldLen > 0 {
		if _, err := preadFull(f.fd, b[journalHeader+len(path):], off); err != nil {
			return fmt.Errorf("save old bytes for the journal: %w", err)
		}
	}
	encodeRecord(b, f.n.StableAttr().Ino, f.csize, off, path)
	if err := pwriteFull(f.rec.fd, b, 0); err != nil {
		return fmt.Errorf("write journal record: %w", err)
	}
	return nil
}

// encodeRecord fills in the header and path of record b, whose old bytes
// are already in place after them, and seals it with its checksum.
func encodeRecord(b []byte, ino uint64, oldSize, off int64, path string) {
	oldLen := len(b) - journalHeader - len(path)
	copy(b, journalMagic[:])
	binary.LittleEndian.PutUint64(b[8:], ino)
	binary.LittleEndian.PutUint64(b[16:], uint64(oldSize))
	binary.LittleEndian.PutUint64(b[24:], uint64(off))
	binary.LittleEndian.PutUint32(b[32:], uint32(oldLen))
	binary.LittleEndian.PutUint16(b[36:], uint16(len(path)))
	copy(b[journalHeader:], path)
	binary.LittleEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b[8:]))
}

// journalEnd empties the record: the write is complete. Wiping the magic
// is enough for recovery to ignore it, and a slot handed on later can never
// replay a write that completed.
func (f *File) journalEnd() {
	if f.rec != nil {
		var zero [len(journalMagic)]byte
		_ = pwriteFull(f.rec.fd, zero[:], 0)
	}
}

// journalClose returns the record file to the pool (at release).
func (f *File) journalClose() {
	if f.rec != nil {
		f.n.r.journal.give(f.rec.fd)
		f.rec = nil
	}
}

// recoverJournals restores the writes in flight of every dead daemon whose
// journal directory starts with prefix, then removes those directories.
func recoverJournals(prefix string, r *root) error {
	dirs, _ := filepath.Glob(prefix + "-*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(d, prefix+"-"))
		if err != nil || processAlive(pid) {
			continue
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("read journal %s: %w", d, err)
		}
		for _, e := range entries {
			if err := r.undoRecord(filepath.Join(d, e.Name())); err != nil {
				r.log.Printf("journal: %v", err)
			}
		}
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove journal %s: %w", d, err)
		}
	}
	return nil
}

// openByIno opens the ciphertext file recorded at path with inode ino,
// looking for the inode in all of CIPHERDIR if it moved.
func (r *root) openByIno(path string, ino uint64) (int, string, error) {
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
		if unix.Fstat(fd, &st) != nil || st.Ino != ino || st.Mode&unix.S_IFMT != unix.S_IFREG {
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
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == ino {
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

func processAlive(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}

// undoRecord puts one recorded write back to the state before it.
func (r *root) undoRecord(recPath string) error {
	b, err := os.ReadFile(recPath)
	if err != nil || len(b) == 0 {
		return err // empty: never used
	}
	if len(b) < journalHeader || [4]byte(b[:4]) != journalMagic {
		return nil // wiped: the write completed
	}
	// The length fields say where this record ends: a longer earlier one
	// may have left bytes behind it in the slot.
	pathLen := int(binary.LittleEndian.Uint16(b[36:]))
	oldLen := int(binary.LittleEndian.Uint32(b[32:]))
	if n := journalHeader + pathLen + oldLen; n <= len(b) {
		b = b[:n]
	}
	if binary.LittleEndian.Uint32(b[4:]) != crc32.ChecksumIEEE(b[8:]) {
		return nil // killed while writing the record, so before the data write
	}
	ino := binary.LittleEndian.Uint64(b[8:])
	oldSize := int64(binary.LittleEndian.Uint64(b[16:]))
	off := int64(binary.LittleEndian.Uint64(b[24:]))
	if journalHeader+pathLen+oldLen != len(b) {
		return fmt.Errorf("record %s has a wrong length", recPath)
	}
	path := string(b[journalHeader : journalHeader+pathLen])
	old := b[journalHeader+pathLen:]
	fd, path, err := r.openByIno(path, ino)
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
	if err := pwriteFull(fd, old, off); err != nil {
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
