package fs

import (
	"bytes"
	"crypto/rand"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// deadPID is a process ID no process has (above the kernel's pid_max).
const deadPID = 1 << 30

// TestJournalUndo plays a daemon killed in the middle of a write: its
// journal record holds the old bytes of block 0 and the old size, the
// ciphertext has a torn block 0 and a longer tail. Mounting again must put
// the file back as it was, and log that it did. A record that a kill cut
// short (bad checksum) must be ignored.
func TestJournalUndo(t *testing.T) {
	requireFUSE(t)
	cdir := filepath.Join(t.TempDir(), "cipher")
	master, err := cipherdir.Init(cdir, testPassword, config.CreateOptions{LogN: cipher.MinScryptLogN})
	if err != nil {
		t.Fatal(err)
	}
	jdir := t.TempDir()
	mount := func() (*Mount, *logSink, string) {
		vol, err := cipherdir.OpenWithMasterKey(cdir, master)
		if err != nil {
			t.Fatal(err)
		}
		sink, mnt := &logSink{}, t.TempDir()
		m, err := MountVolume(mnt, vol, Options{Logger: log.New(sink, "", 0), JournalDir: jdir})
		if err != nil {
			t.Fatal(err)
		}
		go m.Wait()
		return m, sink, mnt
	}

	m, _, mnt := mount()
	old := make([]byte, 6000)
	rand.Read(old)
	if err := os.WriteFile(filepath.Join(mnt, "victim"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "bystander"), []byte("fine"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.Unmount()

	cfile := findCipherFile(t, cdir, int64(18+4128+(6000-4096)+32))
	cpath, _ := filepath.Rel(cdir, cfile)
	ct, err := os.ReadFile(cfile)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(cfile, &st); err != nil {
		t.Fatal(err)
	}
	// The dead daemon's record: the old bytes of [18, 18+4128) and the old
	// size. Then the torn state it left: block 0 half new, a longer tail.
	rec := make([]byte, journalHeader+len(cpath)+4128)
	copy(rec[journalHeader+len(cpath):], ct[18:18+4128])
	encodeRecord(rec, st.Ino, int64(len(ct)), 18, cpath)
	prefix, _ := journalDirFor(jdir, cdir)
	dead := prefix + "-" + strconv.Itoa(deadPID)
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, "1"), rec, 0o600); err != nil {
		t.Fatal(err)
	}
	cut := append([]byte(nil), rec[:len(rec)-1]...) // a record cut short
	if err := os.WriteFile(filepath.Join(dead, "2"), cut, 0o600); err != nil {
		t.Fatal(err)
	}
	torn := append([]byte(nil), ct...)
	for i := 18 + 2000; i < 18+4128; i++ {
		torn[i] ^= 0x5a
	}
	torn = append(torn, bytes.Repeat([]byte{7}, 3000)...)
	if err := os.WriteFile(cfile, torn, 0o644); err != nil {
		t.Fatal(err)
	}

	m, sink, mnt := mount()
	defer m.Unmount()
	got, err := os.ReadFile(filepath.Join(mnt, "victim"))
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("after recovery: %d bytes, %v; want the old %d bytes", len(got), err, len(old))
	}
	if !strings.Contains(sink.String(), "undid the write in flight to "+cfile) {
		t.Fatalf("recovery not logged:\n%s", sink.String())
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("dead daemon's journal still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "bystander")); err != nil || string(b) != "fine" {
		t.Fatalf("bystander: %q %v", b, err)
	}
}
