package cipherdir

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// TestRepairLostIVChanceDecryption: a name encrypted under the lost IV
// that happens to decrypt under the kept one (one time in 256, to random
// bytes) is still repaired, and a real name under the kept IV that happens
// to decrypt under the lost one is left alone. CI once listed such a
// random name instead of the file.
func TestRepairLostIVChanceDecryption(t *testing.T) {
	v, fd := newTestVolume(t, config.CreateOptions{})
	cur, err := ReadDirIV(fd)
	if err != nil {
		t.Fatal(err)
	}
	old := []byte("lost-iv-16-bytes")
	// find returns the first name of the form format%d encrypted under
	// from whose encryption also decrypts under to, or never does.
	find := func(format string, from, to []byte, alsoDecrypts bool) (string, string) {
		for i := range 100000 {
			name := fmt.Sprintf(format, i)
			cname, err := v.Names.EncryptName(name, from)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Names.DecryptName(cname, to); (err == nil) == alsoDecrypts {
				return name, cname
			}
		}
		t.Fatalf("no name %s found", format)
		return "", ""
	}
	chance, chanceDisk := find("from-a-%d.txt", old, cur, true)
	lost, lostDisk := find("lost-%d.txt", old, cur, false)
	keep, keepDisk := find("kept-%d.txt", cur, old, true)
	for _, disk := range []string{chanceDisk, lostDisk, keepDisk} {
		if err := os.WriteFile(filepath.Join(v.Dir, disk), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	done, err := v.RepairLostIV(fd, cur, true, old)
	if err != nil {
		t.Fatal(err)
	}
	var repaired []string
	for _, r := range done {
		repaired = append(repaired, r.Plain)
	}
	slices.Sort(repaired)
	if want := []string{chance, lost}; !slices.Equal(repaired, want) {
		t.Errorf("repaired %q, want %q", repaired, want)
	}
	var listed []string
	diskio.ReadDirents(fd, func(disk string, _ uint64, _ uint8) bool {
		if plain, err := v.PlainName(fd, disk, cur, true); err == nil {
			listed = append(listed, plain)
			if !nametransform.Plausible(plain) {
				t.Errorf("%s lists as %q", disk, plain)
			}
		}
		return true
	})
	slices.Sort(listed)
	if want := []string{chance, keep, lost}; !slices.Equal(listed, want) {
		t.Errorf("after the repair the directory lists %q, want %q", listed, want)
	}
}
