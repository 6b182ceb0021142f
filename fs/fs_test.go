//go:build linux

package fs

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/posixtest"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/mountstats"
	"github.com/veilfs/veilfs/internal/testenv"
)

var testPassword = []byte("test-password")

type testMount struct {
	cipherDir, mnt string
	log            *testenv.LogBuffer
	m              *Mount
	master         []byte // for a check of the volume after unmount
	// unmount unmounts (once; the test's cleanup calls it too), so that a
	// test can look at the volume unmounted.
	unmount func()
}

// newTestMount creates a volume with opts and mounts it in-process.
func newTestMount(t *testing.T, opts config.CreateOptions) *testMount {
	t.Helper()
	return newTestMountWith(t, opts, Options{})
}

// newTestMountWith is newTestMount with mount options; its Logger and
// JournalDir are the test's own.
func newTestMountWith(t *testing.T, opts config.CreateOptions, mopts Options) *testMount {
	t.Helper()
	testenv.NeedFUSE(t)
	tm := &testMount{cipherDir: filepath.Join(t.TempDir(), "cipher"), mnt: t.TempDir(), log: &testenv.LogBuffer{}}
	opts.LogN = 10
	master, err := cipherdir.Init(tm.cipherDir, testPassword, opts)
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	vol, err := cipherdir.OpenWithMasterKey(tm.cipherDir, master)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	mopts.Logger, mopts.JournalDir = log.New(tm.log, "", 0), t.TempDir()
	tm.m, err = MountVolume(tm.mnt, vol, mopts)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	tm.master = master
	done := make(chan struct{})
	go func() { tm.m.Wait(); close(done) }()
	tm.unmount = sync.OnceFunc(func() {
		if err := tm.m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		<-done
		vol.Wipe()
		if mounts, _ := os.ReadFile("/proc/self/mounts"); bytes.Contains(mounts, []byte(" "+tm.mnt+" ")) {
			t.Errorf("%s is still mounted after unmount", tm.mnt)
		}
	})
	t.Cleanup(tm.unmount)
	return tm
}

var volumeKinds = map[string]config.CreateOptions{
	"default":       {},
	"plaintext":     {PlaintextNames: true},
	"deterministic": {DeterministicNames: true},
	"aessiv":        {AESSIV: true},
	"xchacha":       {XChaCha: true},
	"longnamemax62": {LongNameMax: 62},
}

// loopbackOnly lists posixtest cases that encode go-fuse loopback
// behaviour rather than POSIX: FcntlFlockLocksFile expects two POSIX locks
// of one process to conflict, which they never do on a real filesystem
// (TestPlainDirLocks pins that, so the exclusion cannot hide a change).
var loopbackOnly = map[string]bool{"FcntlFlockLocksFile": true}

// ownVariant lists posixtest cases that run as veilfs's own version:
// OpenSymlinkRace tolerates ENOENT from an open racing a rename over its
// name but not ESTALE, which veilfs answers there instead of opening the
// other file (TestOpenSymlinkRace, fs/identity.go).
var ownVariant = map[string]bool{"OpenSymlinkRace": true}

// TestPlainDirLocks shows that a plain directory does not give the result
// FcntlFlockLocksFile wants, which is why TestPosix leaves it out.
func TestPlainDirLocks(t *testing.T) {
	var inner testing.T
	done := make(chan struct{})
	go func() { defer close(done); posixtest.FcntlFlockLocksFile(&inner, t.TempDir()) }()
	<-done
	if !inner.Failed() {
		t.Fatal("FcntlFlockLocksFile passes on a plain directory now; run it in TestPosix again")
	}
}

// TestPosix runs go-fuse's POSIX battery on every kind of volume.
func TestPosix(t *testing.T) {
	for kind, opts := range volumeKinds {
		t.Run(kind, func(t *testing.T) {
			for name, fn := range posixtest.All {
				if loopbackOnly[name] || ownVariant[name] {
					continue
				}
				t.Run(name, func(t *testing.T) {
					tm := newTestMount(t, opts)
					fn(t, tm.mnt)
				})
			}
		})
	}
}

// TestContentRoundTrip writes sizes around block boundaries, unaligned
// overwrites and sparse regions, and reads them back.
func TestContentRoundTrip(t *testing.T) {
	for kind, opts := range volumeKinds {
		t.Run(kind, func(t *testing.T) {
			tm := newTestMount(t, opts)
			for _, size := range []int{0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 300_000, 1<<20 + 17} {
				data := make([]byte, size)
				rand.Read(data)
				p := filepath.Join(tm.mnt, "f")
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(p)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("size %d: read back %d bytes, err %v", size, len(got), err)
				}
			}
			// Reads return decrypted bytes, never a file descriptor to
			// splice from: go-fuse must not try splicing them (it costs
			// syscalls per read and, for 1 MiB reads, a log line each).
			if strings.Contains(tm.log.String(), "splice") {
				t.Errorf("mount log mentions splice:\n%s", tm.log.String())
			}
		})
	}
}

