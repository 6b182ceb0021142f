//go:build linux

package faults_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

// smallFS mounts a ~20 MiB file system of the given kind ("tmpfs" or
// "ext4", the latter on a loop device) and returns its root.
func smallFS(t *testing.T, kind string) string {
	t.Helper()
	testenv.NeedRoot(t, "mounts a small file system")
	dir := t.TempDir()
	switch kind {
	case "tmpfs":
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=20m,mode=0755"); err != nil {
			testenv.Missing(t, fmt.Sprintf("mount tmpfs: %v", err))
		}
	case "ext4":
		img := filepath.Join(t.TempDir(), "small.img")
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 20<<20); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", img).CombinedOutput(); err != nil {
			testenv.Missing(t, fmt.Sprintf("mkfs.ext4 (Debian package e2fsprogs): %v: %s", err, out))
		}
		if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
			testenv.Missing(t, fmt.Sprintf("mount -o loop: %v: %s", err, out))
		}
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fillUntilError appends chunks of size chunk to path until a write fails
// and returns the acknowledged content and the error.
func fillUntilError(t *testing.T, mnt, path string, chunk int, r *rand.Rand) ([]byte, error) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var acked []byte
	for i := 0; i < 1<<20; i++ {
		b := randBytes(r, chunk)
		var n int
		err := timed(mnt, func() (err error) { n, err = f.Write(b); return })
		acked = append(acked, b[:n]...)
		if err != nil {
			return acked, err
		}
	}
	t.Fatalf("%s: no error after writing %d bytes to a 20 MiB file system", path, len(acked))
	return nil, nil
}

// TestFullDisk fills CIPHERDIR's file system through the mount: writes
// must fail with ENOSPC (not EIO, not silently), files stored before stay
// intact, the file being written reads back up to what was acknowledged,
// init and passwd fail cleanly, and after freeing space everything works.
func TestFullDisk(t *testing.T) {
	harness.RequireFUSE(t)
	for _, kind := range []string{"tmpfs", "ext4"} {
		t.Run(kind, func(t *testing.T) { testFullDisk(t, kind) })
	}
}

