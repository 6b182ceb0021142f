//go:build linux

package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// TestReaddirRepairsChanceName: the only file left under a lost directory
// IV happens to decrypt under the kept one (one name in 256 does, to
// random bytes), so no name in the directory fails to decrypt. Readdir
// must still notice, repair it and list the real name, never the random
// one.
func TestReaddirRepairsChanceName(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	if err := os.Mkdir(filepath.Join(tm.mnt, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(tm.cipherDir)
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	for _, e := range ents {
		if e.IsDir() {
			dir = filepath.Join(tm.cipherDir, e.Name())
		}
	}
	cur, err := os.ReadFile(filepath.Join(dir, nametransform.DirIVFilename))
	if err != nil {
		t.Fatal(err)
	}
	old := []byte("lost-iv-16-bytes")
	names := tm.m.root.vol.Names
	var plain, disk string
	for i := 0; disk == ""; i++ {
		plain = fmt.Sprintf("from-a-%d.txt", i)
		cname, err := names.EncryptName(plain, old)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := names.DecryptName(cname, cur); err == nil {
			disk = cname
		}
	}
	// Machine a's file: written through the mount, then given the name
	// it had under a's IV (content does not depend on the name).
	if err := os.WriteFile(filepath.Join(tm.mnt, "shared", "seed"), []byte("written on a"), 0o644); err != nil {
		t.Fatal(err)
	}
	seed, err := names.EncryptName("seed", cur)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, seed), filepath.Join(dir, disk)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, nametransform.DirIVFilename+".sync-conflict-20261127-093015-ABCDEF7"), old, 0o444); err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadDir(filepath.Join(tm.mnt, "shared"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range got {
		listed = append(listed, e.Name())
	}
	if !slices.Equal(listed, []string{plain}) {
		t.Fatalf("shared/ lists %q, want %q", listed, []string{plain})
	}
	if data, err := os.ReadFile(filepath.Join(tm.mnt, "shared", plain)); err != nil || string(data) != "written on a" {
		t.Errorf("shared/%s: %q, %v", plain, data, err)
	}
}
