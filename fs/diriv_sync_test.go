//go:build linux

package fs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// cipherSubdir returns the only directory in the root of the test mount's
// CIPHERDIR.
func cipherSubdir(t *testing.T, tm *testMount) string {
	t.Helper()
	ents, err := os.ReadDir(tm.cipherDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(tm.cipherDir, e.Name()))
		}
	}
	if len(dirs) != 1 {
		t.Fatalf("want one directory in CIPHERDIR, have %q", dirs)
	}
	return dirs[0]
}

// mountWithShared mounts a new volume holding shared/mine.txt, and
// returns the plaintext and ciphertext paths of shared/.
func mountWithShared(t *testing.T) (tm *testMount, shared, cdir string) {
	t.Helper()
	tm = newTestMount(t, config.CreateOptions{})
	shared = filepath.Join(tm.mnt, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "mine.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	return tm, shared, cipherSubdir(t, tm)
}

func listNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestDirIVReplacedSameInode: a sync client replaces a directory's
// gocryptfs.diriv by renaming another machine's over it; the directory's
// inode stays. The mount must use the new IV for the next listing (and
// every operation after the cache's second), not keep the old one: the
// other machine's names, and this machine's once repaired under the kept
// IV, would otherwise be invisible for as long as the mount lives.
func TestDirIVReplacedSameInode(t *testing.T) {
	tm, shared, cdir := mountWithShared(t)
	listNames(t, shared) // the mount now caches the directory and its IV

	// The other machine's directory: its IV, and a file named under it.
	other := []byte("other-machine-iv")
	names := tm.m.root.vol.Names
	theirs, err := names.EncryptName("theirs.txt", other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tm.mnt, "seed"), []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	seed, _ := names.EncryptName("seed", mustRead(t, filepath.Join(tm.cipherDir, nametransform.DirIVFilename)))
	if err := os.Rename(filepath.Join(tm.cipherDir, seed), filepath.Join(cdir, theirs)); err != nil {
		t.Fatal(err)
	}
	ivPath := filepath.Join(cdir, nametransform.DirIVFilename)
	var before syscall.Stat_t
	if err := syscall.Stat(cdir, &before); err != nil {
		t.Fatal(err)
	}
	// As Syncthing does: the losing IV becomes a conflict copy, the
	// winner is renamed over the name.
	if err := os.Rename(ivPath, ivPath[:len(ivPath)-len(".diriv")]+".sync-conflict-20261207-101010-ABCDEF7.diriv"); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(cdir, ".syncthing.gocryptfs.diriv.tmp")
	if err := os.WriteFile(tmp, other, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, ivPath); err != nil {
		t.Fatal(err)
	}
	var after syscall.Stat_t
	if err := syscall.Stat(cdir, &after); err != nil || after.Ino != before.Ino {
		t.Fatalf("the directory's inode changed (%d -> %d, %v): the test would not test the IV check", before.Ino, after.Ino, err)
	}

	// The listing reads the new IV at once; this machine's file was
	// named under the lost IV and comes back re-encrypted.
	want := []string{"mine.txt", "theirs.txt"}
	if got := listNames(t, shared); !slices.Equal(got, want) {
		t.Fatalf("shared/ lists %q, want %q", got, want)
	}
	for name, content := range map[string]string{"mine.txt": "mine", "theirs.txt": "theirs"} {
		if got := mustRead(t, filepath.Join(shared, name)); string(got) != content {
			t.Errorf("%s: %q, want %q", name, got, content)
		}
	}
	// A file created now is named under the kept IV.
	if err := os.WriteFile(filepath.Join(shared, "later.txt"), []byte("later"), 0o644); err != nil {
		t.Fatal(err)
	}
	later, _ := names.EncryptName("later.txt", other)
	if _, err := os.Stat(filepath.Join(cdir, later)); err != nil {
		t.Errorf("a file created after the IV changed is not named under the kept IV: %v", err)
	}
}

// TestDirIVReplacedLookupAfterTTL: without a listing, lookups pick up a
// replaced IV once the directory cache's second has passed.
func TestDirIVReplacedLookupAfterTTL(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	shared := filepath.Join(tm.mnt, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	cdir := cipherSubdir(t, tm)
	names := tm.m.root.vol.Names
	other := []byte("other-machine-iv")
	cur := mustRead(t, filepath.Join(cdir, nametransform.DirIVFilename))
	oldName, _ := names.EncryptName("a", cur)
	newName, _ := names.EncryptName("b", other)
	if err := os.Rename(filepath.Join(cdir, oldName), filepath.Join(cdir, newName)); err != nil {
		t.Fatal(err)
	}
	ivPath := filepath.Join(cdir, nametransform.DirIVFilename)
	tmp := ivPath + ".tmp"
	if err := os.WriteFile(tmp, other, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, ivPath); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * dirTTL)
	for {
		data, err := os.ReadFile(filepath.Join(shared, "b"))
		if err == nil && string(data) == "a" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shared/b after the IV was replaced: %q, %v", data, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDirIVMissingFoundInRenamedCopy: one machine renamed a directory while
// another edited a file inside it; the sync client recreated the old
// directory for the edited file without its gocryptfs.diriv. The renamed
// copy still has the IV: the mount finds it, restores the IV file, and the
// edited file is readable under its name. Nothing counts as corruption.
func TestDirIVMissingFoundInRenamedCopy(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	if err := os.Mkdir(filepath.Join(tm.mnt, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"edited.txt", "other.txt", strings.Repeat("long-name-", 20) + ".txt"} {
		if err := os.WriteFile(filepath.Join(tm.mnt, "old", name), []byte("v1 "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cold := cipherSubdir(t, tm)
	// The state after the sync: the renamed directory with its IV, the old
	// one recreated by the sync client with the edited file only.
	crenamed := cold + "-renamed-elsewhere"
	if err := os.Rename(cold, crenamed); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(cold, 0o755); err != nil {
		t.Fatal(err)
	}
	names := tm.m.root.vol.Names
	iv := mustRead(t, filepath.Join(crenamed, nametransform.DirIVFilename))
	edited, _ := names.EncryptName("edited.txt", iv)
	data := mustRead(t, filepath.Join(crenamed, edited))
	if err := os.WriteFile(filepath.Join(cold, edited), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// This mount never saw the IV in memory form: no IV memory in tests.
	if got := listNames(t, filepath.Join(tm.mnt, "old")); !slices.Equal(got, []string{"edited.txt"}) {
		t.Fatalf("old/ lists %q, want [edited.txt]", got)
	}
	if got := mustRead(t, filepath.Join(tm.mnt, "old", "edited.txt")); string(got) != "v1 edited.txt" {
		t.Errorf("old/edited.txt: %q", got)
	}
	if got := mustRead(t, filepath.Join(cold, nametransform.DirIVFilename)); !bytes.Equal(got, iv) {
		t.Errorf("restored gocryptfs.diriv holds %x, want the renamed copy's %x", got, iv)
	}
	st := tm.m.Stats()
	if st.Corruptions != 0 || st.Sync.Repairs != 1 {
		t.Errorf("stats: %d corruptions, %d repairs; want 0 and 1", st.Corruptions, st.Sync.Repairs)
	}
	if !strings.Contains(tm.log.String(), "restored gocryptfs.diriv") {
		t.Errorf("log does not say what was restored:\n%s", tm.log)
	}
}

// TestDirIVArrivesLate: a directory that arrived before its
// gocryptfs.diriv. Empty, it lists as empty and takes new files. With
// names no known IV decrypts, it lists as empty while it is young (its
// files have not arrived as far as anyone can read them) and refuses new
// entries, then fails with EIO; it is logged once as a half-synced state
// naming the ciphertext directory (not as corruption), and works without a
// remount once the IV arrives.
func TestDirIVArrivesLate(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	names := tm.m.root.vol.Names
	rootIV := mustRead(t, filepath.Join(tm.cipherDir, nametransform.DirIVFilename))

	// Empty, no IV yet.
	emptyName, _ := names.EncryptName("arrived-empty", rootIV)
	if err := os.Mkdir(filepath.Join(tm.cipherDir, emptyName), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, filepath.Join(tm.mnt, "arrived-empty")); len(got) != 0 {
		t.Errorf("an empty directory without IV lists %q", got)
	}
	if _, err := os.Stat(filepath.Join(tm.mnt, "arrived-empty", "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lookup in an empty directory without IV: %v, want ENOENT", err)
	}
	if err := os.WriteFile(filepath.Join(tm.mnt, "arrived-empty", "new.txt"), []byte("new"), 0o644); err != nil {
		t.Fatalf("create in a directory without IV: %v", err)
	}
	if got := listNames(t, filepath.Join(tm.mnt, "arrived-empty")); !slices.Equal(got, []string{"new.txt"}) {
		t.Errorf("after create: %q", got)
	}

	// Names, but the IV is still on its way.
	dirName, _ := names.EncryptName("arrived", rootIV)
	cdir := filepath.Join(tm.cipherDir, dirName)
	if err := os.Mkdir(cdir, 0o755); err != nil {
		t.Fatal(err)
	}
	iv := []byte("iv-still-on-way!")
	file, _ := names.EncryptName("f.txt", iv)
	if err := os.WriteFile(filepath.Join(tm.mnt, "seed"), []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	seed, _ := names.EncryptName("seed", rootIV)
	if err := os.Rename(filepath.Join(tm.cipherDir, seed), filepath.Join(cdir, file)); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, filepath.Join(tm.mnt, "arrived")); len(got) != 0 {
		t.Errorf("a young directory whose IV has not arrived lists %q, want nothing yet", got)
	}
	if err := os.WriteFile(filepath.Join(tm.mnt, "arrived", "new"), nil, 0o644); !errors.Is(err, syscall.EIO) {
		t.Errorf("creating in a directory whose IV has not arrived: %v, want EIO", err)
	}
	tm.m.root.halfSyncGrace.Store(0) // as if it had stayed so for long
	for range 3 {
		if _, err := os.ReadDir(filepath.Join(tm.mnt, "arrived")); !errors.Is(err, syscall.EIO) {
			t.Fatalf("listing a directory whose IV has not arrived for long: %v, want EIO", err)
		}
	}
	st := tm.m.Stats()
	if st.Corruptions != 0 || st.Sync.TransientSeen != 1 || st.Sync.TransientResolved != 0 {
		t.Errorf("before the IV: %+v; want no corruption, one half-synced state", st)
	}
	if n := strings.Count(tm.log.String(), "without its gocryptfs.diriv"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, tm.log)
	}
	if !strings.Contains(tm.log.String(), cdir) {
		t.Errorf("the log line does not name the directory %s:\n%s", cdir, tm.log)
	}
	if err := os.WriteFile(filepath.Join(cdir, nametransform.DirIVFilename), iv, 0o444); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, filepath.Join(tm.mnt, "arrived")); !slices.Equal(got, []string{"f.txt"}) {
		t.Fatalf("after the IV arrived: %q", got)
	}
	if got := mustRead(t, filepath.Join(tm.mnt, "arrived", "f.txt")); string(got) != "content" {
		t.Errorf("arrived/f.txt: %q", got)
	}
	if st := tm.m.Stats(); st.Sync.TransientResolved != 1 || st.Corruptions != 0 {
		t.Errorf("after the IV arrived: %+v; want it resolved", st.Sync)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestLostNameFoundByLookup: a file another machine named under its own
// IV of the directory, which the sync client kept only as a conflict copy,
// is opened by name before anything lists the directory; the lookup finds
// it under the conflict copy's IV and repairs its name.
func TestLostNameFoundByLookup(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	shared := filepath.Join(tm.mnt, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	cdir := cipherSubdir(t, tm)
	cur := mustRead(t, filepath.Join(cdir, nametransform.DirIVFilename))
	// A lookup before the copy arrives must not hide it afterwards.
	if _, err := os.Stat(filepath.Join(shared, "theirs.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat before: %v", err)
	}
	theirIV := []byte("their-lost-iv-16")
	if err := os.WriteFile(filepath.Join(cdir, "gocryptfs.sync-conflict-20261207-101010-ABCDEF7.diriv"), theirIV, 0o444); err != nil {
		t.Fatal(err)
	}
	names := tm.m.root.vol.Names
	long := strings.Repeat("long name ", 25)
	for _, name := range []string{"theirs.txt", long} {
		if err := os.WriteFile(filepath.Join(shared, "seed"), []byte("theirs"), 0o644); err != nil {
			t.Fatal(err)
		}
		seed, _ := names.EncryptName("seed", cur)
		theirs, _ := names.EncryptName(name, theirIV)
		if names.IsLong(theirs) {
			if err := os.WriteFile(filepath.Join(cdir, names.HashLongName(theirs)+".name"), []byte(theirs), 0o444); err != nil {
				t.Fatal(err)
			}
			theirs = names.HashLongName(theirs)
		}
		if err := os.Rename(filepath.Join(cdir, seed), filepath.Join(cdir, theirs)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(dirTTL + 100*time.Millisecond)
	for _, name := range []string{"theirs.txt", long} {
		if got, err := os.ReadFile(filepath.Join(shared, name)); err != nil || string(got) != "theirs" {
			t.Errorf("open %.20s... by name: %q, %v", name, got, err)
		}
	}
	if st := tm.m.Stats(); st.Sync.Repairs != 2 {
		t.Errorf("repairs %d, want 2", st.Sync.Repairs)
	}
}

// TestReplacedIVRepairedByItsMachine: the sync client overwrote the IV and
// left no copy (unison without -copyonconflict, rsync). Only the mount
// that had the old IV knows it: the first operation after it notices the
// change re-encrypts the names, so the other machines get them with the
// next sync.
func TestReplacedIVRepairedByItsMachine(t *testing.T) {
	tm, shared, cdir := mountWithShared(t)
	other := []byte("other-machine-iv")
	ivPath := filepath.Join(cdir, nametransform.DirIVFilename)
	if err := os.WriteFile(ivPath+".tmp", other, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(ivPath+".tmp", ivPath); err != nil {
		t.Fatal(err)
	}
	time.Sleep(dirTTL + 100*time.Millisecond)
	if _, err := os.Stat(filepath.Join(shared, "unrelated")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat: %v", err)
	}
	want, _ := tm.m.root.vol.Names.EncryptName("mine.txt", other)
	if _, err := os.Stat(filepath.Join(cdir, want)); err != nil {
		t.Errorf("mine.txt is not re-encrypted under the kept IV on disk: %v", err)
	}
}
