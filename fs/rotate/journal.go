package rotate

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// JournalName is the rotation journal's file name in the root of
// CIPHERDIR. The "gocryptfs." prefix is reserved for the volume's own files,
// so a mount would never show it as a user entry.
const JournalName = cipherdir.RotationJournalName

const (
	// journalVersion 2 replaced version 1, whose header held the new master
	// key wrapped under a key derived from the OLD one: whoever rotation is
	// meant to lock out could read it from the synced journal.
	journalVersion = 2
	// Key-derivation labels, under the NEW master key: the journal's MAC
	// key and the key that wraps the old master key for a resumed run.
	infoJournalMAC = "veilfs rotation journal v2 mac"
	infoOldKey     = "veilfs rotation journal v2 old key"
	// macContext starts the MAC chain, so that no other HMAC under the same
	// key can pass for a journal header.
	macContext = "veilfs rotation journal v2\n"
	// maxJournalSize bounds what is read: the journal lives in the synced
	// folder, and whoever writes there must not make us read for ever.
	maxJournalSize = 1 << 30
)

// line is one line of the journal: a JSON body and the MAC that chains it
// to the line before (HMAC-SHA256 under a key derived from the new master
// key). The first line's body is the header, the others are records.
type line struct {
	Body json.RawMessage
	MAC  []byte
}

// header is the body of the journal's first line.
type header struct {
	Version int
	// Config is the target config: the new master key wrapped exactly as
	// the final gocryptfs.conf will hold it (the primary password's
	// EncryptedKey, every extra unlocker), with VeilfsRotationInProgress
	// set. Only the user's password or unlocker opens it, never the old
	// master key.
	Config []byte
	// OldConfig is the config the rotation started from, without the flag:
	// the format of the objects not rewritten yet, and the reference the
	// target's format is checked against.
	OldConfig []byte
	// OldKey is the old master key wrapped under a key derived from the
	// new one: a resumed run needs only an unlocker of Config. It tells the
	// new key's holders nothing they could not read from the old files.
	OldKey []byte
}

// record is one journal line after the header. Exactly one of its groups
// of fields is set, as T says.
type record struct {
	T string // "times", "plan", "done", "group", "gdone", "switch"

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

	// T == "switch" has no fields: every object is rewritten and synced,
	// and the config is about to switch to the new key.
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

// ErrJournalInvalid is wrapped by every refusal of a journal that does not
// parse, authenticate or match the volume. Nothing was changed when it is
// returned.
var ErrJournalInvalid = errors.New("rotation journal refused")

// ErrJournalVersion is returned for a journal written by another version
// of veilfs. Nothing was changed when it is returned.
var ErrJournalVersion = errors.New("rotation journal of another veilfs version")

// journal is the open journal of a rotation: its decoded state and the
// file records are appended to.
type journal struct {
	path string
	f    *os.File
	hdr  header
	// target and oldConf are hdr.Config and hdr.OldConfig, parsed.
	target, oldConf *config.File

	macKey []byte // wiped by close
	last   []byte // MAC of the last line, which the next one chains to

	times    map[uint64][4]int64
	plans    map[uint64]*record
	done     map[uint64]bool
	groups   map[string]*record // unfinished, by Tmp
	switched bool
}

// journalFile is a journal as read from disk, nothing checked but its
// structure.
type journalFile struct {
	lines []line
	hdr   header
	// complete is the length of the file's complete lines; a torn last
	// line (a crash during its append) follows.
	complete, size int
}

func macKey(newMaster []byte) []byte { return cipher.HKDF(newMaster, infoJournalMAC, 32) }

func oldKeyKEK(newMaster []byte) []byte { return cipher.HKDF(newMaster, infoOldKey, 32) }

// lineMAC chains body to prev, the MAC of the line before (nil for the
// header).
func lineMAC(key, prev, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	if prev == nil {
		m.Write([]byte(macContext))
	} else {
		m.Write(prev)
	}
	m.Write(body)
	return m.Sum(nil)
}

// seal encodes v as one MACed journal line, newline included, and returns
// it with its MAC.
func seal(key, prev []byte, v any) ([]byte, []byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("encode rotation journal: %w", err)
	}
	mac := lineMAC(key, prev, body)
	out, err := json.Marshal(line{Body: body, MAC: mac})
	if err != nil {
		return nil, nil, fmt.Errorf("encode rotation journal: %w", err)
	}
	return append(out, '\n'), mac, nil
}

