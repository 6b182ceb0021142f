//go:build linux

package fs

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// cipherHoles reports, per ciphertext block of the file at path, whether
// it is all zeros ('.') or not ('D'); a partial last block is '!' if it
// is all zeros (damaged), 'd' if not.
func cipherHoles(t *testing.T, path string, cbs int) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for off := 18; off < len(raw); off += cbs {
		b := raw[off:min(off+cbs, len(raw))]
		switch zero := len(bytes.Trim(b, "\x00")) == 0; {
		case len(b) == cbs && zero:
			out = append(out, '.')
		case len(b) == cbs:
			out = append(out, 'D')
		case zero:
			out = append(out, '!')
		default:
			out = append(out, 'd')
		}
	}
	return string(out)
}

// TestPunchCiphertext: fallocate PUNCH_HOLE and ZERO_RANGE leave whole
// ciphertext blocks of zeros (the backing file's holes) for the blocks they
// cover whole or leave with nothing but zeros, rewrite the others, keep a
// partial last block a valid block, and the backing file frees space.
func TestPunchCiphertext(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	const blk, cbs = 4096, 4128
	data := make([]byte, 12*blk+100)
	rand.Read(data)
	p := filepath.Join(tm.mnt, "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfile := findCipherFile(t, tm.cipherDir, int64(18+12*cbs+132))
	if got := cipherHoles(t, cfile, cbs); got != "DDDDDDDDDDDDd" {
		t.Fatalf("ciphertext blocks after the write: %s", got)
	}
	var st unix.Stat_t
	if err := unix.Stat(cfile, &st); err != nil {
		t.Fatal(err)
	}
	before := st.Blocks
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	steps := []struct {
		mode    uint32
		off, n  int64
		want    string
		comment string
	}{
		{unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE, 2 * blk, 6 * blk, "DD......DDDDd", "whole blocks"},
		{unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE, 8 * blk, 10, "DD......DDDDd", "a partial block is rewritten"},
		{unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE, 8*blk + 10, blk - 10, "DD.......DDDd", "the rest of it: all zeros, a hole"},
		{unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE, 4*blk + 5, 10, "DD.......DDDd", "inside a hole: stays one"},
		{unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE, 10*blk - 1, 3 * blk, "DD.......D..d", "the partial last block stays a block"},
	}
	for _, s := range steps {
		if err := unix.Fallocate(fd, s.mode, s.off, s.n); err != nil {
			t.Fatalf("%s: fallocate: %v", s.comment, err)
		}
		clear(data[s.off:min(s.off+s.n, int64(len(data)))])
		if got := cipherHoles(t, cfile, cbs); got != s.want {
			t.Errorf("%s: ciphertext blocks %s, want %s", s.comment, got, s.want)
		}
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
		t.Errorf("content after punching: %v (or different)", err)
	}
	if err := unix.Stat(cfile, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(18+12*cbs+132) || st.Blocks >= before {
		t.Errorf("ciphertext size %d blocks %d, want size %d and fewer than %d blocks", st.Size, st.Blocks, 18+12*cbs+132, before)
	}
}
