//go:build linux

package hostile_test

// FIFOs planted where veilfs opens a file of its own by a fixed name in
// CIPHERDIR (SECURITY.md, issue 14 finding 9). Whoever can write the synced
// folder can put a FIFO there; opening one waits for a writer, and reading
// one opened read-write waits for ever. Every command must instead fail at
// once, say what is wrong, and exit non-zero.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// fifoBound is how long a command may take to refuse a FIFO: far above
// what it needs (a few milliseconds after scrypt with --scryptn 10), far
// below a hang.
const fifoBound = 5 * time.Second

// runBounded runs veilfs with args, killing it after fifoBound (plus
// slack for a loaded machine), and returns its exit code (-1 if killed),
// its output (stdout, where fsck reports, and stderr) and how long it ran.
func runBounded(t *testing.T, args ...string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*fifoBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("veilfs %q: %v", args, err)
	}
	return code, out.String(), took
}

// TestFIFOInCipherdir: a FIFO as gocryptfs.conf or gocryptfs.rotation
// makes no command hang: each fails within fifoBound, non-zero, naming the
// file and saying it is not a regular file.
func TestFIFOInCipherdir(t *testing.T) {
	pf := harness.Passfile(t, pw)
	for _, tt := range []struct {
		name string // the file replaced by a FIFO
		cmds [][]string
	}{
		{"gocryptfs.conf", [][]string{
			{"info", "CIPHERDIR"},
			{"mount", "--passfile", pf, "CIPHERDIR", "MNT"},
			{"mount", "-f", "--passfile", pf, "CIPHERDIR", "MNT"},
			{"passwd", "--passfile", pf, "--new-passfile", pf, "CIPHERDIR"},
			{"rotate", "--passfile", pf, "CIPHERDIR"},
			{"fsck", "--passfile", pf, "CIPHERDIR"},
		}},
		{"gocryptfs.rotation", [][]string{
			{"rotate", "--passfile", pf, "CIPHERDIR"},
		}},
	} {
		for _, args := range tt.cmds {
			t.Run(tt.name+"/"+strings.Join(args[:2], " "), func(t *testing.T) {
				cdir, mnt := filepath.Join(t.TempDir(), "cipher"), t.TempDir()
				harness.InitVolume(t, cdir, pw)
				fifo := filepath.Join(cdir, tt.name)
				if err := os.Remove(fifo); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				if err := unix.Mkfifo(fifo, 0o644); err != nil {
					t.Fatal(err)
				}
				args := append([]string(nil), args...)
				for i, a := range args {
					args[i] = strings.NewReplacer("CIPHERDIR", cdir, "MNT", mnt).Replace(a)
				}
				code, stderr, took := runBounded(t, args...)
				if _, ok := harness.FindMount(mnt); ok {
					harness.Detach(mnt)
					t.Errorf("%s is mounted", mnt)
				}
				if took > fifoBound || code <= 0 {
					t.Fatalf("veilfs %s with a FIFO as %s: exit %d after %v (want a failure within %v)\n%s",
						args[0], tt.name, code, took.Round(time.Millisecond), fifoBound, stderr)
				}
				if !strings.Contains(stderr, tt.name) || !strings.Contains(stderr, "not a regular file") {
					t.Errorf("veilfs %s: message does not name %s as not a regular file:\n%s", args[0], tt.name, stderr)
				}
			})
		}
	}
}