func newState(path string) *journal {
	return &journal{path: path, plans: map[uint64]*record{}, done: map[uint64]bool{}, groups: map[string]*record{}}
}

// createJournal writes a new journal atomically (temp file, fsync, rename,
// directory fsync): it either exists whole or not at all. target holds the
// new master key already wrapped for the user's unlockers.
func createJournal(dir string, oldMaster, newMaster []byte, target, oldConf *config.File, times map[uint64][4]int64, onDisk bool) (*journal, error) {
	kek := oldKeyKEK(newMaster)
	defer cipher.Wipe(kek)
	h := header{
		Version:   journalVersion,
		Config:    target.Marshal(),
		OldConfig: oldConf.Marshal(),
		OldKey:    cipher.WrapMasterKey(kek, oldMaster),
	}
	key := macKey(newMaster)
	defer cipher.Wipe(key)
	var buf bytes.Buffer
	var prev []byte
	for _, v := range []any{h, record{T: "times", Dirs: times}} {
		l, mac, err := seal(key, prev, v)
		if err != nil {
			return nil, err
		}
		buf.Write(l)
		prev = mac
	}
	path := dir + "/" + JournalName
	if !onDisk {
		j := newState(path)
		j.hdr, j.target, j.oldConf = h, target, oldConf
		j.macKey, j.last = bytes.Clone(key), prev
		return j, j.apply(&record{T: "times", Dirs: times})
	}
	tmp := dir + "/" + cipherdir.RotationJournalTmpName
	if err := writeFileSync(tmp, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("create rotation journal: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("create rotation journal: %w", err)
	}
	if err := syncPath(dir); err != nil {
		return nil, fmt.Errorf("create rotation journal: %w", err)
	}
	return openJournal(dir, oldConf, newMaster)
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

// readJournal reads and decodes the journal in dir without checking its
// MACs or changing anything: Pending uses it before there is a key. It
// opens only a regular file, without following a symlink or waiting on a
// FIFO that a writer of the synced folder may have put there.
func readJournal(dir string) (*journalFile, error) {
	path := dir + "/" + JournalName
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: %w", path, ErrJournalInvalid)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v): %w", path, fi.Mode().Type(), ErrJournalInvalid)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxJournalSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxJournalSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", path, maxJournalSize, ErrJournalInvalid)
	}
	jf := &journalFile{complete: bytes.LastIndexByte(data, '\n') + 1, size: len(data)}
	for n, raw := range bytes.SplitAfter(data[:jf.complete], []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var l struct {
			line
			Version int // set only by a version 1 journal's header
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("%s line %d: %v: %w", path, n+1, err, ErrJournalInvalid)
		}
		if n == 0 && l.Body == nil && l.Version != 0 {
			return nil, fmt.Errorf("%s is a version %d journal, written by a veilfs older than this one; version 1 kept the new master key wrapped under the old one, so anyone holding the old key can read it: %w", path, l.Version, ErrJournalVersion)
		}
		if l.Body == nil || len(l.MAC) != sha256.Size {
			return nil, fmt.Errorf("%s line %d: no body or no MAC: %w", path, n+1, ErrJournalInvalid)
		}
		jf.lines = append(jf.lines, l.line)
	}
	if len(jf.lines) == 0 {
		return nil, fmt.Errorf("%s has no complete header line: %w", path, ErrJournalInvalid)
	}
	if err := json.Unmarshal(jf.lines[0].Body, &jf.hdr); err != nil {
		return nil, fmt.Errorf("%s header: %v: %w", path, err, ErrJournalInvalid)
	}
	if jf.hdr.Version != journalVersion {
		return nil, fmt.Errorf("%s is a version %d journal, this veilfs knows version %d: %w", path, jf.hdr.Version, journalVersion, ErrJournalVersion)
	}
	return jf, nil
}

