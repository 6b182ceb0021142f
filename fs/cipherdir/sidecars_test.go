package cipherdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// testMemory is a LongNameMemory that answers whatever it was told for an
// object name, hash or not: RecallName must check.
type testMemory struct {
	mu       sync.Mutex
	recorded []string
	answers  map[string]string // object -> name
}

func (m *testMemory) Record(cname string) {
	m.mu.Lock()
	m.recorded = append(m.recorded, cname)
	m.mu.Unlock()
}

func (m *testMemory) Recall(obj string) (string, bool) {
	c, ok := m.answers[obj]
	return c, ok
}

// lostSetup makes the long-named file long in the root, removes its
// sidecar and returns its object and full encrypted name.
func lostSetup(t *testing.T, v *Volume, root int, long string) (obj, cname string) {
	t.Helper()
	obj = makePath(t, v, root, long, []byte("content"))
	iv, _ := v.DirIVAt(root)
	_, cname, _ = v.DiskName(long, iv, true)
	if err := os.Remove(filepath.Join(v.Dir, nametransform.SidecarName(obj))); err != nil {
		t.Fatal(err)
	}
	return obj, cname
}

// A missing sidecar is told apart from a damaged one; the entry shows
// under its synthetic name, which a lookup maps back to the object, and
// its conflict copies under that name with their marker.
func TestShownNameLost(t *testing.T) {
	long := strings.Repeat("L", 200)
	v, root := newTestVolume(t, config.CreateOptions{})
	iv, _ := v.DirIVAt(root)
	obj, _ := lostSetup(t, v, root, long)
	lost := "lost name " + strings.TrimPrefix(obj, nametransform.LongNamePrefix)

	_, _, err := v.EntryName(root, obj, iv, true)
	if !errors.Is(err, ErrNoSidecar) || !errors.Is(err, ErrBadSidecar) {
		t.Fatalf("EntryName: %v, want ErrNoSidecar (and ErrBadSidecar)", err)
	}
	sh, err := v.ShownName(root, obj, iv, true)
	if err != nil || sh.Name != lost || !sh.Lost || sh.Recalled || sh.Conflict != nil {
		t.Fatalf("ShownName = %+v, %v; want %q, lost", sh, err, lost)
	}
	if got, err := v.LostDiskName(root, lost, iv, true); err != nil || got != obj {
		t.Errorf("LostDiskName(%q) = %q, %v; want %q", lost, got, err, obj)
	}
	for _, other := range []string{"lost name AAAA", lost + "x", long} {
		if got, err := v.LostDiskName(root, other, iv, true); err == nil {
			t.Errorf("LostDiskName(%q) = %q", other, got)
		}
	}

	// A sync client's conflict copy shares the lost sidecar.
	cp := obj + " (conflicted copy 2026-11-27)"
	os.WriteFile(filepath.Join(v.Dir, cp), nil, 0o644)
	sh, err = v.ShownName(root, cp, iv, true)
	if want := lost + " (conflict 2026-11-27)"; err != nil || sh.Name != want || !sh.Lost || sh.Conflict == nil {
		t.Fatalf("ShownName(copy) = %+v, %v; want %q", sh, err, want)
	}
	if got, err := v.ConflictDiskName(root, sh.Name, iv, true); err != nil || got != cp {
		t.Errorf("ConflictDiskName = %q, %v; want %q", got, err, cp)
	}

	// The sidecar is back: the real name again, and the synthetic one
	// finds nothing.
	iv2, _ := v.DirIVAt(root)
	disk, cname, _ := v.DiskName(long, iv2, true)
	if _, err := v.WriteSidecar(root, disk, cname); err != nil {
		t.Fatal(err)
	}
	if sh, err := v.ShownName(root, obj, iv, true); err != nil || sh.Name != long || sh.Lost {
		t.Errorf("with the sidecar: %+v, %v", sh, err)
	}
	if got, err := v.LostDiskName(root, lost, iv, true); err == nil {
		t.Errorf("LostDiskName with the sidecar back = %q", got)
	}
}

// A present but damaged sidecar stays damage: not a lost name, even when
// the object's hash contains a '-' that OneDrive's weak conflict pattern
// matches.
func TestDamagedSidecarIsNotLost(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	iv, _ := v.DirIVAt(root)
	var obj string
	for i := 0; ; i++ {
		long := strings.Repeat("L", 190) + strings.Repeat("x", i)
		disk, _, _ := v.DiskName(long, iv, true)
		if orig, _, ok := nametransform.SplitConflict(disk); ok && nametransform.Classify(orig) == nametransform.KindLongName {
			obj = makePath(t, v, root, long, []byte("x"))
			break
		}
	}
	side := filepath.Join(v.Dir, nametransform.SidecarName(obj))
	b, _ := os.ReadFile(side)
	b[10] ^= 1
	os.WriteFile(side, b, 0o444)
	_, _, err := v.EntryName(root, obj, iv, true)
	if !errors.Is(err, ErrBadSidecar) || errors.Is(err, ErrNoSidecar) {
		t.Fatalf("EntryName: %v, want ErrBadSidecar only", err)
	}
	if sh, err := v.ShownName(root, obj, iv, true); err == nil {
		t.Errorf("ShownName = %+v", sh)
	}
	if _, err := v.LostDiskName(root, nametransform.LostLongName(obj), iv, true); err == nil {
		t.Error("a damaged sidecar's object is found by its synthetic name")
	}
}

