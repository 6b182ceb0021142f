package sync_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestLostDirIVRepaired: two machines create the same directory, each with
// its own gocryptfs.diriv, and write files into it; the sync client keeps
// one IV and leaves the other as a conflict copy. gocryptfs then hides the
// files whose names were encrypted with the losing IV; veilfs finds them
// under the conflict copy's IV, re-encrypts their names under the kept IV,
// and shows every file, long names included.
func TestLostDirIVRepaired(t *testing.T) {
	for _, mark := range []string{" (laptop's conflicted copy 2026-11-27)", ".sync-conflict-20261127-093015-ABCDEF7"} {
		t.Run(strings.TrimSpace(mark)[:5], func(t *testing.T) {
			harness.RequireFUSE(t)
			base := t.TempDir()
			a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
			harness.InitVolume(t, a, harness.DefaultPassword)
			if out, err := exec.Command("cp", "-a", a, b).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			long := strings.Repeat("a-long-file-name-", 12) + ".txt"
			write := func(cdir string, files map[string]string) {
				mnt := t.TempDir()
				harness.MountVolume(t, cdir, mnt, harness.DefaultPassword)
				if err := os.Mkdir(filepath.Join(mnt, "shared"), 0o755); err != nil {
					t.Fatal(err)
				}
				for name, content := range files {
					if err := os.WriteFile(filepath.Join(mnt, "shared", name), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				harness.Unmount(t, mnt)
			}
			write(a, map[string]string{"from-a.txt": "written on a", long: "long, written on a"})
			write(b, map[string]string{"from-b.txt": "written on b"})

			// Both "shared" directories have the same encrypted name (the
			// root IV is shared). Merge b's into a as a sync client would:
			// b's entries arrive, b's IV wins, a's IV becomes a conflict copy.
			ents, _ := os.ReadDir(b)
			var sharedName string
			for _, e := range ents {
				if e.IsDir() {
					sharedName = e.Name()
				}
			}
			sa, sb := filepath.Join(a, sharedName), filepath.Join(b, sharedName)
			if err := os.Rename(filepath.Join(sa, "gocryptfs.diriv"), filepath.Join(sa, "gocryptfs.diriv"+mark)); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("cp", "-a", sb+"/.", sa).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}

			mnt := t.TempDir()
			harness.MountVolume(t, a, mnt, harness.DefaultPassword)
			got, err := os.ReadDir(filepath.Join(mnt, "shared"))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range got {
				names = append(names, e.Name())
			}
			want := []string{long, "from-a.txt", "from-b.txt"}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("shared/ lists %q, want %q", names, want)
			}
			for name, content := range map[string]string{"from-a.txt": "written on a", long: "long, written on a", "from-b.txt": "written on b"} {
				if data, err := os.ReadFile(filepath.Join(mnt, "shared", name)); err != nil || string(data) != content {
					t.Errorf("shared/%s: %q, %v", name, data, err)
				}
			}
			// Repaired for good: the names are now under the kept IV, so
			// gocryptfs sees them too (after the conflict copy is removed).
			harness.Unmount(t, mnt)
			if err := os.Remove(filepath.Join(sa, "gocryptfs.diriv"+mark)); err != nil {
				t.Fatal(err)
			}
			harness.MountVolume(t, a, mnt, harness.DefaultPassword)
			got, _ = os.ReadDir(filepath.Join(mnt, "shared"))
			if len(got) != 3 {
				t.Errorf("after removing the old IV, shared/ has %d entries, want 3", len(got))
			}
			harness.Unmount(t, mnt)
			harness.RequireGocryptfs(t)
			if out, code := harness.GocryptfsFsck(t, a, harness.DefaultPassword); code != 0 {
				t.Errorf("gocryptfs -fsck after the repair: exit %d\n%s", code, out)
			}
		})
	}
}

// TestLostDirIVRsync: the same, but the copy arrives with rsync, which
// simply overwrites a.'s gocryptfs.diriv with b.'s and leaves no conflict
// copy. Machine a remembers the IVs of the directories it created (outside
// CIPHERDIR), and that is enough to repair its own files' names.
func TestLostDirIVRsync(t *testing.T) {
	harness.RequireFUSE(t)
	harness.RequireTool(t, "rsync", "rsync")
	base := t.TempDir()
	// Each "machine" has its own state directory.
	stateA, stateB := filepath.Join(base, "state-a"), filepath.Join(base, "state-b")
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	harness.InitVolume(t, a, harness.DefaultPassword)
	if out, err := exec.Command("cp", "-a", a, b).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	long := strings.Repeat("a-long-file-name-", 12) + ".txt"
	write := func(state, cdir string, files map[string]string) {
		t.Setenv("VEILFS_STATE_DIR", state)
		mnt := t.TempDir()
		harness.MountVolume(t, cdir, mnt, harness.DefaultPassword)
		if err := os.MkdirAll(filepath.Join(mnt, "shared", "inner"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(mnt, "shared", name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		harness.Unmount(t, mnt)
	}
	write(stateA, a, map[string]string{"from-a.txt": "written on a", long: "long, written on a"})
	write(stateB, b, map[string]string{"from-b.txt": "written on b"})
	// b's copy arrives on a: gocryptfs.diriv of "shared" overwritten.
	if out, err := exec.Command("rsync", "-a", "--ignore-times", b+"/", a+"/").CombinedOutput(); err != nil {
		t.Fatalf("rsync: %v\n%s", err, out)
	}

	t.Setenv("VEILFS_STATE_DIR", stateA)
	mnt := t.TempDir()
	harness.MountVolume(t, a, mnt, harness.DefaultPassword)
	// Both machines made shared/inner: a's shows as a repaired conflict
	// copy next to b's, never hidden or merged blindly.
	want := []string{long, "from-a.txt", "from-b.txt", "inner", "inner (conflict repaired)"}
	slices.Sort(want)
	got, _ := os.ReadDir(filepath.Join(mnt, "shared"))
	var names []string
	for _, e := range got {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, want) {
		t.Fatalf("shared/ lists %q, want %q", names, want)
	}
	for name, content := range map[string]string{"from-a.txt": "written on a", long: "long, written on a", "from-b.txt": "written on b"} {
		if data, err := os.ReadFile(filepath.Join(mnt, "shared", name)); err != nil || string(data) != content {
			t.Errorf("shared/%s: %q, %v", name, data, err)
		}
	}
	harness.Unmount(t, mnt)
	harness.RequireGocryptfs(t)
	if out, code := harness.GocryptfsFsck(t, a, harness.DefaultPassword); code != 0 {
		t.Errorf("gocryptfs -fsck after the repair: exit %d\n%s", code, out)
	}
}
