//go:build linux

package reverse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestMatchesGocryptfsReverse: with the same config, `veilfs mount
// --reverse` and `gocryptfs -reverse` 2.3, mounted at once on the same
// plaintext directory, show byte-identical trees: names, virtual files,
// types, permission bits, sizes, content, symlink targets and mtimes. The
// content of hard-linked files is left out (gocryptfs derives their IVs
// from whichever path is opened first, veilfs from the inode), their
// names and sizes are not. The config may come from `gocryptfs -init
// -reverse` or from `veilfs init --reverse`, for each name option.
func TestMatchesGocryptfsReverse(t *testing.T) {
	harness.RequireFUSE(t)
	harness.RequireGocryptfs(t)
	variants := []struct {
		name            string
		veilfs, goflags []string
	}{
		{"default", nil, nil},
		{"plaintextnames", []string{"--plaintextnames"}, []string{"-plaintextnames"}},
		{"deterministic-names", []string{"--deterministic-names"}, []string{"-deterministic-names"}},
		{"longnamemax-62", []string{"--longnamemax", "62"}, []string{"-longnamemax", "62"}},
	}
	for _, v := range variants {
		for _, initBy := range []string{"gocryptfs", "veilfs"} {
			t.Run(v.name+"/init-by-"+initBy, func(t *testing.T) {
				plain, mnts := newDirs(t, 2)
				goView, veilView := mnts[0], mnts[1]
				writeTree(t, plain, treeOpts{big: v.name == "default" && initBy == "gocryptfs"})
				if initBy == "gocryptfs" {
					harness.GocryptfsInit(t, plain, password, append([]string{"-reverse"}, v.goflags...)...)
				} else {
					initReverse(t, plain, v.veilfs...)
				}
				if _, err := os.Stat(plain + "/.gocryptfs.reverse.conf"); err != nil {
					t.Fatalf("init by %s wrote no .gocryptfs.reverse.conf: %v", initBy, err)
				}

				harness.GocryptfsMount(t, plain, goView, password, "-reverse")
				mountReverse(t, plain, veilView)
				ref := snapshot(t, goView, nil)
				got := snapshot(t, veilView, nil)

				// Hard links, as gocryptfs shows them (nlink > 1).
				hardLinked := map[string]bool{}
				for _, e := range ref {
					if e.typ == "file" && e.nlink > 1 {
						hardLinked[e.path] = true
					}
				}
				if len(hardLinked) != 2 {
					t.Errorf("gocryptfs shows %d hard-linked files, want the pair hard/a, hard/b", len(hardLinked))
				}
				o := viewOpts{mtimes: true, skipContent: func(e entry) bool { return hardLinked[e.path] }}
				compareLines(t, "veilfs --reverse view (+) vs gocryptfs -reverse view (-)", viewLines(ref, o), viewLines(got, o))

				harness.GocryptfsUnmount(t, goView)
				harness.Unmount(t, veilView)
			})
		}
	}
}