// The memory is told every long name read or written, and is trusted for
// nothing: a recalled name must hash to the object.
func TestLongNameMemory(t *testing.T) {
	long, other := strings.Repeat("L", 200), strings.Repeat("O", 200)
	v, root := newTestVolume(t, config.CreateOptions{})
	mem := &testMemory{answers: map[string]string{}}
	v.LongNames = mem
	iv, _ := v.DirIVAt(root)
	obj, cname := lostSetup(t, v, root, long)
	_, otherCname, _ := v.DiskName(other, iv, true)
	if len(mem.recorded) != 1 || mem.recorded[0] != cname {
		t.Errorf("recorded %q, want the name written", mem.recorded)
	}

	// A name that is not the object's is refused.
	mem.answers[obj] = otherCname
	if sh, err := v.ShownName(root, obj, iv, true); err != nil || !sh.Lost {
		t.Errorf("a wrong memory gave %+v, %v", sh, err)
	}
	if restored, err := v.RestoreSidecar(root, obj); restored || err != nil {
		t.Errorf("RestoreSidecar with a wrong memory: %v, %v", restored, err)
	}

	// The right one: shown under its name, and restored whole.
	mem.answers[obj] = cname
	if sh, err := v.ShownName(root, obj, iv, true); err != nil || sh.Name != long || !sh.Recalled || sh.Lost {
		t.Errorf("ShownName = %+v, %v", sh, err)
	}
	if _, err := v.LostDiskName(root, nametransform.LostLongName(obj), iv, true); err == nil {
		t.Error("a remembered name is found by its synthetic name too")
	}
	restored, err := v.RestoreSidecar(root, obj)
	if err != nil || !restored {
		t.Fatalf("RestoreSidecar = %v, %v", restored, err)
	}
	got, err := v.ReadSidecar(root, obj)
	if err != nil || got != cname {
		t.Fatalf("the restored sidecar reads %q, %v", got, err)
	}
	var st unix.Stat_t
	unix.Fstatat(root, nametransform.SidecarName(obj), &st, 0)
	if st.Mode&0o777 != dirIVPerm {
		t.Errorf("sidecar mode %#o, want %#o", st.Mode&0o777, dirIVPerm)
	}
	if restored, err := v.RestoreSidecar(root, obj); restored || err != nil {
		t.Errorf("a second RestoreSidecar: %v, %v", restored, err)
	}
	if n := len(mem.recorded); mem.recorded[n-1] != cname {
		t.Errorf("reading the sidecar did not record it: %q", mem.recorded)
	}

	// An object that has gone gets no sidecar.
	gone := v.Names.HashLongName(otherCname)
	mem.answers[gone] = otherCname
	if restored, err := v.RestoreSidecar(root, gone); restored || err != nil {
		t.Errorf("RestoreSidecar of a missing object: %v, %v", restored, err)
	}
	if _, err := os.Lstat(filepath.Join(v.Dir, nametransform.SidecarName(gone))); !os.IsNotExist(err) {
		t.Errorf("a sidecar was written for a missing object: %v", err)
	}
}

// WriteSidecarWhole creates a sidecar once, reuses an identical one and
// never replaces another.
func TestWriteSidecarWhole(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	iv, _ := v.DirIVAt(root)
	disk, cname, _ := v.DiskName(strings.Repeat("W", 200), iv, true)
	_, otherCname, _ := v.DiskName(strings.Repeat("X", 200), iv, true)
	if created, err := v.WriteSidecarWhole(root, disk, cname); err != nil || !created {
		t.Fatalf("first: %v, %v", created, err)
	}
	if created, err := v.WriteSidecarWhole(root, disk, cname); err != nil || created {
		t.Errorf("identical: %v, %v", created, err)
	}
	if _, err := v.WriteSidecarWhole(root, disk, otherCname); !errors.Is(err, unix.EEXIST) {
		t.Errorf("another content: %v, want EEXIST", err)
	}
	if got, err := v.ReadSidecar(root, disk); err != nil || got != cname {
		t.Errorf("reads %q, %v", got, err)
	}
}

// veilfs path and ls see what a mount shows: the synthetic name both ways,
// with the sidecar to restore named.
func TestPathLostName(t *testing.T) {
	long := strings.Repeat("L", 200)
	v, root := newTestVolume(t, config.CreateOptions{})
	makePath(t, v, root, "dir/", nil)
	obj := makePath(t, v, root, "dir/"+long, []byte("x"))
	os.Remove(filepath.Join(v.Dir, nametransform.SidecarName(obj)))
	dir, objName := filepath.Split(obj)
	lost := nametransform.LostLongName(objName)

	p, role, err := v.DecryptPath(root, obj)
	if err != nil || role != RoleEntry || p.Plain() != "/dir/"+lost {
		t.Fatalf("DecryptPath = %v %v %v", p, role, err)
	}
	if last := p.Steps[1]; !last.Lost || last.Sidecar != objName+".name" {
		t.Errorf("step %+v", last)
	}
	back, err := v.EncryptPath(root, "dir/"+lost)
	if err != nil || back.Cipher() != obj || !back.Exists || !back.Steps[1].Lost {
		t.Errorf("EncryptPath = %+v, %v", back, err)
	}
	if files := v.RestoreFiles(back); files[0] != obj || files[1] != dir+objName+".name" {
		t.Errorf("RestoreFiles = %q", files)
	}
	dfd, _ := OpenDirAt(root, strings.TrimSuffix(dir, "/"))
	defer closeFD(dfd)
	iv, _ := v.DirIVAt(dfd)
	entries, _ := v.ListDir(dfd, iv, false)
	for _, e := range entries {
		if e.Disk == objName && (e.Step.Plain != lost || !e.Step.Lost || e.NameErr != nil) {
			t.Errorf("ListDir: %+v", e)
		}
	}
}
