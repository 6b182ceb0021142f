//go:build linux

package fs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestSyncClientFilesHidden: a sync client's own files in CIPHERDIR (files
// and folders, at the root and below) are left out of listings without a
// log line, counted in Stats().Sync.ClientFiles, invisible to lookups and
// left as they are; a ".stfolder" made through the mount is an ordinary
// file, whose encrypted name does not clash with Syncthing's.
func TestSyncClientFilesHidden(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	for _, p := range []string{"good", ".stfolder"} {
		if err := os.WriteFile(filepath.Join(tm.mnt, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(tm.mnt, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	subCipher := ""
	ents, _ := os.ReadDir(tm.cipherDir)
	for _, e := range ents {
		if e.IsDir() {
			subCipher = e.Name()
		}
	}
	if subCipher == "" {
		t.Fatal("no ciphertext directory for sub")
	}

	const x = "AAAAAAAAAAAAAAAAAAAAAA"
	planted := map[string][]string{
		"":        {".syncthing." + x + ".tmp", "desktop.ini", ".DS_Store", "Icon\r", x + ".partial", ".sync_0a1b2c.db"},
		subCipher: {".DS_Store", "Thumbs.db", "~syncthing~" + x + ".tmp"},
	}
	var files []string
	for dir, names := range planted {
		for _, n := range names {
			p := filepath.Join(tm.cipherDir, dir, n)
			if err := os.WriteFile(p, []byte("the client's "+n), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
	}
	for _, d := range []string{".stfolder", ".stversions", filepath.Join(".stversions", x)} {
		if err := os.Mkdir(filepath.Join(tm.cipherDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	versioned := filepath.Join(tm.cipherDir, ".stversions", x, x+"~20261127-093015")
	if err := os.WriteFile(versioned, []byte("an old version"), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, versioned)

	s0 := tm.m.Stats()
	list := func(dir string) []string {
		ents, err := os.ReadDir(filepath.Join(tm.mnt, dir))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		slices.Sort(names)
		return names
	}
	if got := list(""); !slices.Equal(got, []string{".stfolder", "good", "sub"}) {
		t.Errorf("root lists %q, want .stfolder (the user's), good, sub", got)
	}
	if got := list("sub"); len(got) != 0 {
		t.Errorf("sub lists %q, want nothing", got)
	}
	// 6 files and 2 folders at the root, 3 files in sub.
	if got := tm.m.Stats().Sync.ClientFiles - s0.Sync.ClientFiles; got != 11 {
		t.Errorf("Sync.ClientFiles grew by %d, want 11", got)
	}
	if s := tm.m.Stats(); s.Corruptions != s0.Corruptions {
		t.Errorf("corruptions %d -> %d", s0.Corruptions, s.Corruptions)
	}
	if b, err := os.ReadFile(filepath.Join(tm.mnt, ".stfolder")); err != nil || string(b) != ".stfolder" {
		t.Errorf("the user's .stfolder reads %q, %v", b, err)
	}
	for _, p := range []string{"desktop.ini", ".stversions", ".DS_Store", "sub/Thumbs.db"} {
		if _, err := os.Lstat(filepath.Join(tm.mnt, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("lstat %s in the mount: %v, want ENOENT", p, err)
		}
	}
	if l := tm.log.String(); l != "" {
		t.Errorf("the mount logged:\n%s", l)
	}
	for _, p := range files {
		if b, err := os.ReadFile(p); err != nil || !strings.HasPrefix(string(b), "the client's") && string(b) != "an old version" {
			t.Errorf("%s changed: %q, %v", p, b, err)
		}
	}
}
