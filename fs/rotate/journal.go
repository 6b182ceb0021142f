package rotate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// JournalName is the rotation journal's file name in the root of
// CIPHERDIR. The "gocryptfs." prefix is reserved for the volume's own files,
// so a mount would never show it as a user entry.
const JournalName = "gocryptfs.rotation"

const (
	journalVersion = 1
	// Key-derivation labels: the journal's wrap key and the new key's
	// identifier are derived from the master keys, never stored.
	infoJournalKey = "veilfs rotation journal key"
	infoKeyID      = "veilfs rotation key id"
)

// header is the journal's first line. NewKey is the new master key wrapped
// under a key derived from the old one, so that a resumed rotation finds
// it with the old password and nobody without the old key learns it.
type header struct {
	Version  int
	NewKey   []byte
	NewKeyID []byte
	// Config is the new gocryptfs.conf's format (flags, long-name limit),
	// with the old wrapped key in it; the final step wraps the new key.
	Config []byte
}

// record is one journal line after the header. Exactly one of its groups
// of fields is set, as T says.
type record struct {
	T string // "times", "plan", "done", "group", "gdone"

	// T == "times": every directory's atime and mtime before the rotation
	// touched it, by inode number.
	Dirs map[uint64][4]int64 `json:",omitempty"`

	// T == "plan" and "done": the directory, by inode number.
	Ino uint64 `json:",omitempty"`
	// T == "plan": the renames and directory xattr changes still to do.
	Entries []planEntry `json:",omitempty"`
	Xattrs  []planXattr `json:",omitempty"`

	// T == "group" and "gdone": a hard-linked inode's new copy (a path
	// relative to CIPHERDIR) and every name that must end up linked to it.
	Tmp   string   `json:",omitempty"`
	Names []string `json:",omitempty"`
}

// planEntry renames Old to New in a directory; Long is New's full
// encrypted name when New is a hashed long name (its sidecar's content).
type planEntry struct {
	Old, New string
	Long     string `json:",omitempty"`
}

// planXattr replaces a directory's xattr Old with New holding Value, which
// is already encrypted under the new key.
type planXattr struct {
	Old, New string
	Value    []byte `json:",omitempty"`
}

// journal is the open journal of a rotation: its decoded state and the
// file records are appended to.
type journal struct {
	path string
	f    *os.File
	hdr  header

	times  map[uint64][4]int64
	plans  map[uint64]*record
	done   map[uint64]bool
	groups map[string]*record // unfinished, by Tmp
}

func journalKey(oldMaster []byte) []byte { return cipher.HKDF(oldMaster, infoJournalKey, 32) }

func keyID(master []byte) []byte { return cipher.HKDF(master, infoKeyID, 16) }