func testFullDisk(t *testing.T, kind string) {
	base := smallFS(t, kind)
	cdir, mnt := filepath.Join(base, "cipher"), t.TempDir()
	harness.InitVolume(t, cdir, harness.DefaultPassword)
	conf, _ := os.ReadFile(filepath.Join(cdir, "gocryptfs.conf"))
	m := harness.MustForeground(t, cdir, mnt, harness.DefaultPassword)
	r := rand.New(rand.NewPCG(7, 7))

	// Stored before the disk fills. 8110 bytes make a ciphertext file of
	// exactly 8192 bytes whose partial last block ends on a page boundary.
	pre := map[string][]byte{}
	if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"pre-8110": 8110, "pre-4095": 4095, "pre-1": 1, "pre-100000": 100000, "d/pre-50000": 50000, "pre-unaligned": 5000} {
		b := randBytes(r, size)
		writeSync(t, filepath.Join(mnt, name), b)
		pre[name] = b
	}
	damaged := map[string]bool{} // reported once, not again after every step
	checkPre := func(when string) {
		t.Helper()
		for name, want := range pre {
			if damaged[name] {
				continue
			}
			var got []byte
			err := timed(mnt, func() (err error) { got, err = os.ReadFile(filepath.Join(mnt, name)); return })
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: pre-existing %s damaged: %v (read %d bytes, sha %.12s; want %d bytes, sha %.12s)",
					when, name, err, len(got), sha(got), len(want), sha(want))
				damaged[name] = true
			}
		}
	}

	// Fill with aligned 64 KiB writes, then 4 KiB writes into what is left.
	acked, err := fillUntilError(t, mnt, filepath.Join(mnt, "filler"), 64<<10, r)
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("filling with 64 KiB writes ended with %v, want ENOSPC", err)
	}
	acked2, err := fillUntilError(t, mnt, filepath.Join(mnt, "filler2"), 4096, r)
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("filling with 4 KiB writes ended with %v, want ENOSPC", err)
	}
	t.Logf("%s: full after %d + %d acknowledged bytes", kind, len(acked), len(acked2))
	for name, want := range map[string][]byte{"filler": acked, "filler2": acked2} {
		got := readPrefix(t, mnt, filepath.Join(mnt, name), len(want))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the acknowledged %d bytes do not read back (got %d matching bytes)", name, len(want), commonPrefix(got, want))
		}
		// What was not acknowledged must not leave an unreadable tail: a
		// copy of the file would fail with EIO at its end.
		fi, _ := os.Stat(filepath.Join(mnt, name))
		if fi != nil && fi.Size() != int64(len(want)) {
			_, err := os.ReadFile(filepath.Join(mnt, name))
			t.Errorf("%s: %d bytes after ENOSPC, %d acknowledged; reading it whole: %v", name, fi.Size(), len(want), err)
		}
	}

	// Unaligned appends to a file stored before: the failed write must
	// leave its existing last block alone.
	for _, name := range []string{"pre-8110", "pre-unaligned"} {
		f, err := os.OpenFile(filepath.Join(mnt, name), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for i := 0; i < 64 && werr == nil; i++ { // until the file system says no
			var n int
			b := randBytes(r, 1000)
			werr = timed(mnt, func() (err error) { n, err = f.Write(b); return })
			// A short write is acknowledged up to n even when it fails:
			// the kernel splits a write at page boundaries, and the part
			// before the disk filled up is stored.
			pre[name] = append(pre[name], b[:n]...)
		}
		f.Close()
		if !errors.Is(werr, unix.ENOSPC) {
			t.Errorf("append to %s on a full disk: %v, want ENOSPC", name, werr)
		}
	}
	checkPre("after ENOSPC")

	// Metadata on the full disk: mkdir fails with ENOSPC and leaves nothing.
	if err := timed(mnt, func() error { return os.Mkdir(filepath.Join(mnt, "newdir"), 0o755) }); err == nil {
		t.Logf("mkdir on the full disk succeeded")
	} else if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("mkdir on a full disk: %v, want ENOSPC", err)
	} else if _, err := os.Lstat(filepath.Join(mnt, "newdir")); err == nil {
		t.Errorf("mkdir failed with ENOSPC but newdir exists")
	}

	// init and passwd on the full disk fail cleanly.
	res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", harness.Passfile(t, "pw"), filepath.Join(base, "newvol"))
	if res.Code == 0 {
		t.Logf("init on the full disk succeeded")
	} else {
		for _, f := range []string{"gocryptfs.conf", "gocryptfs.conf.tmp"} {
			if _, err := os.Lstat(filepath.Join(base, "newvol", f)); err == nil {
				t.Errorf("init failed on a full disk (%s) but left %s behind", strings.TrimSpace(res.Stderr), f)
			}
		}
		if strings.Contains(res.Stderr, "panic") || !strings.Contains(strings.ToLower(res.Stderr), "no space") {
			t.Errorf("init on a full disk: %v\nwant a message saying there is no space", res)
		}
	}
	res = harness.Run(t, "", "passwd", "--scryptn", "10", "--passfile", harness.Passfile(t, harness.DefaultPassword),
		"--new-passfile", harness.Passfile(t, "new-password"), cdir)
	got, _ := os.ReadFile(filepath.Join(cdir, "gocryptfs.conf"))
	if res.Code == 0 {
		t.Logf("passwd on the full disk succeeded")
		t.Fatalf("cannot go on: the password changed")
	} else {
		if !bytes.Equal(got, conf) {
			t.Errorf("passwd failed on a full disk but changed gocryptfs.conf")
		}
		if _, err := os.Lstat(filepath.Join(cdir, "gocryptfs.conf.tmp")); err == nil {
			t.Errorf("passwd failed on a full disk but left gocryptfs.conf.tmp")
		}
		if !strings.Contains(strings.ToLower(res.Stderr), "no space") {
			t.Errorf("passwd on a full disk: %v\nwant a message saying there is no space", res)
		}
		t.Logf("passwd on the full disk: exit %d: %s", res.Code, strings.TrimSpace(res.Stderr))
	}

	// Free space: everything works again.
	for _, name := range []string{"filler", "filler2"} {
		if err := os.Remove(filepath.Join(mnt, name)); err != nil {
			t.Fatal(err)
		}
	}
	big := randBytes(r, 1<<20)
	if err := os.MkdirAll(filepath.Join(mnt, "after", "sub"), 0o755); err != nil {
		t.Fatalf("mkdir after freeing space: %v", err)
	}
	writeSync(t, filepath.Join(mnt, "after", "sub", "big"), big)
	if got, err := os.ReadFile(filepath.Join(mnt, "after", "sub", "big")); err != nil || !bytes.Equal(got, big) {
		t.Errorf("write/read after freeing space: %v", err)
	}
	checkPre("after freeing space")
	m.Stop()
	if got, _ := os.ReadFile(filepath.Join(cdir, "gocryptfs.conf")); !bytes.Equal(got, conf) {
		t.Errorf("gocryptfs.conf changed")
	}
	m = harness.MustForeground(t, cdir, mnt, harness.DefaultPassword)
	checkPre("after remount")
	if log := m.Log(); strings.Contains(log, "panic") {
		t.Errorf("daemon log:\n%s", log)
	}
}

// readPrefix reads the first n bytes of path block by block, stopping at
// the first error, and returns what it read.
func readPrefix(t *testing.T, mnt, path string, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("open %s: %v", path, err)
		return nil
	}
	defer f.Close()
	out := make([]byte, 0, n)
	for off := 0; off < n; off += blockSize {
		buf := make([]byte, min(blockSize, n-off))
		var k int
		err := timed(mnt, func() (err error) { k, err = f.ReadAt(buf, int64(off)); return })
		out = append(out, buf[:k]...)
		if err != nil {
			t.Errorf("%s: reading acknowledged block at %d: %v", filepath.Base(path), off, err)
			break
		}
	}
	return out
}

func commonPrefix(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
