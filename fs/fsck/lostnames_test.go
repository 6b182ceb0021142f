package fsck

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/syncmem"
	"github.com/veilfs/veilfs/nametransform"
)

// rememberLong writes a memory of long names (as a mount of this machine
// would have) holding the full encrypted name of the plaintext path p.
func rememberLong(tv *tvol, p string) string {
	tv.t.Helper()
	fd, _, _, cname := tv.resolve(p)
	unix.Close(fd)
	path := filepath.Join(tv.t.TempDir(), "longname-memory", "volume")
	syncmem.OpenLongNames(path).Record(cname)
	return path
}

// A long name whose sidecar a sync client lost, and which this machine's
// mounts remember: reported with its real name, and --repair writes the
// sidecar back (nothing is moved); the next check is clean.
func TestLostSidecarRemembered(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	mem := rememberLong(tv, longL)
	side := nametransform.SidecarName(tv.abs(longL))
	want, err := os.ReadFile(side)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(side)

	before := snapshot(t, tv.dir)
	rep := tv.check(Options{LongNameMemory: mem})
	if !maps.Equal(before, snapshot(t, tv.dir)) {
		t.Error("a check without --repair changed the volume")
	}
	if len(rep.Problems) != 1 {
		t.Fatalf("want one problem:\n%s", dumpReport(rep))
	}
	if p := rep.Problems[0]; p.Kind != BadSidecar || p.PlainPath != longL || !strings.Contains(p.Detail, "remember") {
		t.Errorf("problem %+v", p)
	}
	// Without the memory the name is lost (the report says so) ...
	if p := tv.check(Options{}).Problems[0]; p.PlainPath != nametransform.LostLongName(tv.cpath(longL)) || !strings.Contains(p.Detail, "lost") {
		t.Errorf("without the memory: %+v", p)
	}

	fixed := tv.check(Options{Repair: true, LongNameMemory: mem})
	if p := fixed.Problems[0]; !p.Repaired || !strings.Contains(p.Action, "memory") {
		t.Fatalf("not repaired:\n%s", dumpReport(fixed))
	}
	if got, err := os.ReadFile(side); err != nil || string(got) != string(want) {
		t.Errorf("the sidecar holds %q, %v; want %q", got, err, want)
	}
	if again := tv.check(Options{}); len(again.Problems) != 0 {
		t.Errorf("after the repair:\n%s", dumpReport(again))
	}
	if !slices.Contains(tv.list(""), longL) {
		t.Errorf("the root lists %q", tv.list(""))
	}
}

// A memory that holds another name (damaged, planted, or another volume's)
// restores nothing: the entry's name is reported lost.
func TestLostSidecarForeignMemory(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	mem := rememberLong(tv, "dir/"+longM)
	os.Remove(nametransform.SidecarName(tv.abs(longL)))
	rep := tv.check(Options{Repair: true, LongNameMemory: mem})
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Action, "renamed to") {
		t.Fatalf("want the lost name renamed:\n%s", dumpReport(rep))
	}
	if _, err := os.Stat(nametransform.SidecarName(tv.abs(longL))); err == nil {
		t.Error("a sidecar was written from another name")
	}
}

// A long name whose sidecar is lost and which nothing remembers: reported
// under the name a mount shows, and --repair renames it in place to that
// name, encrypted as a real one (with a sidecar when that is long itself):
// a second run is clean, the file reads back, and nothing went to
// quarantine. A conflict copy of it gets the synthetic name with its
// marker.
func TestLostSidecarRenamed(t *testing.T) {
	for _, k := range []struct {
		name string
		opts config.CreateOptions
	}{
		{"default", config.CreateOptions{}},
		{"longnamemax-62", config.CreateOptions{LongNameMax: 62}}, // "lost name H" is a long name too
		{"deterministic-names", config.CreateOptions{DeterministicNames: true}},
	} {
		t.Run(k.name, func(t *testing.T) {
			tv := newVolume(t, k.opts)
			populate(tv)
			obj := tv.abs(longL)
			if err := os.Link(obj, obj+" (conflicted copy 2026-11-27)"); err != nil {
				t.Fatal(err)
			}
			os.Remove(nametransform.SidecarName(obj))
			lost := nametransform.LostLongName(filepath.Base(obj))
			lostCopy := lost + " (conflict 2026-11-27)"

			rep := tv.check(Options{})
			var shown []string
			for _, p := range rep.Problems {
				if p.Kind != BadSidecar || !strings.Contains(p.Detail, "lost") {
					t.Errorf("problem %+v", p)
				}
				shown = append(shown, p.PlainPath)
			}
			if slices.Sort(shown); !slices.Equal(shown, []string{lost, lostCopy}) {
				t.Fatalf("reported as %q, want %q:\n%s", shown, []string{lost, lostCopy}, dumpReport(rep))
			}

			fixed := tv.check(Options{Repair: true})
			if !fixed.Summary.Clean || fixed.Summary.Quarantine != "" {
				t.Fatalf("repair:\n%s", dumpReport(fixed))
			}
			if again := tv.check(Options{}); len(again.Problems) != 0 {
				t.Fatalf("after the repair:\n%s", dumpReport(again))
			}
			root := tv.list("")
			for _, n := range []string{lost, lostCopy} {
				if !slices.Contains(root, n) {
					t.Errorf("the root lists %q, without %q", root, n)
				}
				if got, err := tv.readFile(n); err != nil || string(got) != string(payload(longL, sizes[longL])) {
					t.Errorf("%s: %v", n, err)
				}
			}
			if _, err := os.Lstat(obj); !os.IsNotExist(err) {
				t.Errorf("the object is still under its old name: %v", err)
			}
		})
	}
}

