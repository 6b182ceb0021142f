//go:build linux

package faults_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestRotateKill9 kills `veilfs rotate` with SIGKILL at random instants of
// a rotation of a few thousand files (and now and then its resumed run
// too), runs it again to the end, and then checks every file, symlink, hard
// link and xattr through a mount, every time. A rotation leaves no
// temporary file, no journal and no flag behind.
//
// With VEILFS_TEST_ROTATE_NO_JOURNAL=1 in the environment, rotate keeps its
// journal in memory only, and this test must fail: that is how we know it
// would notice a rotation that is not crash-safe.
func TestRotateKill9(t *testing.T) {
	harness.RequireFUSE(t)
	kills := envInt("VEILFS_ROTATE_KILLS", 6)
	files := envInt("VEILFS_ROTATE_FILES", 1000)
	cdir, mnt := t.TempDir(), t.TempDir()
	harness.InitVolume(t, cdir, harness.DefaultPassword)
	harness.MountVolume(t, cdir, mnt, harness.DefaultPassword)
	want := populateRotateTree(t, mnt, files)
	harness.Unmount(t, mnt)

	pf := harness.Passfile(t, harness.DefaultPassword)
	bin := harness.Binary(t)
	rotate := func() *exec.Cmd {
		c := exec.Command(bin, "rotate", "--passfile", pf, "--quiet", cdir)
		c.Env = os.Environ()
		return c
	}
	start := time.Now()
	if out, err := rotate().CombinedOutput(); err != nil {
		t.Fatalf("first rotation: %v\n%s", err, out)
	}
	full := time.Since(start)
	checkRotateTree(t, cdir, mnt, want)

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	midway := 0
	for i := range kills {
		victims := 1 + r.IntN(2) // sometimes kill the resumed run as well
		for range victims {
			c := rotate()
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(r.Int64N(int64(full))))
			_ = c.Process.Signal(syscall.SIGKILL)
			_ = c.Wait()
			if _, err := os.Stat(filepath.Join(cdir, "gocryptfs.rotation")); err == nil {
				midway++
			}
		}
		// A half-rotated volume refuses to mount, with exit code 40.
		if _, err := os.Stat(filepath.Join(cdir, "gocryptfs.rotation")); err == nil {
			res := harness.Run(t, "", "mount", "--passfile", pf, cdir, mnt)
			if res.Code != 40 || !strings.Contains(res.Stderr, "veilfs rotate") {
				t.Fatalf("mount of a half-rotated volume: %v", res)
			}
		}
		out, err := rotate().CombinedOutput()
		if err != nil {
			t.Fatalf("round %d: resumed rotation failed: %v\n%s", i, err, out)
		}
		checkRotateTree(t, cdir, mnt, want)
		if t.Failed() {
			t.Fatalf("round %d failed", i)
		}
	}
	t.Logf("%d kill rounds, %d kills landed mid-rotation (full rotation %.2fs, %d files)", kills, midway, full.Seconds(), files)
	if midway == 0 {
		t.Error("no kill landed in the middle of a rotation: the test exercised nothing")
	}
}

// populateRotateTree writes n files in nested directories, with long names,
// hard links, symlinks, xattrs, empty and sparse files, and returns what
// checkRotateTree must find.
func populateRotateTree(t *testing.T, mnt string, n int) map[string]string {
	want := map[string]string{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		dir := fmt.Sprintf("d%02d/e%d", i%37, i%5)
		name := fmt.Sprintf("f%05d", i)
		if i%53 == 0 {
			name += "-" + strings.Repeat("long", 50)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(mnt, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		size := r.IntN(20_000)
		switch {
		case i%97 == 0:
			size = 0
		case i%211 == 0:
			size = 3 << 20
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		if err := os.WriteFile(filepath.Join(mnt, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want[p] = "file " + sha(data)
		switch {
		case i%101 == 0:
			l := filepath.Join(fmt.Sprintf("d%02d", (i+1)%37), name+".hardlink")
			if err := os.MkdirAll(filepath.Join(mnt, filepath.Dir(l)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(mnt, p), filepath.Join(mnt, l)); err != nil {
				t.Fatal(err)
			}
			want[l] = want[p]
		case i%103 == 0:
			l := filepath.Join(dir, name+".symlink")
			if err := os.Symlink(p, filepath.Join(mnt, l)); err != nil {
				t.Fatal(err)
			}
			want[l] = "symlink " + p
		case i%107 == 0:
			if err := unix.Setxattr(filepath.Join(mnt, p), "user.k", []byte(p), 0); err != nil {
				t.Fatal(err)
			}
			want[p] += " xattr " + p
		}
	}
	return want
}

func checkRotateTree(t *testing.T, cdir, mnt string, want map[string]string) {
	t.Helper()
	for _, leftover := range []string{"gocryptfs.rotation", "gocryptfs.conf.tmp"} {
		if _, err := os.Stat(filepath.Join(cdir, leftover)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind after the rotation", leftover)
		}
	}
	if err := filepath.Walk(cdir, func(p string, _ os.FileInfo, err error) error {
		if strings.HasPrefix(filepath.Base(p), "gocryptfs.rotate.") {
			t.Errorf("temporary %s left behind", p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	harness.MountVolume(t, cdir, mnt, harness.DefaultPassword)
	defer harness.Unmount(t, mnt)
	got := map[string]string{}
	err := filepath.Walk(mnt, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			got[rel] = "symlink " + target
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		got[rel] = "file " + sha(data)
		buf := make([]byte, 1024)
		if n, err := unix.Getxattr(p, "user.k", buf); err == nil {
			got[rel] += " xattr " + string(buf[:n])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for p, w := range want {
		if got[p] != w {
			if bad++; bad <= 10 {
				t.Errorf("%s: got %q, want %q", p, got[p], w)
			}
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			if bad++; bad <= 10 {
				t.Errorf("%s: unexpected entry", p)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d entries wrong", bad, len(want))
	}
}
