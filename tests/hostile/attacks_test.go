//go:build linux

package hostile_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/nametransform"
	"github.com/veilfs/veilfs/tests/harness"
)

// vol is one row's volume: a fresh copy of the template, and the outside
// directory an attacker would like veilfs to reach.
type vol struct {
	t       *testing.T
	tp      *template
	dir     string // CIPHERDIR
	outside string
	mnt     string
}

func (v *vol) c(plain string) string    { return filepath.Join(v.dir, v.tp.cipher[plain]) }
func (v *vol) side(plain string) string { return v.c(plain) + ".name" }

func (v *vol) must(err error) {
	v.t.Helper()
	if err != nil {
		v.t.Fatal(err)
	}
}
func (v *vol) read(p string) []byte {
	b, err := os.ReadFile(p)
	v.must(err)
	return b
}
func (v *vol) write(p string, b []byte) { v.must(os.WriteFile(p, b, 0o644)) }
func (v *vol) replace(p string, b []byte) {
	v.must(os.RemoveAll(p))
	v.write(p, b)
}
func (v *vol) truncate(p string, n int64) { v.must(os.Truncate(p, n)) }
func (v *vol) flip(p string, off int) {
	b := v.read(p)
	b[off] ^= 0x01
	v.write(p, b)
}
func (v *vol) zero(p string, off, n int) {
	b := v.read(p)
	clear(b[off : off+n])
	v.write(p, b)
}
func (v *vol) appendBytes(p string, extra []byte) { v.write(p, append(v.read(p), extra...)) }

// Offsets in victim.bin's ciphertext (AES-GCM: nonce 16 | data | tag 16).
func blockOff(b int) int { return hdr + b*cbs }

// outcome probes ------------------------------------------------------

// errName names an error by its errno ("EIO"), or says HANG.
func errName(err error) string {
	if err == harness.ErrTimeout {
		return "HANG"
	}
	if e := harness.ErrnoOf(err); e != 0 {
		return unix.ErrnoName(e)
	}
	return err.Error()
}

// readProbe reads plaintext path block by block (each read on its own)
// and names what every block holds: ok (the current content), old (an
// older version of it), other (other.bin's block), zeros, an errno, or
// GARBAGE (something no one wrote: unauthenticated plaintext).
func (v *vol) readProbe(path string) string {
	p := filepath.Join(v.mnt, path)
	var fi os.FileInfo
	if err := timed(v.mnt, func() (err error) { fi, err = os.Lstat(p); return }); err != nil {
		return "stat " + errName(err)
	}
	if !fi.Mode().IsRegular() {
		return "stat: " + typeName(fi.Mode()) + ", open " + v.openProbe(p)
	}
	var f *os.File
	if err := timed(v.mnt, func() (err error) { f, err = os.Open(p); return }); err != nil {
		return "open " + errName(err)
	}
	defer f.Close()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM)
	size := fi.Size()
	var tokens []string
	for b := int64(0); b*blockSize < size; b++ {
		buf := make([]byte, min(blockSize, size-b*blockSize))
		var n int
		err := timed(v.mnt, func() (err error) { n, err = f.ReadAt(buf, b*blockSize); return })
		if err != nil && n < len(buf) {
			tokens = append(tokens, errName(err))
			if err == harness.ErrTimeout {
				break
			}
			continue
		}
		tokens = append(tokens, v.classify(path, int(b), buf))
	}
	// Reading past the end must give EOF, not data.
	extra := make([]byte, 10)
	if n, _ := f.ReadAt(extra, size); n > 0 {
		tokens = append(tokens, "DATA-BEYOND-EOF")
	}
	return fmt.Sprintf("read: size %d [%s]", size, strings.Join(tokens, " "))
}

func (v *vol) classify(path string, b int, got []byte) string {
	at := func(content []byte) []byte {
		lo := b * blockSize
		if lo >= len(content) {
			return nil
		}
		return content[lo:min(len(content), lo+len(got))]
	}
	switch {
	case bytes.Equal(got, at(v.tp.want[path])):
		return "ok"
	case path == "victim.bin" && bytes.Equal(got, at(v.tp.victimOld)):
		return "old"
	case bytes.Count(got, []byte{0}) == len(got):
		return "zeros"
	case bytes.Contains(got, []byte(secret)):
		return "OUTSIDE-DATA"
	}
	// Another file's content at the same place: a whole-file substitution.
	var names []string
	for name := range v.tp.want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != "link" && len(got) > 0 && bytes.Equal(got, at(v.tp.want[name])) {
			return short(name)
		}
	}
	return "GARBAGE"
}

