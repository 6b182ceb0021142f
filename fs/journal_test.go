//go:build linux

package fs

import (
	"bytes"
	"context"
	"crypto/rand"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/testenv"
)

// deadPID is a process ID no process has (above the kernel's pid_max).
const deadPID = 1 << 30

// journalVolume is a volume with a victim file (6000 bytes) and a
// bystander ("fine"), unmounted, and the journal base its mounts use.
type journalVolume struct {
	cdir, jdir string
	master     []byte
	old        []byte // the victim's plaintext
	cfile      string // the victim's ciphertext file
	cpath      string // the same, relative to cdir
	ct         []byte // its ciphertext
	st         syscall.Stat_t
}

func newJournalVolume(t *testing.T) *journalVolume {
	t.Helper()
	testenv.NeedFUSE(t)
	v := &journalVolume{cdir: filepath.Join(t.TempDir(), "cipher"), jdir: t.TempDir()}
	var err error
	v.master, err = cipherdir.Init(v.cdir, testPassword, config.CreateOptions{LogN: cipher.MinScryptLogN})
	if err != nil {
		t.Fatal(err)
	}
	m, _, mnt := v.mount(t)
	v.old = make([]byte, 6000)
	rand.Read(v.old)
	if err := os.WriteFile(filepath.Join(mnt, "victim"), v.old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "bystander"), []byte("fine"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.Unmount()
	v.cfile = findCipherFile(t, v.cdir, int64(18+4128+(6000-4096)+32))
	v.cpath, _ = filepath.Rel(v.cdir, v.cfile)
	if v.ct, err = os.ReadFile(v.cfile); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(v.cfile, &v.st); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *journalVolume) mount(t *testing.T) (*Mount, *testenv.LogBuffer, string) {
	t.Helper()
	vol, err := cipherdir.OpenWithMasterKey(v.cdir, v.master)
	if err != nil {
		t.Fatal(err)
	}
	sink, mnt := &testenv.LogBuffer{}, t.TempDir()
	m, err := MountVolume(mnt, vol, Options{Logger: log.New(sink, "", 0), JournalDir: v.jdir})
	if err != nil {
		t.Fatal(err)
	}
	go m.Wait()
	// Also when the test fails before its own unmount; a second unmount
	// of the same mount fails harmlessly.
	t.Cleanup(func() { _ = m.Unmount() })
	return m, sink, mnt
}

// undoRecord is the record a daemon killed while rewriting the victim's
// block 0 left: the old bytes of [18, 18+4128) and the old size.
func (v *journalVolume) undoRecord() []byte {
	rec := make([]byte, journalHeader+len(v.cpath)+4128)
	copy(rec[journalHeader+len(v.cpath):], v.ct[18:18+4128])
	encodeRecord(rec, v.st.Ino, v.st.Dev, v.ct[2:18], int64(len(v.ct)), 18, v.cpath)
	return rec
}

// tear leaves the victim as that kill did: block 0 half new, a longer tail.
func (v *journalVolume) tear(t *testing.T) {
	t.Helper()
	torn := append([]byte(nil), v.ct...)
	for i := 18 + 2000; i < 18+4128; i++ {
		torn[i] ^= 0x5a
	}
	torn = append(torn, bytes.Repeat([]byte{7}, 3000)...)
	if err := os.WriteFile(v.cfile, torn, 0o644); err != nil {
		t.Fatal(err)
	}
}

// deadJournal writes records into the journal directory of a daemon with
// PID pid, with a lock file (as a daemon of this version leaves it) if
// lock, and returns the directory.
func (v *journalVolume) deadJournal(t *testing.T, pid int, lock bool, recs ...[]byte) string {
	t.Helper()
	prefix, _ := journalDirFor(v.jdir, v.cdir)
	d := prefix + "-" + strconv.Itoa(pid)
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if lock {
		if err := os.WriteFile(filepath.Join(d, journalLock), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, rec := range recs {
		if err := os.WriteFile(filepath.Join(d, strconv.Itoa(i)), rec, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// checkRestored checks that the mount at mnt shows the victim as it was
// and the bystander untouched, and that the recovery was logged.
func (v *journalVolume) checkRestored(t *testing.T, mnt string, sink *testenv.LogBuffer) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(mnt, "victim"))
	if err != nil || !bytes.Equal(got, v.old) {
		t.Fatalf("after recovery: %d bytes, %v; want the old %d bytes", len(got), err, len(v.old))
	}
	if !strings.Contains(sink.String(), "undid the write in flight to "+v.cfile) {
		t.Fatalf("recovery not logged:\n%s", sink.String())
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "bystander")); err != nil || string(b) != "fine" {
		t.Fatalf("bystander: %q %v", b, err)
	}
}

// TestJournalUndo plays a daemon killed in the middle of a write: its
// journal record holds the old bytes of block 0 and the old size, the
// ciphertext has a torn block 0 and a longer tail. Mounting again must put
// the file back as it was, and log that it did. A record that a kill cut
// short (bad checksum) must be ignored.
func TestJournalUndo(t *testing.T) {
	v := newJournalVolume(t)
	rec := v.undoRecord()
	cut := append([]byte(nil), rec[:len(rec)-1]...) // a record cut short
	dead := v.deadJournal(t, deadPID, true, rec, cut)
	v.tear(t)

	m, sink, mnt := v.mount(t)
	defer m.Unmount()
	v.checkRestored(t, mnt, sink)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("dead daemon's journal still there: %v", err)
	}
}

// TestJournalInodeReuse: the file a killed daemon was writing was deleted
// and its inode number went to another file (here the bystander's). The
// record names the inode, but the file that has it carries another file ID
// in its header: recovery must leave it untouched, and say so. Before the
// record held the file ID, recovery wrote the old bytes into the bystander
// and cut it to the victim's old size.
func TestJournalInodeReuse(t *testing.T) {
	v := newJournalVolume(t)
	by := findCipherFile(t, v.cdir, 18+4+32)
	var st syscall.Stat_t
	if err := syscall.Stat(by, &st); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(by)
	if err != nil {
		t.Fatal(err)
	}
	// The victim's record, as if the victim had had the bystander's inode
	// number: its old path is gone, so recovery looks for the inode.
	rec := make([]byte, journalHeader+len("gone")+20)
	copy(rec[journalHeader+len("gone"):], bytes.Repeat([]byte{0xee}, 20))
	encodeRecord(rec, st.Ino, st.Dev, v.ct[2:18], 30, 18, "gone")
	v.deadJournal(t, deadPID, true, rec)

	m, sink, mnt := v.mount(t)
	defer m.Unmount()
	if after, err := os.ReadFile(by); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("recovery changed the file that reused the inode: %d bytes, %v", len(after), err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "bystander")); err != nil || string(b) != "fine" {
		t.Fatalf("bystander: %q %v", b, err)
	}
	if !strings.Contains(sink.String(), "another file reused the inode; left alone") {
		t.Fatalf("recovery did not say it left the file alone:\n%s", sink.String())
	}
}

// TestJournalPIDReuse: whether a journal's daemon runs is told by the lock
// it holds, not by its PID. A dead daemon's journal whose PID now belongs
// to another process (PID 1) is recovered; one whose daemon holds its lock
// is left alone even though no process has its PID (a PID namespace, say).
// Before, the first was skipped for ever and the second was replayed under
// a live daemon's feet.
func TestJournalPIDReuse(t *testing.T) {
	v := newJournalVolume(t)
	reused := v.deadJournal(t, 1, true, v.undoRecord())
	live := v.deadJournal(t, deadPID, true)
	lock, err := unix.Open(filepath.Join(live, journalLock), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lock)
	if err := unix.Flock(lock, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	v.tear(t)

	m, sink, mnt := v.mount(t)
	defer m.Unmount()
	v.checkRestored(t, mnt, sink)
	if _, err := os.Stat(reused); !os.IsNotExist(err) {
		t.Errorf("journal of the dead daemon whose PID was reused still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("journal of a live daemon (it holds the lock) was removed: %v", err)
	}
}

// TestJournalLiveRecord checks the records a mount writes itself, into its
// mapped record files, rather than records the test encodes: a record of a
// whole 100,000-byte file (larger than a new record file, so the file
// grows) is taken from a live mount's journal as a kill would leave it,
// the ciphertext is torn, and the next mount must put the file back.
func TestJournalLiveRecord(t *testing.T) {
	v := newJournalVolume(t)
	m, _, mnt := v.mount(t)
	plain := make([]byte, 100000)
	rand.Read(plain)
	if err := os.WriteFile(filepath.Join(mnt, "big"), plain, 0o644); err != nil {
		t.Fatal(err)
	}
	cfile := findCipherFile(t, v.cdir, int64(cipher.HeaderSize+24*4128+(100000-24*4096)+32))
	ct, err := os.ReadFile(cfile)
	if err != nil {
		t.Fatal(err)
	}
	ch := m.top.GetChild("big")
	if ch == nil {
		t.Fatal("no node for big after writing it")
	}
	n := ch.Operations().(*Node)
	f, errno := n.openFile(syscall.O_RDWR)
	if errno != 0 {
		t.Fatal(errno)
	}
	n.contentMu.Lock()
	_, err = f.state()
	var id []byte
	if err == nil {
		id, err = f.fileID()
	}
	if err == nil {
		err = f.journalBegin(cipher.HeaderSize, f.csize, id)
	}
	n.contentMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The record file as a kill now would leave it: the one that holds a
	// record (the writer's handle may not be released yet, and its record
	// file is another, emptied one).
	slots, err := filepath.Glob(filepath.Join(m.root.journal.dir, "slot-*"))
	if err != nil {
		t.Fatal(err)
	}
	var rec []byte
	for _, s := range slots {
		if b, err := os.ReadFile(s); err == nil && bytes.HasPrefix(b, journalMagic[:]) {
			if rec != nil {
				t.Fatalf("more than one live record in %v", slots)
			}
			rec = b
		}
	}
	if rec == nil {
		t.Fatalf("no live record in the journal's record files %v", slots)
	}
	if len(rec) <= slotMin {
		t.Fatalf("record file of %d bytes: it did not grow past %d for a %d-byte record", len(rec), slotMin, len(ct))
	}
	f.Release(context.Background())
	m.Unmount()
	v.deadJournal(t, deadPID, true, rec)

	torn := append([]byte(nil), ct...)
	for i := 50000; i < 60000; i++ {
		torn[i] ^= 0x5a
	}
	torn = append(torn, bytes.Repeat([]byte{7}, 5000)...)
	if err := os.WriteFile(cfile, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	m, sink, mnt := v.mount(t)
	defer m.Unmount()
	if got, err := os.ReadFile(filepath.Join(mnt, "big")); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("after recovery: %d bytes, %v; want the %d bytes written", len(got), err, len(plain))
	}
	if !strings.Contains(sink.String(), "undid the write in flight to "+cfile) {
		t.Fatalf("recovery not logged:\n%s", sink.String())
	}
}

// TestJournalPID: the PID in a journal directory's name, as this version
// names them (with a random part, so that two mounts of one process of the
// same CIPHERDIR do not share one) and as older versions did.
func TestJournalPID(t *testing.T) {
	prefix, own := journalDirFor("/run/veilfs", "/data/vault")
	if pid, ok := journalPID(prefix, own); !ok || pid != os.Getpid() {
		t.Errorf("journalPID(%s) = %d, %v; want %d", own, pid, ok, os.Getpid())
	}
	if _, again := journalDirFor("/run/veilfs", "/data/vault"); again == own {
		t.Errorf("two mounts got the same journal directory %s", own)
	}
	for d, want := range map[string]int{prefix + "-123": 123, prefix + "-77-abcdefgh": 77, prefix + "-x": -1, prefix + "x-1": -1} {
		pid, ok := journalPID(prefix, d)
		if (want < 0 && ok) || (want >= 0 && (!ok || pid != want)) {
			t.Errorf("journalPID(%s) = %d, %v; want %d", d, pid, ok, want)
		}
	}
}

// TestCipherPathHint: the path a journal record names for a file made by
// Create (given by Create itself, without working it out through the
// tree) is the file's ciphertext path.
func TestCipherPathHint(t *testing.T) {
	v := newJournalVolume(t)
	m, _, mnt := v.mount(t)
	defer m.Unmount()
	if err := os.MkdirAll(filepath.Join(mnt, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "a", "b", "new"), bytes.Repeat([]byte{1}, 12345), 0o644); err != nil {
		t.Fatal(err)
	}
	n := m.top.GetChild("a").GetChild("b").GetChild("new").Operations().(*Node)
	want, err := filepath.Rel(v.cdir, findCipherFile(t, v.cdir, int64(cipher.HeaderSize+3*4128+(12345-3*4096)+32)))
	if err != nil {
		t.Fatal(err)
	}
	if got := n.pathHint.Load(); got == nil || *got != want {
		t.Fatalf("path hint of a created file: %v, want %s", got, want)
	}
	if p, err := n.cipherPath(); err != nil || p != want {
		t.Fatalf("cipherPath: %q %v, want %s", p, err, want)
	}
}