// TestOverwriteModel checks unaligned writes, holes and truncates against
// an in-memory model.
func TestOverwriteModel(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	p := filepath.Join(tm.mnt, "model")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var model []byte
	writeAt := func(off int, n int) {
		buf := make([]byte, n)
		rand.Read(buf)
		if _, err := f.WriteAt(buf, int64(off)); err != nil {
			t.Fatal(err)
		}
		if end := off + n; end > len(model) {
			model = append(model, make([]byte, end-len(model))...)
		}
		copy(model[off:], buf)
	}
	truncate := func(n int) {
		if err := f.Truncate(int64(n)); err != nil {
			t.Fatal(err)
		}
		if n > len(model) {
			model = append(model, make([]byte, n-len(model))...)
		}
		model = model[:n]
	}
	check := func(step string) {
		t.Helper()
		got := make([]byte, len(model)+100)
		n, err := f.ReadAt(got, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("%s: read: %v", step, err)
		}
		if !bytes.Equal(got[:n], model) {
			t.Fatalf("%s: content differs (got %d bytes, want %d)", step, n, len(model))
		}
		st, err := os.Stat(p)
		if err != nil || st.Size() != int64(len(model)) {
			t.Fatalf("%s: size %v, want %d (%v)", step, st.Size(), len(model), err)
		}
	}
	writeAt(100, 10)
	check("small write at 100")
	writeAt(4000, 200)
	check("write across block 0/1")
	writeAt(50_000, 3)
	check("write past EOF leaves a hole")
	truncate(20_000)
	check("shrink into a hole")
	truncate(4096)
	check("shrink to block boundary")
	truncate(9000)
	check("grow")
	writeAt(8190, 4099)
	check("write spanning 3 blocks")
	truncate(1)
	check("shrink to 1")
	truncate(0)
	check("truncate to 0")
	writeAt(12288, 1)
	check("write into empty file past EOF")
}

// TestTamperedBlock: a flipped byte gives EIO for that block only, and a
// log line names the ciphertext file.
func TestTamperedBlock(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	data := make([]byte, 3*4096)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(tm.mnt, "victim"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tm.mnt, "bystander"), []byte("fine"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfile := findCipherFile(t, tm.cipherDir, int64(18+3*4128))
	raw, err := os.ReadFile(cfile)
	if err != nil {
		t.Fatal(err)
	}
	raw[18+4128+100] ^= 1 // inside block 1
	if err := os.WriteFile(cfile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(tm.mnt, "victim"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// O_DIRECT is not needed: the page cache was dropped by the new open
	// (no keep_cache), so this reads from the daemon.
	buf := make([]byte, 4096)
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, data[:4096]) {
		t.Fatalf("block 0 should still read: %v", err)
	}
	if _, err := f.ReadAt(buf, 4096); err == nil {
		t.Fatal("block 1 read succeeded on tampered ciphertext")
	}
	if got, err := os.ReadFile(filepath.Join(tm.mnt, "bystander")); err != nil || string(got) != "fine" {
		t.Fatalf("other file damaged: %q %v", got, err)
	}
	if !strings.Contains(tm.log.String(), cfile) {
		t.Fatalf("log does not name %s:\n%s", cfile, tm.log.String())
	}
}

// findCipherFile returns the one ciphertext file of the given size.
func findCipherFile(t *testing.T, dir string, size int64) string {
	t.Helper()
	var found []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() == size {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("want one ciphertext file of %d bytes, found %v", size, found)
	}
	return found[0]
}

// TestUndecryptableNameSkipped: a planted name is hidden and logged, the
// rest of the listing is intact.
func TestUndecryptableNameSkipped(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	if err := os.WriteFile(filepath.Join(tm.mnt, "good"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(tm.cipherDir, "AAAAAAAAAAAAAAAAAAAAAA")
	if err := os.WriteFile(planted, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(tm.mnt) // leaves out . and ..
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "good" {
		t.Fatalf("listing %v, want [good]", entries)
	}
	if !strings.Contains(tm.log.String(), planted) {
		t.Fatalf("log does not name %s:\n%s", planted, tm.log.String())
	}
	// Listed again and again, it is logged once.
	for range 3 {
		if _, err := os.ReadDir(tm.mnt); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(tm.log.String(), planted); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, tm.log.String())
	}
}

func nlink(st os.FileInfo) uint64 {
	if st == nil {
		return 0
	}
	return st.Sys().(*syscall.Stat_t).Nlink
}

// TestStats: the counters that veilfs status and --idle read follow what
// happens in the mount.
func TestStats(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	// Release is asynchronous: a close(2) returns before the daemon
	// hears of it. Poll for the count the test expects.
	openFiles := func(want int64) mountstats.Stats {
		var s mountstats.Stats
		for range 200 {
			if s = tm.m.Stats(); s.OpenFiles == want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return s
	}
	s0 := tm.m.Stats()
	p := filepath.Join(tm.mnt, "f")
	if err := os.WriteFile(p, make([]byte, 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4000)
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatal(err)
	}
	s1 := openFiles(1) // the writer's handle may still be on its way out
	f.Close()
	s2 := openFiles(0)
	switch {
	case s1.Requests <= s0.Requests:
		t.Errorf("requests did not grow: %d -> %d", s0.Requests, s1.Requests)
	case s1.OpenFiles != 1:
		t.Errorf("open files with one file open: %d", s1.OpenFiles)
	case s2.OpenFiles != 0:
		t.Errorf("open files after close: %d", s2.OpenFiles)
	case s1.BytesWritten-s0.BytesWritten != 10000:
		t.Errorf("bytes written %d, want 10000", s1.BytesWritten-s0.BytesWritten)
	case s1.BytesRead-s0.BytesRead < 4000:
		t.Errorf("bytes read %d, want >= 4000", s1.BytesRead-s0.BytesRead)
	case s1.Started.IsZero():
		t.Error("no start time")
	}
}