func typeName(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m&os.ModeNamedPipe != 0:
		return "fifo"
	case m&os.ModeCharDevice != 0:
		return "char device"
	case m&os.ModeDevice != 0:
		return "block device"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "file"
}

// openProbe opens a non-regular object for reading, without blocking, and
// reads from it.
func (v *vol) openProbe(p string) string {
	var out string
	err := timed(v.mnt, func() error {
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		buf := make([]byte, 64)
		n, err := f.Read(buf)
		switch {
		case bytes.Contains(buf[:n], []byte(secret)):
			out = "ok, read OUTSIDE-DATA"
		case err != nil:
			out = "ok, read " + errName(err)
		default:
			out = fmt.Sprintf("ok, read %d bytes", n)
		}
		return nil
	})
	if err != nil {
		return errName(err)
	}
	return out
}

// listProbe lists plaintext directory dir and reports which expected
// entries are missing and which unexpected ones appear.
func (v *vol) listProbe(dir string, expect ...string) string {
	var names []string
	err := timed(v.mnt, func() error {
		ents, err := os.ReadDir(filepath.Join(v.mnt, dir))
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return err
	})
	if err != nil {
		return "list " + errName(err)
	}
	var missing, extra []string
	for _, e := range expect {
		if !contains(names, e) {
			missing = append(missing, short(e))
		}
	}
	for _, n := range names {
		switch {
		case contains(expect, n):
		case !nametransform.Plausible(n):
			// A name under the wrong IV that happens to unpad: which
			// bytes it gives changes from run to run.
			extra = append(extra, "a random name")
		default:
			extra = append(extra, fmt.Sprintf("%q", short(n)))
		}
	}
	s := "list: "
	switch {
	case len(missing) == 0 && len(extra) == 0:
		s += "as before"
	default:
		if len(missing) > 0 {
			s += "hides " + strings.Join(missing, ", ")
		}
		if len(extra) > 0 {
			if len(missing) > 0 {
				s += "; "
			}
			s += "shows " + strings.Join(extra, ", ")
		}
	}
	return s
}

func short(name string) string {
	if len(name) > 20 {
		return fmt.Sprintf("%s…(%d bytes)", name[:3], len(name))
	}
	return name
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

var rootEntries = []string{"victim.bin", "other.bin", "small.txt", "d", "d2", nameL, nameM, "link"}

// statProbe looks up a plaintext path.
func (v *vol) statProbe(path string) string {
	var fi os.FileInfo
	if err := timed(v.mnt, func() (err error) { fi, err = os.Lstat(filepath.Join(v.mnt, path)); return }); err != nil {
		return "stat " + errName(err)
	}
	return "stat: " + typeName(fi.Mode())
}

// createProbe tries to create a file inside plaintext directory dir.
func (v *vol) createProbe(dir string) string {
	err := timed(v.mnt, func() error {
		return os.WriteFile(filepath.Join(v.mnt, dir, "planted-by-test"), []byte("x"), 0o644)
	})
	if err != nil {
		return "create " + errName(err)
	}
	return "create ok"
}

// mountProbe runs `veilfs mount -f` on an attacked config: it must refuse
// with an exit code, within the timeout.
func (v *vol) mountProbe() string {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(v.t), "mount", "-f", "--passfile", harness.Passfile(v.t, harness.DefaultPassword), v.dir, v.mnt)
	out, err := cmd.CombinedOutput()
	harness.Detach(v.mnt)
	switch {
	case ctx.Err() != nil:
		return "mount: HANG"
	case err == nil:
		return "mount: MOUNTED"
	case strings.Contains(string(out), "panic"):
		return "mount: PANIC"
	}
	s := fmt.Sprintf("mount refused, exit %d", cmd.ProcessState.ExitCode())
	if strings.Contains(string(out), "is FUSE available") {
		s += " (the message blames FUSE)"
	}
	return s
}

var _ = time.Second
