package nametransform

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// Names as the clients write them, NAME being an encrypted name.
func TestSyncClientFile(t *testing.T) {
	const n = "Jpz5Z3jBAnf9XfA2vKLjOg"
	const long = "gocryptfs.longname.3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk"
	cases := []struct{ name, client string }{
		{".stfolder", "Syncthing"},
		{".stignore", "Syncthing"},
		{".stversions", "Syncthing"},
		{".syncthing." + n + ".tmp", "Syncthing"},
		{".syncthing." + long + ".tmp", "Syncthing"},
		{".syncthing.0cc175b9c0f1b6a831c399e269772661.tmp", "Syncthing"}, // the MD5 of a name too long
		{"~syncthing~" + n + ".tmp", "Syncthing"},
		{".unison." + n + ".94c6ac2bd32e4ef33bfaf8ca8d2a6e6b.unison.tmp", "unison"},
		{".dropbox", "Dropbox"},
		{".dropbox.attr", "Dropbox"},
		{".dropbox.cache", "Dropbox"},
		{".sync_3f1a2b4c5d6e.db", "Nextcloud"},
		{".sync_3f1a2b4c5d6e.db-wal", "Nextcloud"},
		{".sync_3f1a2b4c5d6e.db-shm", "Nextcloud"},
		{"._sync_3f1a2b4c5d6e.db", "Nextcloud"},
		{".csync_journal.db", "Nextcloud"},
		{".csync_journal.db.ctmp", "Nextcloud"},
		{".nextcloudsync.log", "Nextcloud"},
		{".owncloudsync.log", "ownCloud"},
		{".owncloudsync.log.1", "ownCloud"},
		{"." + n + ".~1a2b3c4d", "Nextcloud"},
		{"." + long + ".~f", "Nextcloud"},
		{".~lock." + n + "#", "LibreOffice"},
		{".sync", "Resilio Sync"},
		{".SyncID", "Resilio Sync"},
		{".SyncIgnore", "Resilio Sync"},
		{".SyncArchive", "Resilio Sync"},
		{n + ".!sync", "Resilio Sync"},
		{"desktop.ini", "Windows"},
		{"Desktop.ini", "Windows"},
		{"DESKTOP.INI", "Windows"},
		{"Thumbs.db", "Windows"},
		{"thumbs.db", "Windows"},
		{".DS_Store", "macOS"},
		{"Icon\r", "macOS"},
		{"._" + n, "macOS"},
		{"._.DS_Store", "macOS"},
		{"._" + long, "macOS"},
		{"._sync_abc", "macOS"}, // no journal: an AppleDouble file
		{n + ".partial", "rclone"},
		{n + ".3f9a1b2c.partial", "rclone"},
		{long + ".partial", "rclone"},
		{"gocryptfs.diriv.partial", "rclone"},
		// Conflict copies of a client's files are the client's too.
		{".DS_Store.sync-conflict-20261127-093015-ABCDEF7", "macOS"},
		{".stignore (conflicted copy 2026-11-27)", "Syncthing"},
		{"desktop.ini (1)", "Windows"},
		{"Thumbs.db-LAPTOP42", "Windows"},
	}
	for _, c := range cases {
		client, ok := SyncClientFile(c.name)
		if !ok || client != c.client {
			t.Errorf("SyncClientFile(%q) = %q, %v; want %q", c.name, client, ok, c.client)
		}
		if isEncryptedNameChars(c.name) {
			t.Errorf("%q: a sync client's name made only of base64url bytes would be hidden unchecked", c.name)
		}
	}
}

// Near misses: our own names, encrypted names and their conflict copies,
// and names that only look like a client's.
func TestSyncClientFileNearMisses(t *testing.T) {
	const n = "Jpz5Z3jBAnf9XfA2vKLjOg"
	const long = "gocryptfs.longname.3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk"
	for _, name := range []string{
		n, "iDLK8VgfcBJXv_q-1D4NHQ==", long, long + LongNameSuffix,
		DirIVFilename, "gocryptfs.conf", "gocryptfs.conf.tmp", "gocryptfs.conf.bak", "gocryptfs.diriv.tmp",
		"gocryptfs.diriv.rmdir.12345", "gocryptfs.rotation", "gocryptfs.rotation.tmp", "gocryptfs.rotate.tmp",
		"gocryptfs.rotate.link", "gocryptfs.rotate.side", "gocryptfs.fsck.reiv.abc", "gocryptfs.fsck.moving",
		n + " (conflicted copy 2026-11-27)", n + ".sync-conflict-20261127-093015-ABCDEF7", n + "-LAPTOP42", n + " (1)",
		"gocryptfs.diriv (conflicted copy 2026-11-27)", long + " (conflicted copy 2026-11-27).name",
		n + "\r", n + "\n", "..x", "a..b", "...", "",
		"stfolder", ".stfolder2", "x.stfolder", ".STFOLDER", ".stfolder/", // Syncthing's names are exact
		".syncthing..tmp", ".syncthing." + n, "syncthing." + n + ".tmp", "~syncthing~" + n,
		".dropboxx", ".dropbox.attrs",
		".sync_", ".sync_abc", ".synced",
		".~", "." + n + ".~", "." + n + ".~123456789", "." + n + ".~XYZ", "." + n + ".~1A", n + ".~12",
		".~lock.", ".partial", ".!sync", "._",
		"desktop.ini.bak", "mydesktop.ini", "Icon", "Icon\n", "icon\r", ".ds_store",
		"report.partial.txt",
	} {
		if client, ok := SyncClientFile(name); ok {
			t.Errorf("SyncClientFile(%q) = %q: not a sync client's file", name, client)
		}
	}
}

