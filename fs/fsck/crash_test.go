package fsck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// stepsOf runs a repair of a fresh volume made by setup and returns the
// fault steps it passes, in order.
func stepsOf(t *testing.T, setup func(t *testing.T) *tvol) []string {
	t.Helper()
	tv := setup(t)
	var steps []string
	tv.check(Options{Repair: true, fault: func(s string) error { steps = append(steps, s); return nil }})
	if len(steps) == 0 {
		t.Fatal("the repair passed no fault step")
	}
	return steps
}

// runCrashing runs a repair that stops ("crashes") at its n-th fault step;
// it reports whether the run got that far.
func runCrashing(t *testing.T, tv *tvol, n int) bool {
	t.Helper()
	conf, err := cipherdir.LoadConfig(tv.dir)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	_, err = Run(tv.dir, conf, tv.master, Options{
		Repair: true,
		Now:    func() time.Time { return time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC) },
		fault: func(string) error {
			if i == n {
				return errors.New("crash")
			}
			i++
			return nil
		},
	})
	switch {
	case errors.Is(err, errFault):
		return true
	case err != nil:
		t.Fatalf("repair: %v", err)
	}
	return false
}

// ours lists every entry of CIPHERDIR whose name fsck uses for itself.
func fsckLeftovers(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && (strings.HasPrefix(fi.Name(), cipherdir.FsckReIVPrefix) || fi.Name() == cipherdir.FsckMovingName || fi.Name() == cipherdir.DirIVTmpName) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// Re-encrypting the names of a directory whose IV is duplicated survives a
// crash at every step, and a crash of the run that resumes it: the next
// repair finishes, every entry is there under its name with its content,
// and nothing of the repair is left.
func TestReIVCrashAtEveryStep(t *testing.T) {
	setup := func(t *testing.T) *tvol {
		tv := newVolume(t, config.CreateOptions{})
		populate(tv)
		copyDir(t, tv, "dir", "dircopy") // dircopy and dircopy/sub: two re-encryptions
		return tv
	}
	steps := stepsOf(t, setup)
	for i, step := range steps {
		t.Run(fmt.Sprintf("%02d-%s", i, step), func(t *testing.T) {
			tv := setup(t)
			if !runCrashing(t, tv, i) {
				t.Fatal("the run did not reach the step")
			}
			if mid := tv.check(Options{}); mid.Summary.Clean {
				t.Errorf("a check after the crash finds nothing to do:\n%s", dumpReport(mid))
			}
			// The resuming run crashes too, somewhere early.
			runCrashing(t, tv, i%3)
			rep := tv.check(Options{Repair: true})
			if !rep.Summary.Clean {
				t.Fatalf("the repair after the crashes did not finish:\n%s", dumpReport(rep))
			}
			if again := tv.check(Options{}); len(again.Problems) != 0 {
				t.Fatalf("after the repair:\n%s", dumpReport(again))
			}
			if left := fsckLeftovers(t, tv.dir); len(left) != 0 {
				t.Errorf("left behind: %q", left)
			}
			want := tv.list("dir")
			if got := tv.list("dircopy"); !slices.Equal(got, want) {
				t.Errorf("dircopy holds %q, want %q", got, want)
			}
			for _, p := range []string{"b.txt", "sub/c.txt", longM} {
				got, err := tv.readFile("dircopy/" + p)
				if err != nil || string(got) != string(payload("dir/"+p, sizes["dir/"+p])) {
					t.Errorf("dircopy/%s: %v", p, err)
				}
			}
		})
	}
}

// The other repairs survive a crash at every step too: what was moved to
// quarantine is there (nothing lost, nothing twice), and a second repair
// leaves a clean volume.
func TestRepairCrashAtEveryStep(t *testing.T) {
	setup := func(t *testing.T) *tvol {
		tv := newVolume(t, config.CreateOptions{})
		populate(tv)
		p := tv.abs("dir2/d.txt")
		os.Rename(p, p[:len(p)-3])                                                // bad name
		truncate(t, tv.abs("dir/b.txt"), 7)                                       // bad header
		os.Remove(nametransform.SidecarName(tv.abs(longL)))                       // lost name: given its synthetic one
		os.Remove(filepath.Join(tv.abs("emptydir"), nametransform.DirIVFilename)) // missing IV, empty
		writeRaw(t, filepath.Join(tv.abs("dir"), "gocryptfs.longname.QUFB.name"), []byte("x"))
		writeRaw(t, filepath.Join(tv.dir, "gocryptfs.conf.tmp"), nil)
		// A bad sidecar: there, but not the name its object's hash promises.
		side := nametransform.SidecarName(tv.abs("dir/" + longM))
		b, _ := os.ReadFile(side)
		b[10] ^= 1
		writeRaw(t, side, b)
		return tv
	}
	steps := stepsOf(t, setup)
	for i, step := range steps {
		t.Run(fmt.Sprintf("%02d-%s", i, step), func(t *testing.T) {
			tv := setup(t)
			if !runCrashing(t, tv, i) {
				t.Fatal("the run did not reach the step")
			}
			rep := tv.check(Options{Repair: true})
			if !rep.Summary.Clean {
				t.Fatalf("the repair after the crash did not finish:\n%s", dumpReport(rep))
			}
			if again := tv.check(Options{}); len(errorKinds(again)) != 0 {
				t.Fatalf("after the repair:\n%s", dumpReport(again))
			}
			var moved []string
			for _, n := range tv.list("") {
				if isQuarantineName(n) {
					moved = append(moved, tv.list(n)...)
				}
			}
			if len(moved) != 3 {
				t.Errorf("the quarantine directories hold %q, want the 3 broken entries", moved)
			}
			lost := nametransform.LostLongName(tv.cpath(longL))
			if got, err := tv.readFile(lost); err != nil || string(got) != string(payload(longL, sizes[longL])) {
				t.Errorf("%s, the long name without its sidecar: %v", lost, err)
			}
		})
	}
}
