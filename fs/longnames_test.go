//go:build linux

package fs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/fsck"
	"github.com/veilfs/veilfs/nametransform"
)

// longObjects returns the long-name objects (not sidecars) in dir.
func longObjects(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range listNames(t, dir) {
		if nametransform.Classify(n) == nametransform.KindLongName {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out
}

// writeLong writes the long-named file name through the mount and returns
// its object in CIPHERDIR (the only long name there).
func writeLong(t *testing.T, tm *testMount, name, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tm.mnt, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := longObjects(t, tm.cipherDir)
	if len(objs) != 1 {
		t.Fatalf("long-name objects %q", objs)
	}
	return objs[0]
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

// A long name whose sidecar a sync client lost, and which this machine
// remembers (it wrote the file): the listing writes the sidecar back,
// counts a repair, says so once, and shows the real name.
func TestLostSidecarRestoredFromMemory(t *testing.T) {
	mem := filepath.Join(t.TempDir(), "longname-memory", "volume")
	tm := newTestMountWith(t, config.CreateOptions{}, Options{LongNameMemory: mem})
	long := strings.Repeat("L", 200)
	obj := writeLong(t, tm, long, "kept by the edit")
	side := nametransform.SidecarName(obj)
	want := readString(t, side)
	if err := os.Remove(side); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		if got := listNames(t, tm.mnt); !slices.Equal(got, []string{long}) {
			t.Fatalf("the root lists %q, want %q", got, []string{long})
		}
	}
	if got := readString(t, side); got != want {
		t.Errorf("the sidecar holds %q, want %q", got, want)
	}
	if got := readString(t, filepath.Join(tm.mnt, long)); got != "kept by the edit" {
		t.Errorf("content %q", got)
	}
	st := tm.m.Stats()
	if st.Sync.Repairs != 1 || st.Corruptions != 0 || st.Sync.TransientSeen != 0 {
		t.Errorf("stats %+v, want 1 repair, nothing else", st)
	}
	logged := tm.log.String()
	if strings.Count(logged, "restored the name of "+obj) != 1 || strings.Contains(logged, "undecryptable") || strings.Contains(logged, "corrupt") {
		t.Errorf("log:\n%s", logged)
	}
	if strings.Contains(logged, long) {
		t.Errorf("the log holds a plaintext name:\n%s", logged)
	}
}

// Nothing remembers the name: the entry shows under its synthetic name,
// once noted as half-synced (not as damage), reads, renames to a real name
// (which gets a proper sidecar, and leaves a volume fsck finds clean) and
// deletes; a lost directory can be entered.
func TestLostSidecarShown(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	long := strings.Repeat("L", 200)
	obj := writeLong(t, tm, long, "kept by the edit")
	os.Remove(nametransform.SidecarName(obj))
	lost := nametransform.LostLongName(filepath.Base(obj))

	for range 3 {
		if got := listNames(t, tm.mnt); !slices.Equal(got, []string{lost}) {
			t.Fatalf("the root lists %q, want %q", got, []string{lost})
		}
	}
	if got := readString(t, filepath.Join(tm.mnt, lost)); got != "kept by the edit" {
		t.Errorf("content %q", got)
	}
	st := tm.m.Stats()
	if st.Sync.TransientSeen != 1 || st.Sync.TransientResolved != 0 || st.Corruptions != 0 || st.Sync.Repairs != 0 {
		t.Errorf("stats %+v, want one half-synced state", st)
	}
	logged := tm.log.String()
	if strings.Count(logged, "notice:") != 1 || !strings.Contains(logged, filepath.Base(obj)) ||
		!strings.Contains(logged, tm.cipherDir) || strings.Contains(logged, "undecryptable") || strings.Contains(logged, "corrupt") {
		t.Errorf("log:\n%s", logged)
	}

	// Renamed to a real (long) name: an ordinary entry with its sidecar.
	renamed := strings.Repeat("R", 200)
	if err := os.Rename(filepath.Join(tm.mnt, lost), filepath.Join(tm.mnt, renamed)); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, tm.mnt); !slices.Equal(got, []string{renamed}) {
		t.Fatalf("after the rename the root lists %q", got)
	}
	objs := longObjects(t, tm.cipherDir)
	if len(objs) != 1 || objs[0] == obj {
		t.Fatalf("objects %q", objs)
	}
	if _, err := os.Stat(nametransform.SidecarName(objs[0])); err != nil {
		t.Errorf("the new name has no sidecar: %v", err)
	}
	if got := readString(t, filepath.Join(tm.mnt, renamed)); got != "kept by the edit" {
		t.Errorf("content %q", got)
	}
	if st := tm.m.Stats(); st.Sync.TransientResolved != 1 {
		t.Errorf("after the rename to a real name: %+v, want the wait resolved", st.Sync)
	}

	// A lost directory can be entered, and a lost file deleted.
	if err := os.Mkdir(filepath.Join(tm.mnt, long), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tm.mnt, long, "inside.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	dobj := filepath.Join(tm.cipherDir, filepath.Base(tm.diskName(t, long)))
	os.Remove(nametransform.SidecarName(dobj))
	dlost := nametransform.LostLongName(filepath.Base(dobj))
	if got := listNames(t, filepath.Join(tm.mnt, dlost)); !slices.Equal(got, []string{"inside.txt"}) {
		t.Errorf("%s lists %q", dlost, got)
	}
	if err := os.RemoveAll(filepath.Join(tm.mnt, dlost)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dobj); !os.IsNotExist(err) {
		t.Errorf("the lost directory is still there: %v", err)
	}

	tm.unmount()
	conf, err := cipherdir.LoadConfig(tm.cipherDir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fsck.Run(tm.cipherDir, conf, tm.master, fsck.Options{})
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("fsck after the rename: %v %+v", err, rep)
	}
}

// The sidecar arrives later (a sync client delivered the object first):
// the next listing shows the real name, without a remount, and the
// half-synced state counts as resolved.
func TestLostSidecarArrives(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	long := strings.Repeat("L", 200)
	obj := writeLong(t, tm, long, "x")
	side := nametransform.SidecarName(obj)
	aside := filepath.Join(t.TempDir(), "sidecar")
	if err := os.Rename(side, aside); err != nil {
		t.Fatal(err)
	}
	lost := nametransform.LostLongName(filepath.Base(obj))
	if got := listNames(t, tm.mnt); !slices.Equal(got, []string{lost}) {
		t.Fatalf("the root lists %q, want %q", got, []string{lost})
	}
	if err := os.Rename(aside, side); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, tm.mnt); !slices.Equal(got, []string{long}) {
		t.Fatalf("with the sidecar back the root lists %q", got)
	}
	st := tm.m.Stats()
	if st.Sync.TransientSeen != 1 || st.Sync.TransientResolved != 1 || st.Corruptions != 0 {
		t.Errorf("stats %+v, want one half-synced state, resolved", st)
	}
	if n := strings.Count(tm.log.String(), "notice:"); n != 1 {
		t.Errorf("%d notices:\n%s", n, tm.log.String())
	}
}

// diskName is the name on disk of the plaintext name in the root.
func (tm *testMount) diskName(t *testing.T, name string) string {
	t.Helper()
	v := tm.m.root.vol
	iv, err := v.DirIVAt(tm.m.root.rootfd)
	if err != nil {
		t.Fatal(err)
	}
	disk, _, err := v.DiskName(name, iv, true)
	if err != nil {
		t.Fatal(err)
	}
	return disk
}

// TestLongNameRememberedByLookup: a long-named file that arrived from
// another machine and was only ever opened by name here (never listed) is
// remembered too: when the sync client loses its sidecar (deleted on one
// machine, edited on this one), the listing gives its name back.
func TestLongNameRememberedByLookup(t *testing.T) {
	mem := filepath.Join(t.TempDir(), "longname-memory", "volume")
	tm := newTestMountWith(t, config.CreateOptions{}, Options{LongNameMemory: mem})
	if err := os.WriteFile(filepath.Join(tm.mnt, "seed"), []byte("from elsewhere"), 0o644); err != nil {
		t.Fatal(err)
	}
	names := tm.m.root.vol.Names
	rootIV := mustRead(t, filepath.Join(tm.cipherDir, nametransform.DirIVFilename))
	long := strings.Repeat("E", 200)
	cname, _ := names.EncryptName(long, rootIV)
	obj := filepath.Join(tm.cipherDir, names.HashLongName(cname))
	seed, _ := names.EncryptName("seed", rootIV)
	if err := os.WriteFile(nametransform.SidecarName(obj), []byte(cname), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tm.cipherDir, seed), obj); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(tm.mnt, long)); got != "from elsewhere" {
		t.Fatalf("content %q", got)
	}
	if err := os.Remove(nametransform.SidecarName(obj)); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, tm.mnt); !slices.Equal(got, []string{long}) {
		t.Fatalf("the root lists %q, want the real name", got)
	}
	if st := tm.m.Stats(); st.Sync.Repairs != 1 {
		t.Errorf("repairs %d, want 1", st.Sync.Repairs)
	}
}
