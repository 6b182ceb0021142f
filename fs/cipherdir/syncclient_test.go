package cipherdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
)

// Sync clients' own files, as they sit in CIPHERDIR.
var syncClientFiles = []string{".stfolder", ".stignore", ".syncthing.AAAAAAAAAAAAAAAAAAAAAA.tmp",
	"~syncthing~AAAAAAAAAAAAAAAAAAAAAA.tmp", ".dropbox.attr", ".sync_0123abcd.db", ".~lock.x#",
	"desktop.ini", "Thumbs.db", ".DS_Store", "Icon\r", "._AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA.partial",
	"gocryptfs.diriv.partial", ".DS_Store.sync-conflict-20261127-093015-ABCDEF7"}

// A client's file is neither an entry nor a name that does not decrypt:
// PlainName and EntryName give ErrSyncClientFile, which callers that skip
// the volume's own files (ErrReservedName) skip too.
func TestSyncClientFileNames(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	iv, _ := v.DirIVAt(root)
	for _, disk := range syncClientFiles {
		if err := os.WriteFile(filepath.Join(v.Dir, disk), []byte("theirs"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := v.PlainName(root, disk, iv, true)
		if !errors.Is(err, ErrSyncClientFile) || !errors.Is(err, ErrReservedName) {
			t.Errorf("PlainName(%q) = %v, want ErrSyncClientFile", disk, err)
		}
		name, c, err := v.EntryName(root, disk, iv, true)
		if !errors.Is(err, ErrSyncClientFile) || name != "" || c != nil {
			t.Errorf("EntryName(%q) = %q, %v, %v, want ErrSyncClientFile", disk, name, c, err)
		}
	}
	// ".stfolder" made through a mount is an ordinary encrypted name.
	disk, _, err := v.DiskName(".stfolder", iv, true)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := v.PlainName(root, disk, iv, true); err != nil || plain != ".stfolder" {
		t.Errorf("the encrypted name of .stfolder: %q, %v", plain, err)
	}
	// They take no part in the key check: a volume holding only them
	// proves nothing either way.
	if ok, err := v.CheckKey(); ok || err != nil {
		t.Errorf("CheckKey with only clients' files = %v, %v; want false, nil", ok, err)
	}
}

// With plaintext names a name in CIPHERDIR is the user's, .stfolder too.
func TestSyncClientFilePlaintextNames(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{PlaintextNames: true})
	for _, disk := range []string{".stfolder", "desktop.ini", ".syncthing.x.tmp"} {
		if plain, err := v.PlainName(root, disk, nil, true); err != nil || plain != disk {
			t.Errorf("PlainName(%q) = %q, %v", disk, plain, err)
		}
		if role := v.role(disk, true); role != RoleEntry {
			t.Errorf("role(%q) = %v, want entry", disk, role)
		}
	}
}

// ListDir gives clients' files their own role; DecryptPath of one, or of
// anything in a client's folder, gives the directory that holds it.
func TestSyncClientFilePaths(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	dir := makePath(t, v, root, "dir/", nil)
	for _, p := range []string{".stfolder", ".stversions", dir + "/.stversions"} {
		if err := os.Mkdir(filepath.Join(v.Dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(v.Dir, dir, "desktop.ini"), []byte("[.ShellClassInfo]"), 0o644)
	os.WriteFile(filepath.Join(v.Dir, ".stversions", "x~20261127-093015"), nil, 0o644)

	iv, _ := v.DirIVAt(root)
	entries, err := v.ListDir(root, iv, true)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		switch e.Disk {
		case ".stfolder", ".stversions":
			seen++
			if e.Role != RoleSyncClient || e.NameErr != nil || e.Mode&unix.S_IFMT != unix.S_IFDIR {
				t.Errorf("%s: role %v, name error %v, mode %o", e.Disk, e.Role, e.NameErr, e.Mode)
			}
		}
	}
	if seen != 2 {
		t.Errorf("ListDir: %d of the 2 clients' folders listed", seen)
	}
	if RoleSyncClient.String() != "sync-client" {
		t.Errorf("RoleSyncClient.String() = %q", RoleSyncClient)
	}

	for _, tc := range []struct{ cpath, plain string }{
		{".stfolder", "/"},
		{".stversions/x~20261127-093015", "/"},
		{".stversions/gone/deeper", "/"},
		{dir + "/desktop.ini", "/dir"},
		{dir + "/.stversions/AAAA", "/dir"},
	} {
		p, role, err := v.DecryptPath(root, tc.cpath)
		if err != nil || role != RoleSyncClient || p.Plain() != tc.plain || !p.Exists {
			t.Errorf("DecryptPath(%s) = %v %v %v, want %s, the client's", tc.cpath, p, role, err, tc.plain)
		}
	}
}