// configs parses the header's two configs and checks that the target
// differs from the old one only as a rotation may change it, and that the
// volume's current config has the format of one of them.
func (jf *journalFile) configs(path string, current *config.File) (target, old *config.File, err error) {
	if target, err = config.Parse(jf.hdr.Config); err != nil {
		return nil, nil, fmt.Errorf("%s: target config: %v: %w", path, err, ErrJournalInvalid)
	}
	if old, err = config.Parse(jf.hdr.OldConfig); err != nil {
		return nil, nil, fmt.Errorf("%s: old config: %v: %w", path, err, ErrJournalInvalid)
	}
	if err := checkTarget(old, target); err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %w", path, err, ErrJournalInvalid)
	}
	// The current config has the old format, or the target's once the
	// final switch was saved.
	if err := sameFormat(old, current); err != nil && sameFormat(target, current) != nil {
		return nil, nil, fmt.Errorf("%s and %s disagree: %w: %w", path, config.Filename, err, ErrJournalInvalid)
	}
	return target, old, nil
}

// Pending returns the target config of the interrupted rotation of the
// volume in dir, whose config is current: its unlockers (the password or
// keyfile the rotation was started with, or the new password it was
// given) open the new master key, which Run then needs to finish. It
// wraps os.ErrNotExist when no rotation is pending. It checks what needs
// no key (the structure, the version, that the target only changes what
// rotate may change and lowers no scrypt cost), and changes nothing; Run
// authenticates the whole journal with the key.
func Pending(dir string, current *config.File) (*config.File, error) {
	jf, err := readJournal(dir)
	if err != nil {
		return nil, err
	}
	target, _, err := jf.configs(dir+"/"+JournalName, current)
	return target, err
}

// openJournal reads the journal in dir, authenticates every line with the
// new master key and folds the records into the state. Nothing is acted
// on, nor the file changed, before all of it verified. A last line without
// its newline is a record torn by a crash during its append: nothing acted
// on it yet (we act only after the append's fsync), so it is cut off.
func openJournal(dir string, current *config.File, newMaster []byte) (*journal, error) {
	path := dir + "/" + JournalName
	jf, err := readJournal(dir)
	if err != nil {
		return nil, err
	}
	target, old, err := jf.configs(path, current)
	if err != nil {
		return nil, err
	}
	j := newState(path)
	j.hdr, j.target, j.oldConf = jf.hdr, target, old
	j.macKey = macKey(newMaster)
	ok := false
	defer func() {
		if !ok {
			j.close()
		}
	}()
	for n, l := range jf.lines {
		mac := lineMAC(j.macKey, j.last, l.Body)
		if !hmac.Equal(mac, l.MAC) {
			if n == 0 {
				return nil, fmt.Errorf("%s does not authenticate with the key that unlocked it: it was changed by someone without the key, or the key is not the one this rotation set (an interrupted rotation resumes only with the password or unlocker it set, never with the old master key): %w", path, ErrJournalInvalid)
			}
			return nil, fmt.Errorf("%s line %d does not authenticate: lines were changed, removed, reordered or added by someone without the key: %w", path, n+1, ErrJournalInvalid)
		}
		j.last = mac
		if n == 0 {
			continue
		}
		var r record
		if err := json.Unmarshal(l.Body, &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %v: %w", path, n+1, err, ErrJournalInvalid)
		}
		if err := j.apply(&r); err != nil {
			return nil, fmt.Errorf("%s line %d: %v: %w", path, n+1, err, ErrJournalInvalid)
		}
	}
	if j.times == nil {
		return nil, fmt.Errorf("%s: no directory times record: %w", path, ErrJournalInvalid)
	}
	if j.f, err = os.OpenFile(path, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0); err != nil {
		return nil, err
	}
	if jf.complete < jf.size {
		if err := j.f.Truncate(int64(jf.complete)); err != nil {
			return nil, fmt.Errorf("%s: cut torn last record: %w", path, err)
		}
	}
	if _, err := j.f.Seek(int64(jf.complete), io.SeekStart); err != nil {
		return nil, err
	}
	ok = true
	return j, nil
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
	case "switch":
		j.switched = true
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
	l, mac, err := seal(j.macKey, j.last, r)
	if err != nil {
		return err
	}
	if j.f != nil { // nil: Options.NoJournal
		if _, err := j.f.Write(l); err != nil {
			return fmt.Errorf("append to rotation journal %s: %w", j.path, err)
		}
		if err := cipherdir.Fdatasync(int(j.f.Fd())); err != nil {
			return fmt.Errorf("fsync rotation journal %s: %w", j.path, err)
		}
	}
	j.last = mac
	return j.apply(&r)
}

