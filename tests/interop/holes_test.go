//go:build linux

package interop

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestHolesGocryptfsReads: files veilfs punched holes in and zeroed ranges
// of (fallocate PUNCH_HOLE, ZERO_RANGE), whole blocks and partial ones,
// the last block included, pass gocryptfs -fsck and read back through
// gocryptfs as they do through veilfs, on every content cipher.
func TestHolesGocryptfsReads(t *testing.T) {
	requireAll(t)
	for _, c := range []struct {
		name string
		init []string
	}{{"aesgcm", nil}, {"aessiv", []string{"--aessiv"}}, {"xchacha", []string{"--xchacha"}}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cipherdir, mntA, mntB := newDirs(t)
			harness.InitVolume(t, cipherdir, password, c.init...)
			harness.MountVolume(t, cipherdir, mntA, password)
			want := writeHoles(t, mntA)
			harness.Unmount(t, mntA)

			fsckClean(t, cipherdir, password)
			harness.GocryptfsMount(t, cipherdir, mntB, password, "-ro")
			for name, data := range want {
				got, err := os.ReadFile(filepath.Join(mntB, name))
				if err != nil {
					t.Errorf("gocryptfs read %s: %v", name, err)
				} else if !bytes.Equal(got, data) {
					t.Errorf("gocryptfs read %s: %d bytes, want %d (or different content)", name, len(got), len(data))
				}
			}
			harness.GocryptfsUnmount(t, mntB)
		})
	}
}

// writeHoles writes the punched and the zero-ranged file into mnt, checks
// them there and returns their expected content.
func writeHoles(t *testing.T, mnt string) map[string][]byte {
	t.Helper()
	const blk = 4096
	rnd := rand.New(rand.NewPCG(16, 16))
	fill := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(1 + rnd.IntN(255))
		}
		return b
	}
	type op struct {
		mode    uint32
		off, n  int64
		extends bool
	}
	punch := uint32(unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE)
	files := map[string]struct {
		size int
		ops  []op
	}{
		"punched": {20*blk + 1000, []op{
			{punch, 2 * blk, 6 * blk, false},       // whole blocks
			{punch, 9*blk + 100, 2 * blk, false},   // partial at both ends
			{punch, 12*blk + 5, 10, false},         // inside one block
			{punch, 19*blk - 3, 2*blk + 10, false}, // the partial last block
		}},
		"zeroed": {10*blk + 300, []op{
			{unix.FALLOC_FL_ZERO_RANGE, blk, 3 * blk, false},
			{unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE, 5*blk + 1, blk, false},
			{unix.FALLOC_FL_ZERO_RANGE, 10*blk + 100, 3 * blk, true}, // extends the file
		}},
	}
	want := map[string][]byte{}
	for name, f := range files {
		data := fill(f.size)
		p := filepath.Join(mnt, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range f.ops {
			if err := unix.Fallocate(fd, o.mode, o.off, o.n); err != nil {
				unix.Close(fd)
				t.Fatalf("%s: fallocate(%#x, %d, %d): %v", name, o.mode, o.off, o.n, err)
			}
			if o.extends && o.off+o.n > int64(len(data)) {
				data = append(data, make([]byte, o.off+o.n-int64(len(data)))...)
			}
			clear(data[min(o.off, int64(len(data))):min(o.off+o.n, int64(len(data)))])
		}
		if err := unix.Close(fd); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("veilfs read %s back: %d bytes, %v; want %d bytes (or different content)", name, len(got), err, len(data))
		}
		want[name] = data
	}
	return want
}