// No encrypted name, long name or sidecar is a client's: with random names
// (the clients' own among them, as plaintext) under both B64 variants.
func TestSyncClientFileNeverAnEncryptedName(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	plain := []string{".stfolder", ".syncthing.x.tmp", "desktop.ini", ".DS_Store", "Icon\r", "._x", "x.partial"}
	for range 2000 {
		b := make([]byte, 1+rng.IntN(NameMax))
		for i := range b {
			b[i] = byte(1 + rng.IntN(255))
			if b[i] == '/' {
				b[i] = 'x'
			}
		}
		if s := string(b); s != "." && s != ".." {
			plain = append(plain, s)
		}
	}
	for _, raw64 := range []bool{true, false} {
		tr, err := New(make([]byte, EMEKeyLen), Options{Raw64: raw64})
		if err != nil {
			t.Fatal(err)
		}
		iv := []byte("0123456789abcdef")
		for _, p := range plain {
			disk, side, err := tr.EncryptDiskName(p, iv)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{disk, SidecarName(disk)} {
				if client, ok := SyncClientFile(name); ok {
					t.Fatalf("raw64=%v: the disk name %q of %q is taken for %s's", raw64, name, p, client)
				}
			}
			if side != "" && !isEncryptedNameChars(side) {
				t.Fatalf("raw64=%v: cName %q holds a byte outside base64url", raw64, side)
			}
		}
	}
}

// The fixtures written by real gocryptfs hold no client's name.
func TestSyncClientFileFixtures(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if f.plaintextNames() {
			continue
		}
		for _, e := range f.Entries {
			for _, c := range strings.Split(e.CipherPath, "/") {
				if client, ok := SyncClientFile(c); ok {
					t.Errorf("%s: %s of %s is taken for %s's", f.Name, c, e.CipherPath, client)
				}
			}
		}
	}
}

func TestSyncClientDownload(t *testing.T) {
	const n = "Jpz5Z3jBAnf9XfA2vKLjOg"
	const long = "gocryptfs.longname.3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk"
	for _, c := range []struct{ name, entry string }{
		{".syncthing." + long + ".tmp", long},
		{"~syncthing~" + n + ".tmp", n},
		{".unison." + long + ".94c6ac2bd32e4ef33bfaf8ca8d2a6e6b.unison.tmp", long},
		{"." + long + ".~1a2b3c4d", long},
		{long + ".!sync", long},
	} {
		entry, ok := SyncClientDownload(c.name)
		if !ok || entry != c.entry {
			t.Errorf("SyncClientDownload(%q) = %q, %v; want %q", c.name, entry, ok, c.entry)
		}
	}
	for _, name := range []string{n, long, ".stfolder", long + ".partial", ".syncthing..tmp", ".syncthing." + n, ".!sync", ".~lock.x#"} {
		if entry, ok := SyncClientDownload(name); ok {
			t.Errorf("SyncClientDownload(%q) = %q: no download in progress", name, entry)
		}
	}
}

// FuzzSyncClientFile: never panics; a name made only of the bytes of an
// encrypted name is never a client's; a download in progress is a client's
// file, of a shorter, non-empty name.
func FuzzSyncClientFile(f *testing.F) {
	for _, s := range []string{".stfolder", ".syncthing.Jpz5Z3jBAnf9XfA2vKLjOg.tmp", ".x.~1a", "x.!sync",
		".DS_Store.sync-conflict-20261127-093015-ABCDEF7", "Jpz5Z3jBAnf9XfA2vKLjOg", "desktop.ini (1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if strings.ContainsAny(name, "/\x00") {
			return // not a name a directory can hold
		}
		client, ok := SyncClientFile(name)
		if ok && (client == "" || isEncryptedNameChars(name)) {
			t.Fatalf("SyncClientFile(%q) = %q", name, client)
		}
		if entry, ok2 := SyncClientDownload(name); ok2 && (!ok || entry == "" || len(entry) >= len(name)) {
			t.Fatalf("SyncClientDownload(%q) = %q, but SyncClientFile = %q, %v", name, entry, client, ok)
		}
	})
}