// A name already taken (a file the user called "lost name H") is never
// replaced: the entry gets "lost name H~2".
func TestLostSidecarNameTaken(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	obj := tv.abs(longL)
	lost := nametransform.LostLongName(filepath.Base(obj))
	tv.writeFile(lost, []byte("the user's own"))
	os.Remove(nametransform.SidecarName(obj))
	if rep := tv.check(Options{Repair: true}); !rep.Summary.Clean {
		t.Fatalf("repair:\n%s", dumpReport(rep))
	}
	if got, err := tv.readFile(lost); err != nil || string(got) != "the user's own" {
		t.Errorf("%s: %q, %v", lost, got, err)
	}
	if got, err := tv.readFile(lost + "~2"); err != nil || string(got) != string(payload(longL, sizes[longL])) {
		t.Errorf("%s~2: %v", lost, err)
	}
}

// Giving a lost name its synthetic name survives a crash at every step,
// also where the synthetic name needs a sidecar of its own: the next
// repair finishes, and nothing is left behind.
func TestLostSidecarCrashAtEveryStep(t *testing.T) {
	for _, k := range []struct {
		name string
		opts config.CreateOptions
	}{
		{"default", config.CreateOptions{}},
		{"longnamemax-62", config.CreateOptions{LongNameMax: 62}},
	} {
		setup := func(t *testing.T) *tvol {
			tv := newVolume(t, k.opts)
			populate(tv)
			os.Remove(nametransform.SidecarName(tv.abs(longL)))
			return tv
		}
		steps := stepsOf(t, setup)
		for i, step := range steps {
			t.Run(fmt.Sprintf("%s/%02d-%s", k.name, i, step), func(t *testing.T) {
				tv := setup(t)
				lost := nametransform.LostLongName(tv.cpath(longL))
				if !runCrashing(t, tv, i) {
					t.Fatal("the run did not reach the step")
				}
				if rep := tv.check(Options{Repair: true}); !rep.Summary.Clean {
					t.Fatalf("the repair after the crash did not finish:\n%s", dumpReport(rep))
				}
				if again := tv.check(Options{}); len(again.Problems) != 0 {
					t.Fatalf("after the repair:\n%s", dumpReport(again))
				}
				if got, err := tv.readFile(lost); err != nil || string(got) != string(payload(longL, sizes[longL])) {
					t.Errorf("%s: %v", lost, err)
				}
			})
		}
	}
}

// TestLostSidecarOfConflictCopyOnly: unison's "deleted on one side, changed
// on the other" leaves only a conflict copy of a long-name object, with no
// sidecar and no original ("gocryptfs.longname (conflict_on_DATE_was_deleted).H").
// With the name remembered, --repair writes the sidecar the copy reads
// (this used to recurse for ever: the original it checked for is gone);
// without, it gives the copy its lost name. Either way the next check has
// no error.
func TestLostSidecarOfConflictCopyOnly(t *testing.T) {
	for _, remembered := range []bool{false, true} {
		t.Run(map[bool]string{false: "forgotten", true: "remembered"}[remembered], func(t *testing.T) {
			tv := newVolume(t, config.CreateOptions{})
			populate(tv)
			obj := tv.abs(longL)
			var mem string
			if remembered {
				mem = rememberLong(tv, longL)
			}
			hash := strings.TrimPrefix(filepath.Base(obj), "gocryptfs.longname.")
			cp := filepath.Join(filepath.Dir(obj), "gocryptfs.longname (conflict_on_2026-12-07_was_deleted)."+hash)
			if err := os.Rename(obj, cp); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(nametransform.SidecarName(obj)); err != nil {
				t.Fatal(err)
			}
			fixed := tv.check(Options{Repair: true, LongNameMemory: mem})
			if len(fixed.Problems) == 0 || !fixed.Problems[0].Repaired {
				t.Fatalf("repair:\n%s", dumpReport(fixed))
			}
			if again := tv.check(Options{LongNameMemory: mem}); len(errorKinds(again)) != 0 {
				t.Fatalf("after the repair:\n%s", dumpReport(again))
			}
			if _, err := os.Stat(nametransform.SidecarName(obj)); (err == nil) != remembered {
				t.Errorf("sidecar of the original after the repair: %v", err)
			}
		})
	}
}
