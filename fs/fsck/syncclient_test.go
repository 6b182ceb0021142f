package fsck

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

const junkName = "AAAAAAAAAAAAAAAAAAAAAA"

// Sync clients' own files as they sit in CIPHERDIR.
var (
	clientFiles = []string{".stignore", ".syncthing." + junkName + ".tmp", "~syncthing~" + junkName + ".tmp",
		".dropbox", ".dropbox.attr", ".sync_0a1b2c3d.db", ".sync_0a1b2c3d.db-wal", ".nextcloudsync.log",
		"." + junkName + ".~1a2b3c", ".~lock." + junkName + "#", junkName + ".!sync", "desktop.ini", "Thumbs.db",
		".DS_Store", "Icon\r", "._" + junkName, junkName + ".partial", "gocryptfs.diriv.partial",
		".DS_Store.sync-conflict-20261127-093015-ABCDEF7"}
	clientDirs = []string{".stfolder", ".stversions", ".dropbox.cache", ".sync"}
)

// plantClientFiles puts every client file and folder into the ciphertext
// directory cdir (relative to CIPHERDIR), the folders with content that is
// not the volume's (no gocryptfs.diriv, names that do not decrypt), and
// returns the paths planted, relative to CIPHERDIR.
func plantClientFiles(t *testing.T, tv *tvol, cdir string) []string {
	t.Helper()
	var out []string
	for _, n := range clientFiles {
		writeRaw(t, filepath.Join(tv.dir, cdir, n), []byte("the client's "+n))
		out = append(out, filepath.Join(cdir, n))
	}
	for _, n := range clientDirs {
		d := filepath.Join(tv.dir, cdir, n)
		if err := os.MkdirAll(filepath.Join(d, junkName), 0o755); err != nil {
			t.Fatal(err)
		}
		writeRaw(t, filepath.Join(d, junkName, junkName+"~20261127-093015"), []byte("an old version"))
		out = append(out, filepath.Join(cdir, n))
	}
	return out
}

// TestSyncClientFiles: clients' files and folders, at the root and in a
// subdirectory, are notes, never errors; neither a check nor a repair
// moves or changes them, and nothing in a client's folder is checked.
func TestSyncClientFiles(t *testing.T) {
	for _, k := range volumeKinds {
		if k.opts.PlaintextNames {
			continue // TestSyncClientFilesPlaintextNames
		}
		t.Run(k.name, func(t *testing.T) {
			tv := newVolume(t, k.opts)
			populate(tv)
			planted := plantClientFiles(t, tv, "")
			planted = append(planted, plantClientFiles(t, tv, tv.cpath("dir/sub"))...)
			// Syncthing's folder marker was a file in old versions.
			writeRaw(t, filepath.Join(tv.abs("dir2"), ".stfolder"), nil)
			planted = append(planted, filepath.Join(tv.cpath("dir2"), ".stfolder"))
			slices.Sort(planted)
			before := snapshot(t, tv.dir)
			for _, repair := range []bool{false, true} {
				var last Progress
				rep := tv.check(Options{Repair: repair, Progress: func(p Progress) { last = p }})
				if last.TotalFiles != 10 || last.Files != last.TotalFiles {
					t.Errorf("repair=%v: progress %+v, want the volume's 10 files only", repair, last)
				}
				var noted []string
				for _, p := range rep.Problems {
					if p.Kind != SyncClientFile || p.Severity != Info || p.Repaired || p.Action != "" {
						t.Errorf("repair=%v: %s", repair, FormatProblem(p, repair))
						continue
					}
					noted = append(noted, p.CipherPath)
				}
				slices.Sort(noted)
				if !slices.Equal(noted, planted) {
					t.Errorf("repair=%v: noted\n%q\nwant\n%q", repair, noted, planted)
				}
				s := rep.Summary
				if !s.Clean || s.Errors != 0 || s.Infos != len(planted) || s.Quarantine != "" {
					t.Errorf("repair=%v: summary %+v", repair, s)
				}
				// What a clean populated volume counts: the clients' files
				// and what their folders hold are not the volume's.
				if s.Dirs != 5 || s.Files != 10 || s.Symlinks != 1 {
					t.Errorf("repair=%v: counted %d dirs, %d files, %d symlinks", repair, s.Dirs, s.Files, s.Symlinks)
				}
				if line := FormatSummary(s); !strings.HasPrefix(line, "fsck summary: no problems found (and ") {
					t.Errorf("repair=%v: %s", repair, line)
				}
			}
			if after := snapshot(t, tv.dir); !maps.Equal(before, after) {
				t.Errorf("fsck changed the volume or the clients' files")
			}
		})
	}
}