// TestPlaintextNamedLikeVirtualFiles: plaintext files called
// gocryptfs.conf and gocryptfs.diriv (say, a backup that holds a gocryptfs
// volume's files) are ordinary files to encrypt in a view with encrypted
// names: `gocryptfs -reverse` mounts such a directory and shows them under
// encrypted names; veilfs --reverse, told by the flag which config to use,
// must show the same view.
func TestPlaintextNamedLikeVirtualFiles(t *testing.T) {
	harness.RequireFUSE(t)
	harness.RequireGocryptfs(t)
	plain, mnts := newDirs(t, 2)
	for rel, content := range map[string]string{
		"gocryptfs.conf":      `{"Creator": "not the config of this view"}`,
		"gocryptfs.diriv":     "0123456789abcdef",
		"sub/gocryptfs.diriv": "not an IV",
		"sub/gocryptfs.conf":  "{}",
		"sub/file":            "ordinary",
	} {
		p := filepath.Join(plain, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// veilfs init --reverse may refuse such a directory (it looks like a
	// CIPHERDIR); gocryptfs makes the config.
	harness.GocryptfsInit(t, plain, password, "-reverse")
	harness.GocryptfsMount(t, plain, mnts[0], password, "-reverse")
	ref := snapshot(t, mnts[0], nil)
	res := harness.TryMount(t, plain, mnts[1], "--reverse", "--passfile", harness.Passfile(t, password))
	if res.Code != 0 {
		t.Fatalf("veilfs mount --reverse of a directory holding a plaintext file called gocryptfs.conf (gocryptfs -reverse mounts it): %v", res)
	}
	o := viewOpts{mtimes: true}
	compareLines(t, "veilfs --reverse view (+) vs gocryptfs -reverse view (-)", viewLines(ref, o), viewLines(snapshot(t, mnts[1], nil), o))
}

// TestMatchesGocryptfsLarge: a directory of 400 entries (readdir in
// several batches, long and short names mixed) and a sparse 5 GiB file,
// read at offsets beyond 2 and 4 GiB (block numbers and ciphertext offsets
// that overflow 32 bits), are the same in both views.
func TestMatchesGocryptfsLarge(t *testing.T) {
	harness.RequireFUSE(t)
	harness.RequireGocryptfs(t)
	plain, mnts := newDirs(t, 2)
	if err := os.Mkdir(filepath.Join(plain, "many"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		name := fmt.Sprintf("entry-%04d-%s", i, strings.Repeat("x", i*7%230))
		if err := os.WriteFile(filepath.Join(plain, "many", name), []byte(name[:10]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const hugeSize = 5 << 30
	f, err := os.Create(filepath.Join(plain, "huge"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(hugeSize); err != nil {
		t.Fatal(err)
	}
	for _, at := range []int64{1<<31 - 2, 1<<32 + 12345, hugeSize - 3} {
		if _, err := f.WriteAt([]byte("data"), at); err != nil && at+4 <= hugeSize {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(hugeSize); err != nil { // the last write went past the end
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	initReverse(t, plain)
	harness.GocryptfsMount(t, plain, mnts[0], password, "-reverse")
	mountReverse(t, plain, mnts[1])

	// Names, sizes, modes of everything; content of all but the huge file.
	isHuge := func(e entry) bool { return e.size == cipherSize(hugeSize) }
	o := viewOpts{skipContent: isHuge}
	skipHuge := func(root string) func(string) bool {
		return func(rel string) bool {
			fi, err := os.Lstat(filepath.Join(root, rel))
			return err == nil && fi.Size() == cipherSize(hugeSize)
		}
	}
	ref := snapshot(t, mnts[0], skipHuge(mnts[0]))
	got := snapshot(t, mnts[1], skipHuge(mnts[1]))
	compareLines(t, "veilfs --reverse view (+) vs gocryptfs -reverse view (-)", viewLines(ref, o), viewLines(got, o))

	huge := findOneBySize(t, snapshotNoContent(t, mnts[0]), cipherSize(hugeSize))
	if fi, err := os.Lstat(filepath.Join(mnts[1], huge.path)); err != nil || fi.Size() != cipherSize(hugeSize) {
		t.Fatalf("the huge file in the veilfs view: %v (size %v), want %d bytes", err, fi, cipherSize(hugeSize))
	}
	blockAt := func(plainOff int64) int64 { return headerSize + plainOff/plainBS*cipherBS }
	for _, at := range []int64{0, blockAt(1<<31 - 2), blockAt(1<<32 + 12345), blockAt(1 << 32), cipherSize(hugeSize) - 2*cipherBS - 7, cipherSize(hugeSize) - 100} {
		a, errA := readAt(filepath.Join(mnts[0], huge.path), at, 3*cipherBS)
		b, errB := readAt(filepath.Join(mnts[1], huge.path), at, 3*cipherBS)
		if errA != nil || errB != nil {
			t.Errorf("reading the huge file at %d: gocryptfs %v, veilfs %v", at, errA, errB)
		} else if !bytes.Equal(a, b) {
			t.Errorf("the huge file at ciphertext offset %d: veilfs gives %d bytes that differ from gocryptfs's %d", at, len(b), len(a))
		}
	}
}

// readAt reads up to n bytes at off (fewer at the end of the file).
func readAt(p string, off int64, n int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, off)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return buf[:got], err
}
