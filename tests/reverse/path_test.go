//go:build linux

package reverse

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestPathReverse: on a reverse volume (PLAINDIR holds
// .gocryptfs.reverse.conf), `veilfs path encrypt` gives the path that
// exists in the view, and `veilfs path decrypt` of any path of the view,
// long names and their sidecars included, gives the plaintext path.
func TestPathReverse(t *testing.T) {
	harness.RequireFUSE(t)
	for _, variant := range [][]string{nil, {"--deterministic-names"}} {
		name := "default"
		if variant != nil {
			name = variant[0][2:]
		}
		t.Run(name, func(t *testing.T) {
			plain, mnts := newDirs(t, 1)
			view := mnts[0]
			files := map[string]int{
				"dir one/sub/file.txt":       5000,
				"dir one/" + long200:         10,
				longDir + "/inner.txt":       1,
				longDir + "/" + long255:      0,
				rootLong:                     4096,
				"ünïcödé 名前 ✓/x y":           3,
				"deep/a/b/c/d/e/f/g/h/i/j/k": 7,
			}
			for rel, size := range files {
				p := filepath.Join(plain, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, harness.RandomBytes(rel, size), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			initReverse(t, plain, variant...)
			mountReverse(t, plain, view)
			pf := harness.Passfile(t, password)

			for rel, size := range files {
				enc := pathEncrypt(t, pf, plain, rel)
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(view, enc), &st); err != nil {
					t.Errorf("path encrypt %q = %s, which is not in the view: %v", abbrev(rel), abbrev(enc), err)
					continue
				}
				if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != cipherSize(int64(size)) {
					t.Errorf("path encrypt %q = %s: mode %o size %d in the view, want a file of %d bytes", abbrev(rel), enc, st.Mode, st.Size, cipherSize(int64(size)))
				}
				if got := pathEncrypt(t, pf, plain, "/"+rel); got != enc {
					t.Errorf("path encrypt with a leading /: %s, without: %s", got, enc)
				}
			}

			// Every path of the view decrypts to a plaintext path of the same type.
			n := 0
			for _, e := range snapshotNoContent(t, view) {
				if isVirtual(e.path) && filepath.Ext(e.path) != ".name" {
					continue
				}
				got := pathDecrypt(t, pf, plain, e.path)
				n++
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(plain, got), &st); err != nil {
					t.Errorf("path decrypt %s = %q, which is not in the plaintext: %v", e.path, abbrev(got), err)
					continue
				}
				if filepath.Ext(e.path) == ".name" {
					continue // the sidecar decrypts to its object's path
				}
				if isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR; isDir != (e.typ == "dir") {
					t.Errorf("path decrypt %s (a %s) = %q, which is not one", e.path, e.typ, abbrev(got))
				}
				if back := pathEncrypt(t, pf, plain, got); back != e.path {
					t.Errorf("path decrypt %s = %q, whose path encrypt is %s", e.path, abbrev(got), back)
				}
			}
			if n < len(files) {
				t.Errorf("only %d paths in the view", n)
			}
		})
	}
}