// createJournal writes a new journal atomically (temp file, fsync, rename,
// directory fsync): it either exists whole or not at all.
func createJournal(dir string, oldMaster, newMaster, newConfig []byte, times map[uint64][4]int64, onDisk bool) (*journal, error) {
	kek := journalKey(oldMaster)
	defer cipher.Wipe(kek)
	h := header{
		Version:  journalVersion,
		NewKey:   cipher.WrapMasterKey(kek, newMaster),
		NewKeyID: keyID(newMaster),
		Config:   newConfig,
	}
	var buf bytes.Buffer
	for _, v := range []any{h, record{T: "times", Dirs: times}} {
		line, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode rotation journal: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	path := dir + "/" + JournalName
	if !onDisk {
		j := &journal{path: path, hdr: h, plans: map[uint64]*record{}, done: map[uint64]bool{}, groups: map[string]*record{}}
		return j, j.apply(&record{T: "times", Dirs: times})
	}
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("create rotation journal: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("create rotation journal: %w", err)
	}
	if err := syncPath(dir); err != nil {
		return nil, fmt.Errorf("create rotation journal: %w", err)
	}
	return openJournal(dir)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}

// openJournal reads the journal in dir. A last line without its newline is
// a record torn by a crash during its append: nothing acted on it yet (we
// act only after the append's fsync), so it is cut off.
func openJournal(dir string) (*journal, error) {
	path := dir + "/" + JournalName
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	j := &journal{path: path, f: f, plans: map[uint64]*record{}, done: map[uint64]bool{}, groups: map[string]*record{}}
	if err := j.load(); err != nil {
		f.Close()
		return nil, fmt.Errorf("rotation journal %s: %w", path, err)
	}
	return j, nil
}

func (j *journal) load() error {
	data, err := readAll(j.f)
	if err != nil {
		return err
	}
	complete := bytes.LastIndexByte(data, '\n') + 1
	if complete < len(data) {
		if err := j.f.Truncate(int64(complete)); err != nil {
			return fmt.Errorf("cut torn last record: %w", err)
		}
		data = data[:complete]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	if !sc.Scan() {
		return errors.New("empty journal")
	}
	if err := json.Unmarshal(sc.Bytes(), &j.hdr); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if j.hdr.Version != journalVersion {
		return fmt.Errorf("journal version %d, this veilfs knows %d", j.hdr.Version, journalVersion)
	}
	for n := 2; sc.Scan(); n++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := j.apply(&r); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	if j.times == nil {
		return errors.New("no directory times record")
	}
	if _, err := j.f.Seek(0, 2); err != nil {
		return err
	}
	return nil
}

func readAll(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// apply folds one record into the state, checking that every name in it
// is a single harmless component: the journal lives in the synced folder,
// and a planted record must not make us touch anything outside it.
func (j *journal) apply(r *record) error {
	switch r.T {
	case "times":
		j.times = r.Dirs
	case "plan":
		for _, e := range r.Entries {
			if !cipherdir.ValidDiskName(e.Old) || !cipherdir.ValidDiskName(e.New) {
				return fmt.Errorf("plan for directory %d: invalid name", r.Ino)
			}
		}
		j.plans[r.Ino] = r
	case "done":
		j.done[r.Ino] = true
		delete(j.plans, r.Ino)
	case "group":
		for _, p := range append([]string{r.Tmp}, r.Names...) {
			if !validRelPath(p) {
				return fmt.Errorf("hard-link group: invalid path %q", p)
			}
		}
		j.groups[r.Tmp] = r
	case "gdone":
		delete(j.groups, r.Tmp)
	default:
		return fmt.Errorf("unknown record type %q", r.T)
	}
	return nil
}

func validRelPath(p string) bool {
	for c := range strings.SplitSeq(p, "/") {
		if !cipherdir.ValidDiskName(c) {
			return false
		}
	}
	return true
}

// append writes r durably, then folds it into the state: whatever the
// rotation does after append returns may rely on the record surviving a
// crash.
func (j *journal) append(r record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode journal record: %w", err)
	}
	line = append(line, '\n')
	if j.f == nil { // Options.NoJournal
		return j.apply(&r)
	}
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("append to rotation journal %s: %w", j.path, err)
	}
	if err := unix.Fdatasync(int(j.f.Fd())); err != nil {
		return fmt.Errorf("fsync rotation journal %s: %w", j.path, err)
	}
	return j.apply(&r)
}

// newMaster unwraps the new master key with the old one.
func (j *journal) newMaster(oldMaster []byte) ([]byte, error) {
	kek := journalKey(oldMaster)
	defer cipher.Wipe(kek)
	mk, err := cipher.UnwrapMasterKey(kek, j.hdr.NewKey)
	if err != nil {
		return nil, fmt.Errorf("rotation journal %s: the new master key does not unwrap with this volume's key: %w", j.path, err)
	}
	return mk, nil
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}

// remove deletes the journal once the rotation is complete.
func (j *journal) remove(dir string) error {
	j.close()
	if err := os.Remove(j.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove rotation journal: %w", err)
	}
	return syncPath(dir)
}
