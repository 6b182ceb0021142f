//go:build linux

package fs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// Requests the kernel sends us and need not (issue #17), counted from
// go-fuse's debug log: with MountOptions.Debug every request is logged as
// "rx <unique>: <OPCODE> n<node> ..." (the format fuse.MountOptions.Debug
// documents), before it is served.

// newCountingMount is newTestMount with every request logged.
func newCountingMount(t *testing.T, opts config.CreateOptions) *testMount {
	t.Helper()
	return newTestMountWith(t, opts, Options{Debug: true})
}

// requests returns the lines of the requests logged since mark (see
// mark) whose opcode matches op, a regular expression, and whose line
// contains every string of with.
func (tm *testMount) requests(mark int, op string, with ...string) []string {
	re := regexp.MustCompile(`^rx \d+: ` + op + ` `)
	var out []string
	for _, line := range strings.Split(tm.log.String()[mark:], "\n") {
		if re.MatchString(line) && !slices.ContainsFunc(with, func(s string) bool { return !strings.Contains(line, s) }) {
			out = append(out, line)
		}
	}
	return out
}

// mark is the log's length now, for requests.
func (tm *testMount) mark() int { return len(tm.log.String()) }

// TestNoFlushOnClose: close(2) of a regular file costs no FLUSH request,
// whichever way it was opened (FOPEN_NOFLUSH, node_open.go). Before, every
// close sent one, which File.Flush answered doing nothing.
func TestNoFlushOnClose(t *testing.T) {
	tm := newCountingMount(t, config.CreateOptions{})
	p := filepath.Join(tm.mnt, "f")
	opens := []struct {
		what  string
		path  string
		flags int
	}{
		{"create", p, unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY},
		{"open for reading", p, unix.O_RDONLY},
		{"open for writing", p, unix.O_WRONLY},
		{"open read-write", p, unix.O_RDWR},
		{"open with O_TRUNC", p, unix.O_WRONLY | unix.O_TRUNC},
		{"O_TMPFILE", tm.mnt, unix.O_TMPFILE | unix.O_RDWR},
	}
	for _, o := range opens {
		mark := tm.mark()
		fd, err := unix.Open(o.path, o.flags|unix.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatalf("%s: %v", o.what, err)
		}
		if o.flags&unix.O_ACCMODE != unix.O_RDONLY {
			if _, err := unix.Write(fd, []byte("data")); err != nil {
				t.Fatalf("%s: write: %v", o.what, err)
			}
		} else if _, err := unix.Read(fd, make([]byte, 16)); err != nil {
			t.Fatalf("%s: read: %v", o.what, err)
		}
		// A second descriptor of the same open file: its close is a
		// FLUSH too without FOPEN_NOFLUSH.
		dup, err := unix.Dup(fd)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Close(dup); err != nil {
			t.Fatalf("%s: close of a dup: %v", o.what, err)
		}
		if err := unix.Close(fd); err != nil {
			t.Fatalf("%s: close: %v", o.what, err)
		}
		// close(2) waits for a FLUSH's answer, so any is logged by now.
		if got := tm.requests(mark, "FLUSH"); len(got) != 0 {
			t.Errorf("%s: close sent %d FLUSH requests, want none:\n%s", o.what, len(got), strings.Join(got, "\n"))
		}
		if len(tm.requests(mark, "(OPEN|CREATE|TMPFILE)")) == 0 {
			t.Errorf("%s: no OPEN, CREATE or TMPFILE request logged: is the debug log still as expected?\n%s",
				o.what, tm.log.String()[mark:])
		}
	}
	if got, err := os.ReadFile(p); err != nil || string(got) != "data" {
		t.Errorf("f after the closes: %q %v, want \"data\"", got, err)
	}
}
