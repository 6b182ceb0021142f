//go:build linux

package faults_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
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

// TestRotateResumeRefusals interrupts `veilfs rotate` with SIGKILL once the
// volume is flagged as rotating, then checks what a resume refuses, through
// the command: options that would change the rotation, a password the
// rotation does not open with, and a journal someone without the key
// changed. Each refusal says why and leaves CIPHERDIR as it was; the
// untouched journal then resumes and finishes.
func TestRotateResumeRefusals(t *testing.T) {
	harness.RequireFUSE(t)
	cdir, mnt := t.TempDir(), t.TempDir()
	harness.InitVolume(t, cdir, harness.DefaultPassword)
	harness.MountVolume(t, cdir, mnt, harness.DefaultPassword)
	want := populateRotateTree(t, mnt, 1000)
	harness.Unmount(t, mnt)
	pf := harness.Passfile(t, harness.DefaultPassword)
	journal := filepath.Join(cdir, "gocryptfs.rotation")

	interruptRotation(t, cdir, pf)

	before := cipherdirState(t, cdir)
	refused := func(wantCode int, wantMsg string, args ...string) {
		t.Helper()
		res := harness.Run(t, "", append([]string{"rotate", "--quiet"}, append(args, cdir)...)...)
		t.Logf("rotate %q: exit %d\n%s", args, res.Code, res.Stderr)
		if res.Code != wantCode || !strings.Contains(res.Stderr, wantMsg) {
			t.Errorf("rotate %q: got %v, want exit %d and %q", args, res, wantCode, wantMsg)
		}
		if after := cipherdirState(t, cdir); after != before {
			t.Errorf("rotate %q changed CIPHERDIR", args)
		}
	}
	refused(1, "finishes with the password and format it was started with", "--passfile", pf, "--new-passfile", harness.Passfile(t, "another password"))
	refused(1, "finishes with the password and format it was started with", "--passfile", pf, "--xchacha")
	refused(12, "an interrupted rotation opens with the password it sets", "--passfile", harness.Passfile(t, "not the password"))

	// Someone without the key adds a directory to the times record: the
	// JSON stays valid, its MAC does not.
	orig, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(orig, []byte("\n"))
	if len(lines) < 2 || !bytes.Contains(lines[1], []byte(`"Dirs":{"`)) {
		t.Fatalf("journal line 2 is not the times record: %.200s", lines[1])
	}
	lines[1] = bytes.Replace(lines[1], []byte(`"Dirs":{"`), []byte(`"Dirs":{"1":[0,0,0,0],"`), 1)
	if err := os.WriteFile(journal, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	before = cipherdirState(t, cdir)
	refused(23, "line 2 does not authenticate", "--passfile", pf)
	refused(23, "nothing was changed", "--passfile", pf)

	if err := os.WriteFile(journal, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := harness.Run(t, "", "rotate", "--quiet", "--passfile", pf, cdir); res.Code != 0 {
		t.Fatalf("resume with the journal restored: %v", res)
	}
	checkRotateTree(t, cdir, mnt, want)
}

// interruptRotation starts `veilfs rotate` and kills it with SIGKILL as soon
// as gocryptfs.conf says a rotation is in progress, retrying (each try is a
// whole rotation) when it finished first.
func interruptRotation(t *testing.T, cdir, pf string) {
	t.Helper()
	conf := filepath.Join(cdir, "gocryptfs.conf")
	for try := range 5 {
		c := exec.Command(harness.Binary(t), "rotate", "--quiet", "--passfile", pf, cdir)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		for flagged := false; !flagged; {
			select {
			case <-done:
				t.Logf("try %d: the rotation finished before it could be killed", try)
				flagged = true
				continue
			case <-time.After(time.Millisecond):
			}
			if data, err := os.ReadFile(conf); err == nil && bytes.Contains(data, []byte("VeilfsRotationInProgress")) {
				_ = c.Process.Signal(syscall.SIGKILL)
				<-done
				return
			}
		}
	}
	t.Fatal("no rotation could be interrupted in 5 tries")
}

// cipherdirState describes every object in CIPHERDIR (type, mode, size,
// mtime, content; not atime, which reading changes for symlinks) as one
// string.
func cipherdirState(t *testing.T, cdir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(cdir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %o %d %d.%d", strings.TrimPrefix(p, cdir), st.Mode, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOATIME|unix.O_NOFOLLOW, 0)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", h.Sum(nil))
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			b.WriteString(" -> " + target)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