// oldMaster unwraps the old master key with the new one. The caller wipes
// it.
func (j *journal) oldMaster(newMaster []byte) ([]byte, error) {
	kek := oldKeyKEK(newMaster)
	defer cipher.Wipe(kek)
	mk, err := cipher.UnwrapMasterKey(kek, j.hdr.OldKey)
	if err != nil {
		// The MACs verified: only a bug gets here.
		return nil, fmt.Errorf("rotation journal %s: the old master key does not unwrap: %w", j.path, err)
	}
	return mk, nil
}

func (j *journal) close() error {
	cipher.Wipe(j.macKey)
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// remove deletes the journal once the rotation is complete.
func (j *journal) remove(dir string) error {
	j.close()
	if err := os.Remove(j.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove rotation journal: %w", err)
	}
	return syncPath(dir)
}

// checkTarget checks that target, the config a rotation ends with, differs
// from old only in what rotate can change: the content cipher may become
// XChaCha20-Poly1305 (--xchacha), the long-name threshold may change
// (--longnamemax), the key envelopes are new; every other format flag is
// the same, and the scrypt cost is not lowered. A journal that asked for
// more (plaintext names, say) would make the rotation rewrite the whole
// tree that way.
func checkTarget(old, target *config.File) error {
	change := config.FormatChange{XChaCha: target.Has(config.FlagXChaCha20Poly1305) && !old.Has(config.FlagXChaCha20Poly1305)}
	if target.LongNameMax != old.LongNameMax {
		change.LongNameMax = cmp.Or(target.LongNameMax, 255)
	}
	want, err := old.WithFormat(change)
	if err != nil {
		return fmt.Errorf("target config: a change rotate cannot make: %w", err)
	}
	if err := sameFormat(want, target); err != nil {
		return fmt.Errorf("target config changes more than rotate may (content cipher, long-name threshold, keys): %w", err)
	}
	if target.Scrypt.N < old.Scrypt.N || target.Scrypt.KeyLen != old.Scrypt.KeyLen {
		return fmt.Errorf("target config lowers the scrypt cost (N=%d, was %d) or changes its key length", target.Scrypt.N, old.Scrypt.N)
	}
	return nil
}

// sameFormat reports how a and b differ in the format (version, feature
// flags but the rotation flag, long-name threshold), nil if they do not.
func sameFormat(a, b *config.File) error {
	flags := func(f *config.File) []string {
		var s []string
		for _, fl := range f.FeatureFlags {
			if fl != config.FlagRotation {
				s = append(s, string(fl))
			}
		}
		slices.Sort(s)
		return s
	}
	switch fa, fb := flags(a), flags(b); {
	case a.Version != b.Version:
		return fmt.Errorf("format version %d and %d", a.Version, b.Version)
	case !slices.Equal(fa, fb):
		return fmt.Errorf("feature flags %v and %v", fa, fb)
	case a.LongNameMax != b.LongNameMax:
		return fmt.Errorf("LongNameMax %d and %d", a.LongNameMax, b.LongNameMax)
	}
	return nil
}
