//go:build linux

// Package hostile_test attacks a volume the way someone who can write
// CIPHERDIR (a sync service, a shared disk, a stolen laptop put back) can:
// one attack per row of a table, each on a fresh copy of the same volume,
// with the mounted view, the daemon log and every other file checked
// afterwards. It also checks that secrets stay out of the daemon's
// command line, environment and log. The table is rendered into
// SECURITY.md; TestSecurityMdTable keeps the two in step
// (VEILFS_UPDATE_SECURITY_MD=1 rewrites it).
package hostile_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

const (
	blockSize = 4096
	// CBS and header size of the default AES-GCM volume (FORMAT §4.1).
	cbs    = 4128
	hdr    = 18
	longL  = "L" // repeated 200 times: a hashed long name
	longM  = "M"
	secret = "OUTSIDE-CIPHERDIR-SECRET"
)

var (
	nameL = strings.Repeat(longL, 200)
	nameM = strings.Repeat(longM, 200)
)

// tagged is n bytes identifying (file, block): the first line says which.
func tagged(file string, ver, n int) []byte {
	var b []byte
	for blk := 0; len(b) < n; blk++ {
		block := make([]byte, blockSize)
		copy(block, fmt.Sprintf("file=%s version=%d block=%d\n", file, ver, blk))
		for i := 64; i < blockSize; i++ {
			block[i] = byte(i*7 + blk*13 + ver*29 + len(file))
		}
		b = append(b, block...)
	}
	return b[:n]
}

// template is a populated volume, unmounted, that each row copies.
type template struct {
	dir       string            // CIPHERDIR
	cipher    map[string]string // plaintext path -> ciphertext path relative to dir
	want      map[string][]byte // plaintext path -> content (symlinks: target)
	oldVictim []byte            // victim.bin's ciphertext before block 1 was rewritten
	victimOld []byte            // victim.bin's plaintext then
}

const victimSize = 3*blockSize + 100

func buildTemplate(t *testing.T) *template {
	t.Helper()
	harness.RequireFUSE(t)
	tp := &template{dir: filepath.Join(t.TempDir(), "cipher"), want: map[string][]byte{}}
	mnt := t.TempDir()
	harness.InitVolume(t, tp.dir, harness.DefaultPassword)
	harness.MountVolume(t, tp.dir, mnt, harness.DefaultPassword)
	write := func(name string, data []byte) {
		p := filepath.Join(mnt, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	tp.victimOld = tagged("victim", 0, victimSize)
	write("victim.bin", tp.victimOld)
	write("other.bin", tagged("other", 0, 2*blockSize+10))
	write("small.txt", []byte("hello, world\n"))
	write("d/inner.txt", []byte("inner\n"))
	write("d2/inner2.txt", []byte("inner2\n"))
	write(nameL, []byte("long name L\n"))
	write(nameM, []byte("long name M\n"))
	if err := os.Symlink("victim.bin", filepath.Join(mnt, "link")); err != nil {
		t.Fatal(err)
	}
	// Inode numbers are the backing ones: map plaintext to ciphertext.
	tp.cipher = harness.CiphertextPaths(t, tp.dir, mnt, "victim.bin", "other.bin", "small.txt", "d", "d/inner.txt", "d2", "d2/inner2.txt", nameL, nameM, "link")
	// Keep the old ciphertext of victim.bin, then rewrite block 1 in place
	// (same file ID): the material for rollback attacks.
	var err error
	if tp.oldVictim, err = os.ReadFile(filepath.Join(tp.dir, tp.cipher["victim.bin"])); err != nil {
		t.Fatal(err)
	}
	newVictim := append([]byte(nil), tp.victimOld...)
	copy(newVictim[blockSize:], tagged("victim", 1, 2*blockSize)[blockSize:])
	f, _ := os.OpenFile(filepath.Join(mnt, "victim.bin"), os.O_RDWR, 0)
	if _, err := f.WriteAt(newVictim[blockSize:2*blockSize], blockSize); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	f.Close()
	for _, name := range []string{"victim.bin", "other.bin", "small.txt", "d/inner.txt", "d2/inner2.txt", nameL, nameM} {
		b, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		tp.want[name] = b
	}
	if !bytes.Equal(tp.want["victim.bin"], newVictim) {
		t.Fatalf("template: victim.bin does not hold what was written")
	}
	tp.want["link"] = []byte("victim.bin")
	harness.Unmount(t, mnt)
	return tp
}

// copyVolume makes a fresh copy of the template (modes and all).
func (tp *template) copyVolume(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "cipher")
	if out, err := exec.Command("cp", "-a", tp.dir, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	return dst
}