// A note says whose file or folder it is.
func TestSyncClientFileDetail(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	if err := os.Mkdir(filepath.Join(tv.dir, ".stfolder"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeRaw(t, filepath.Join(tv.dir, "desktop.ini"), nil)
	rep := tv.check(Options{})
	var lines []string
	for _, p := range rep.Problems {
		lines = append(lines, FormatProblem(p, false))
	}
	want := []string{
		"info sync-client-file: .stfolder: Syncthing's own folder, not part of the volume: left as it is",
		"info sync-client-file: desktop.ini: Windows's own file, not part of the volume: left as it is",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// With plaintext names, names in CIPHERDIR are the user's: a .stfolder is
// an ordinary directory of the volume.
func TestSyncClientFilesPlaintextNames(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{PlaintextNames: true})
	populate(tv)
	tv.mkdir(".stfolder")
	rep := tv.check(Options{})
	if len(rep.Problems) != 0 || rep.Summary.Dirs != 6 {
		t.Errorf("want a clean report with .stfolder checked as a directory, got\n%s", dumpReport(rep))
	}
}

// A directory that lost its gocryptfs.diriv and holds only a client's
// file holds no encrypted name: a new IV loses nothing, and the client's
// file stays.
func TestSyncClientFileMissingDirIV(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	dir := tv.abs("emptydir")
	os.Remove(filepath.Join(dir, nametransform.DirIVFilename))
	writeRaw(t, filepath.Join(dir, ".DS_Store"), []byte("Finder's"))
	rep := tv.check(Options{Repair: true})
	if !slices.Equal(kinds(rep), []string{string(MissingDirIV), string(SyncClientFile)}) || !rep.Summary.Clean {
		t.Fatalf("got\n%s", dumpReport(rep))
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".DS_Store")); err != nil || string(b) != "Finder's" {
		t.Errorf(".DS_Store: %q, %v", b, err)
	}
}

// A long name's sidecar whose object a client is still downloading is not
// an orphan: removing it would be synced to every machine.
func TestSyncClientDownloadKeepsSidecar(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	obj := tv.abs(longL)
	tmp := filepath.Join(filepath.Dir(obj), ".syncthing."+filepath.Base(obj)+".tmp")
	if err := os.Rename(obj, tmp); err != nil {
		t.Fatal(err)
	}
	rep := tv.check(Options{Repair: true})
	if !slices.Equal(kinds(rep), []string{string(SyncClientFile)}) {
		t.Fatalf("got\n%s", dumpReport(rep))
	}
	if _, err := os.Stat(nametransform.SidecarName(obj)); err != nil {
		t.Errorf("the sidecar is gone: %v", err)
	}
	// The download finishes: the entry reads under its name.
	if err := os.Rename(tmp, obj); err != nil {
		t.Fatal(err)
	}
	if got, err := tv.readFile(longL); err != nil || len(got) != sizes[longL] {
		t.Errorf("%s after the download: %d bytes, %v", longL, len(got), err)
	}
}

// Re-encrypting a duplicated IV's names would move a client's file along:
// --repair leaves such a directory as it is, and says why; one that holds
// no encrypted name just gets a new IV.
func TestSyncClientFileDupDirIV(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	copyDir(t, tv, "dir2", "dir2copy")
	copyDir(t, tv, "emptydir", "emptycopy")
	// In both copies: the walk decides which of two is the duplicate.
	dirs := []string{"dir2", "dir2copy", "emptydir", "emptycopy"}
	for _, d := range dirs {
		writeRaw(t, filepath.Join(tv.abs(d), "Thumbs.db"), []byte("thumbnails"))
	}
	rep := tv.check(Options{Repair: true})
	var left, fixed []string
	for _, p := range rep.Problems {
		switch {
		case p.Kind != DupDirIV:
		case p.Repaired:
			fixed = append(fixed, p.PlainPath)
		default:
			left = append(left, p.PlainPath)
			if !strings.Contains(p.Detail, "Thumbs.db, Windows's own file") {
				t.Errorf("detail: %s", p.Detail)
			}
		}
	}
	if len(left) != 1 || !strings.HasPrefix(left[0], "dir2") || len(fixed) != 1 || !strings.HasPrefix(fixed[0], "empty") {
		t.Errorf("unrepaired dup-diriv %q, repaired %q; want dir2's left, emptydir's repaired\n%s", left, fixed, dumpReport(rep))
	}
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(tv.abs(d), "Thumbs.db")); err != nil || string(b) != "thumbnails" {
			t.Errorf("%s/Thumbs.db: %q, %v", d, b, err)
		}
	}
}
