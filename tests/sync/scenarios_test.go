package sync_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/nametransform"
	"github.com/veilfs/veilfs/tests/harness"
)

// Long plaintext names (> 175 bytes): veilfs stores them as
// gocryptfs.longname.HASH plus a .name sidecar.
var (
	longDeleted = strings.Repeat("long-name-deleted-on-A-edited-on-B-", 6) + ".txt"
	longRenamed = strings.Repeat("long-name-renamed-on-A-edited-on-B-", 6) + ".txt"
	longNewName = strings.Repeat("long-name-after-the-rename-on-A-", 6) + ".txt"
	longSharedA = strings.Repeat("long-name-written-on-A-in-a-new-dir-", 6) + ".txt"
	longSharedB = strings.Repeat("long-name-written-on-B-in-a-new-dir-", 6) + ".txt"
)

// syncer is a real sync client carrying changes between the CIPHERDIRs
// of machines A and B (syncthing_test.go, unison_test.go).
type syncer interface {
	// settle carries every change both ways and returns once the client
	// has nothing left to do.
	settle(t *testing.T, what string)
	// pause stops carrying changes, so that both sides can change the
	// same things independently; resume makes the next settle carry them.
	pause(t *testing.T)
	resume(t *testing.T)
	// dump is the client's side of a failed scenario's diagnostics.
	dump() string
	// ownFiles matches the paths (relative to CIPHERDIR) of the client's
	// own files, which fsck must leave alone.
	ownFiles() *regexp.Regexp
	// leftoverTemp is the name of a temporary file an interrupted
	// transfer leaves in a directory.
	leftoverTemp() string
}

// env is what the scenarios share: the client, both machines, and the
// content of every file that must still be readable in both mounts after
// fsck --repair (scenario h): the user wrote it and never deleted it.
type env struct {
	sync syncer
	A, B *machine
	keep map[string]string // content -> what it is
}

func (e *env) mustSurvive(what string, contents ...string) {
	for _, c := range contents {
		e.keep[c] = what
	}
}

type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

// allScenarios are the scenarios of issue #13, in the order they run.
var allScenarios = []scenario{
	{"a-propagation", scPropagation},
	{"b-concurrent-edit", scConcurrentEdit},
	{"c-same-new-dir", scSameNewDir},
	{"d-write-after-iv-conflict", scWriteAfterIVConflict},
	{"e-dir-rename-vs-edit", scDirRenameVsEdit},
	{"f-longname-vs-edit", scLongNameVsEdit},
	{"g-burst-while-walking", scBurstWhileWalking},
	{"h-fsck-and-repair", scFsck},
}

// runScenarios mounts both machines' CIPHERDIRs (the volume must have
// reached B already) and runs the scenarios in order, each in its own
// top-level directory (its name's first letter). The mounts stay mounted
// throughout, except in h, which unmounts for fsck and mounts again. On
// a failure it logs both mounts' listings, the ciphertext trees, both
// daemons' logs and the client's state.
func runScenarios(t *testing.T, s syncer, A, B *machine, scenarios []scenario) {
	t.Helper()
	start := time.Now()
	A.mount(t)
	B.mount(t)
	e := &env{sync: s, A: A, B: B, keep: map[string]string{}}
	for _, sc := range scenarios {
		A.mkdir(t, sc.name[:1])
	}
	s.settle(t, "scenario directories")
	expectNoErrors(t, "scenario directories", ".", A, B)
	logVeilfs(t, A, B)

	for _, sc := range scenarios {
		dir := sc.name[:1]
		t.Run(sc.name, func(t *testing.T) {
			t0 := time.Now()
			t.Cleanup(func() {
				logVeilfs(t, A, B)
				if t.Failed() {
					t.Logf("diagnostics of %s:\n%s%s%s", sc.name, dumpMachine(t, A, dir), dumpMachine(t, B, dir), s.dump())
				}
				t.Logf("%s took %v", sc.name, time.Since(t0).Round(time.Millisecond))
			})
			sc.run(t, e)
		})
	}
	t.Logf("all scenarios: %v", time.Since(start).Round(time.Millisecond))
}

// a. Files and directories created on either side show on the other,
// with the same content; an edit and a delete propagate too.
func scPropagation(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	fromA := map[string]string{
		"a/from-A.txt":               "a: file written on A",
		"a/dir-from-A/inner.txt":     "a: file in a directory made on A",
		"a/dir-from-A/sub/deep.txt":  "a: deeper, made on A",
		"a/" + longSharedA:           "a: long name written on A",
		"a/dir-from-A/empty/.keep-A": "",
	}
	fromB := map[string]string{
		"a/from-B.txt":           "a: file written on B",
		"a/dir-from-B/inner.txt": "a: file in a directory made on B",
	}
	writeBoth(t, "before the sync", A, fromA, B, fromB)
	A.mkdir(t, "a/empty-dir-from-A")
	p.settle(t, "a: both ways")
	all := merge(fromA, fromB)
	expectFiles(t, "after the sync", all, A, B)
	if fi, err := os.Stat(B.p("a/empty-dir-from-A")); err != nil || !fi.IsDir() {
		t.Errorf("the empty directory made on A is not a directory on B: %v", err)
	}
	expectNoErrors(t, "after the sync", "a", A, B)

	// An edit on B and a delete on A travel too.
	B.write(t, "a/from-A.txt", "a: edited on B")
	A.remove(t, "a/from-B.txt")
	p.settle(t, "a: edit and delete")
	all["a/from-A.txt"] = "a: edited on B"
	delete(all, "a/from-B.txt")
	expectFiles(t, "after an edit on B and a delete on A", all, A, B)
	expectGone(t, "a/from-B.txt", A, B)
	e.mustSurvive("a file of scenario a", slices.Collect(maps.Values(all))...)
}

// b. The same file edited on both sides while they cannot talk: the newer
// edit wins, the other becomes a conflict copy that both mounts show under
// a readable name and read; deleting or renaming the copy settles to the
// user's choice on both.
func scConcurrentEdit(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	A.write(t, "b/report.txt", "b: report, first version")
	A.write(t, "b/notes.txt", "b: notes, first version")
	p.settle(t, "b: the originals")
	expectFiles(t, "before the edits", map[string]string{
		"b/report.txt": "b: report, first version", "b/notes.txt": "b: notes, first version"}, A, B)

	p.pause(t)
	older := time.Now().Add(-time.Minute)
	newer := time.Now()
	A.writeAt(t, "b/report.txt", "b: report, edited on A (older)", older)
	A.writeAt(t, "b/notes.txt", "b: notes, edited on A (older)", older)
	B.writeAt(t, "b/report.txt", "b: report, edited on B (newer, longer)", newer)
	B.writeAt(t, "b/notes.txt", "b: notes, edited on B (newer, longer)", newer)
	expectFiles(t, "while paused, A", map[string]string{
		"b/report.txt": "b: report, edited on A (older)", "b/notes.txt": "b: notes, edited on A (older)"}, A)
	expectFiles(t, "while paused, B", map[string]string{
		"b/report.txt": "b: report, edited on B (newer, longer)", "b/notes.txt": "b: notes, edited on B (newer, longer)"}, B)
	p.resume(t)
	p.settle(t, "b: concurrent edits")
	e.mustSurvive("an edit of scenario b", "b: report, edited on A (older)", "b: notes, edited on A (older)",
		"b: report, edited on B (newer, longer)", "b: notes, edited on B (newer, longer)")

	expectFiles(t, "after the sync, the newer edit wins", map[string]string{
		"b/report.txt": "b: report, edited on B (newer, longer)", "b/notes.txt": "b: notes, edited on B (newer, longer)"}, A, B)
	copies := map[string]string{}
	losers := []struct{ plain, content string }{
		{"report.txt", "b: report, edited on A (older)"},
		{"notes.txt", "b: notes, edited on A (older)"},
	}
	for _, m := range []*machine{A, B} {
		got := map[string][]string{}
		harness.Poll(seenWithinSync, func() bool {
			for _, f := range losers {
				got[f.plain] = conflictCopies(t, m, "b", f.plain)
			}
			return len(got["report.txt"]) == 1 && len(got["notes.txt"]) == 1
		})
		for _, f := range losers {
			got := got[f.plain]
			if len(got) != 1 {
				t.Errorf("mount %s lists %d conflict copies of %s, want 1 holding A's edit %q: b/ holds %q", m.name, len(got), f.plain, f.content, names(t, m, "b"))
				continue
			}
			t.Logf("mount %s shows the conflict copy of %s as %q", m.name, f.plain, got[0])
			if prev, ok := copies[f.plain]; ok && prev != got[0] {
				t.Errorf("the conflict copy of %s is %q on A but %q on B", f.plain, prev, got[0])
			}
			copies[f.plain] = got[0]
			expectFiles(t, "the conflict copy", map[string]string{"b/" + got[0]: f.content}, m)
		}
	}
	if t.Failed() {
		return
	}
	// The user resolves: deletes one copy on A, keeps the other under a
	// name of their choice on B.
	A.remove(t, "b/"+copies["report.txt"])
	delete(e.keep, "b: report, edited on A (older)")
	B.rename(t, "b/"+copies["notes.txt"], "b/notes-from-A.txt")
	p.settle(t, "b: conflicts resolved")
	want := map[string]string{
		"b/report.txt":       "b: report, edited on B (newer, longer)",
		"b/notes.txt":        "b: notes, edited on B (newer, longer)",
		"b/notes-from-A.txt": "b: notes, edited on A (older)",
	}
	expectFiles(t, "after resolving", want, A, B)
	expectExactly(t, "after resolving", "b", []string{"notes-from-A.txt", "notes.txt", "report.txt"}, A, B)
}

// c. The same new directory made on both sides while paused, each side
// writing different files into it: Syncthing keeps one gocryptfs.diriv and
// renames the other to a conflict copy (unison: see unison_test.go). Both mounts must list every file
// of both sides with its content, also after veilfs's repairs have synced.
func scSameNewDir(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	p.pause(t)
	fromA := map[string]string{
		"c/shared/from-A-1.txt":    "c: first file from A",
		"c/shared/from-A-2.txt":    "c: second file from A",
		"c/shared/" + longSharedA:  "c: long name from A",
		"c/shared/sub-A/inner.txt": "c: in a subdirectory made on A",
	}
	fromB := map[string]string{
		"c/shared/from-B-1.txt":    "c: first file from B",
		"c/shared/from-B-2.txt":    "c: second file from B",
		"c/shared/" + longSharedB:  "c: long name from B",
		"c/shared/sub-B/inner.txt": "c: in a subdirectory made on B",
	}
	writeBoth(t, "while paused", A, fromA, B, fromB)
	p.resume(t)
	p.settle(t, "c: the same new directory on both")
	all := merge(fromA, fromB)
	e.mustSurvive("a file of scenario c", slices.Collect(maps.Values(all))...)
	// Opened by name first, as a user's program that knows the path
	// does; then listed.
	expectFiles(t, "after the sync, opened by name", all, A, B)
	expectExactly(t, "after the sync", "c/shared",
		[]string{longSharedA, longSharedB, "from-A-1.txt", "from-A-2.txt", "from-B-1.txt", "from-B-2.txt", "sub-A", "sub-B"}, A, B)
	expectNoErrors(t, "after the sync", "c", A, B)
	// What the mounts repaired (names re-encrypted under the kept IV) is a
	// change in CIPHERDIR: once that has synced too, still everything.
	p.settle(t, "c: after the mounts' repairs")
	expectFiles(t, "after the repairs synced", all, A, B)
	expectNoErrors(t, "after the repairs synced", "c", A, B)
	expectExactly(t, "after the repairs synced", "c/shared",
		[]string{longSharedA, longSharedB, "from-A-1.txt", "from-A-2.txt", "from-B-1.txt", "from-B-2.txt", "sub-A", "sub-B"}, A, B)
}

// d. After the IV conflict of c has settled, a file written into that
// directory on each side (one of them is the side whose IV lost) shows and
// reads on both.
func scWriteAfterIVConflict(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	A.write(t, "c/shared/d-after-from-A.txt", "d: written on A after the IV conflict")
	B.write(t, "c/shared/d-after-from-B.txt", "d: written on B after the IV conflict")
	A.write(t, "c/shared/sub-B/d-from-A.txt", "d: written on A into B's subdirectory")
	B.write(t, "c/shared/sub-A/d-from-B.txt", "d: written on B into A's subdirectory")
	p.settle(t, "d: new files in the directory of the IV conflict")
	want := map[string]string{
		"c/shared/d-after-from-A.txt": "d: written on A after the IV conflict",
		"c/shared/d-after-from-B.txt": "d: written on B after the IV conflict",
		"c/shared/sub-B/d-from-A.txt": "d: written on A into B's subdirectory",
		"c/shared/sub-A/d-from-B.txt": "d: written on B into A's subdirectory",
		"c/shared/from-A-1.txt":       "c: first file from A",
		"c/shared/from-B-1.txt":       "c: first file from B",
	}
	e.mustSurvive("a file of scenario d", slices.Collect(maps.Values(want))...)
	expectFiles(t, "after the sync", want, A, B)
	expectNoErrors(t, "after the sync", "c", A, B)
	p.settle(t, "d: after the mounts' repairs")
	expectFiles(t, "after the repairs synced", want, A, B)
}

// e. A directory renamed on A while a file in it is edited on B: the sync
// client may bring the old directory back with only the edited file,
// without its gocryptfs.diriv (Syncthing does). No EIO anywhere; every
// file reads on both mounts under some name.
func scDirRenameVsEdit(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	orig := map[string]string{
		"e/project/edited.txt":     "e: edited, first version",
		"e/project/untouched.txt":  "e: untouched",
		"e/project/sub/deep.txt":   "e: deep, untouched",
		"e/project/" + longNewName: "e: a long name in the renamed directory",
	}
	for rel, c := range orig {
		A.write(t, rel, c)
	}
	p.settle(t, "e: the directory")
	expectFiles(t, "before", orig, A, B)

	p.pause(t)
	A.rename(t, "e/project", "e/project-renamed")
	B.writeAt(t, "e/project/edited.txt", "e: edited on B while A renamed the directory", time.Now())
	renamed := map[string]string{}
	for rel, c := range orig {
		renamed[strings.Replace(rel, "e/project/", "e/project-renamed/", 1)] = c
	}
	expectFiles(t, "while paused, A", renamed, A)
	expectFiles(t, "while paused, B", map[string]string{"e/project/edited.txt": "e: edited on B while A renamed the directory"}, B)
	p.resume(t)
	p.settle(t, "e: rename vs edit")
	e.mustSurvive("a file of scenario e", "e: edited on B while A renamed the directory",
		"e: untouched", "e: deep, untouched", "e: a long name in the renamed directory")

	for round, when := range []string{"after the sync", "after the repairs synced"} {
		if round == 1 {
			p.settle(t, "e: after the mounts' repairs")
		}
		expectNoErrors(t, when, "e", A, B)
		contents := []string{
			"e: edited on B while A renamed the directory",
			"e: untouched", "e: deep, untouched", "e: a long name in the renamed directory",
		}
		for _, m := range []*machine{A, B} {
			at := locate(m, "e", contents)
			for _, c := range contents {
				if len(at[c]) == 0 {
					t.Errorf("%s: mount %s has no file reading %q; e/ lists:\n%s", when, m.name, c, walk(m.p("e")))
				} else if round == 0 {
					t.Logf("%s: mount %s shows %q at e/%s", when, m.name, c, strings.Join(at[c], ", e/"))
				}
			}
		}
	}
}

// conflictCopyOf reports whether shown is how veilfs lists a sync client's
// conflict copy of the file real ("real (conflict DATE ...).ext"; a long
// name cut short with "…").
func conflictCopyOf(shown, real string) bool {
	plain, _, ok := nametransform.ParseConflictDisplay(shown)
	if !ok {
		return false
	}
	if stem, _, cut := strings.Cut(plain, "…"); cut {
		return stem != "" && strings.HasPrefix(real, stem)
	}
	return plain == real
}

// f. A long-named file deleted on A while edited on B, and another renamed
// on A while edited on B: Syncthing restores the edited object but may
// not restore its .name sidecar (the client restores what was edited). The edited files must show and read on
// both mounts, under their real names or, at worst, a clearly marked
// "lost name" name; never hidden.
func scLongNameVsEdit(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	A.write(t, "f/"+longDeleted, "f: deleted on A, first version")
	A.write(t, "f/"+longRenamed, "f: renamed on A, first version")
	p.settle(t, "f: the long names")
	expectFiles(t, "before", map[string]string{
		"f/" + longDeleted: "f: deleted on A, first version", "f/" + longRenamed: "f: renamed on A, first version"}, A, B)

	p.pause(t)
	A.remove(t, "f/"+longDeleted)
	A.rename(t, "f/"+longRenamed, "f/"+longNewName)
	B.writeAt(t, "f/"+longDeleted, "f: edited on B while A deleted it", time.Now())
	B.writeAt(t, "f/"+longRenamed, "f: edited on B while A renamed it", time.Now())
	expectExactly(t, "while paused, A", "f", []string{longNewName}, A)
	p.resume(t)
	p.settle(t, "f: long names deleted/renamed vs edited")
	e.mustSurvive("a file of scenario f", "f: edited on B while A deleted it",
		"f: edited on B while A renamed it", "f: renamed on A, first version")

	for round, when := range []string{"after the sync", "after the repairs synced"} {
		if round == 1 {
			p.settle(t, "f: after the mounts' repairs")
		}
		expectNoErrors(t, when, "f", A, B)
		files := []struct{ name, content string }{
			{longDeleted, "f: edited on B while A deleted it"},
			{longRenamed, "f: edited on B while A renamed it"},
			{longNewName, "f: renamed on A, first version"},
		}
		for _, m := range []*machine{A, B} {
			found := locate(m, "f", []string{files[0].content, files[1].content, files[2].content})
			for _, f := range files {
				at := found[f.content]
				switch {
				case len(at) == 0:
					t.Errorf("%s: mount %s has no file reading %q (it was %s); f/ lists:\n%s", when, m.name, f.content, f.name[:30]+"...", walk(m.p("f")))
				case slices.Contains(at, f.name):
					if round == 0 {
						t.Logf("%s: mount %s shows %q under its real name", when, m.name, f.content)
					}
				case slices.ContainsFunc(at, func(n string) bool { return conflictCopyOf(n, f.name) }):
					// The client kept the edit as a conflict copy (unison's
					// "_was_deleted"): shown under the real name, marked.
					t.Logf("%s: mount %s shows %q as a conflict copy of its real name: %q", when, m.name, f.content, at)
				case slices.ContainsFunc(at, func(n string) bool { return strings.Contains(strings.ToLower(n), "lost") }):
					t.Logf("%s: mount %s shows %q under a lost-name name: %q", when, m.name, f.content, at)
				default:
					t.Errorf("%s: mount %s shows %q only as %q: neither its real name nor a marked lost name", when, m.name, f.content, at)
				}
			}
		}
	}
}

// g. A burst of 20 directory trees made on A while B walks its mount in a
// loop during the sync: after the sync B's walk finds every file with its
// content. During the sync what has not arrived yet may be missing
// (ENOENT), but nothing may fail with EIO, and nothing B has read once may
// fail afterwards.
func scBurstWhileWalking(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	want := map[string]string{}
	for i := range 20 {
		for j := range 3 {
			for k := range 2 {
				rel := fmt.Sprintf("g/tree-%02d/sub-%d/file-%d.txt", i, j, k)
				want[rel] = fmt.Sprintf("g: tree %d, sub %d, file %d: %s", i, j, k, strings.Repeat("x", i*100+j*10+k))
			}
		}
		want[fmt.Sprintf("g/tree-%02d/top.txt", i)] = fmt.Sprintf("g: top of tree %d", i)
	}
	var (
		stop      atomic.Bool
		done      = make(chan struct{})
		walks     int
		bad       = map[string]string{} // path -> first bad failure
		badCount  int
		tolerated = map[string]int{} // errno -> count
	)
	go func() {
		defer close(done)
		okOnce := map[string]bool{}
		for !stop.Load() {
			v := walk(B.p("g"))
			walks++
			for rel, err := range v.errs {
				var why string
				switch {
				case okOnce[rel]:
					why = fmt.Sprintf("walk %d: %v (read fine before)", walks, err)
				case errors.Is(err, syscall.EIO):
					why = fmt.Sprintf("walk %d: %v", walks, err)
				default:
					tolerated[errnoName(err)]++
					continue
				}
				badCount++
				if _, ok := bad[rel]; !ok {
					bad[rel] = why
				}
			}
			for rel := range v.files {
				okOnce[rel] = true
			}
			for _, d := range v.dirs {
				if _, failed := v.errs[d+"/"]; !failed {
					okOnce[d+"/"] = true
				}
			}
			time.Sleep(5 * time.Millisecond) // pacing the loop, not waiting for a state
		}
	}()
	for _, rel := range slices.Sorted(maps.Keys(want)) {
		A.write(t, rel, want[rel])
	}
	p.settle(t, "g: 20 trees")
	stop.Store(true)
	<-done
	t.Logf("B walked g/ %d times during the sync; tolerated errors (not arrived yet): %v", walks, tolerated)
	if len(bad) > 0 {
		var lines []string
		for rel, why := range bad {
			lines = append(lines, "g/"+rel+": "+why)
		}
		sort.Strings(lines)
		if len(lines) > 25 {
			lines = append(lines[:25], fmt.Sprintf("... %d more paths", len(lines)-25))
		}
		t.Errorf("during the sync, B's walk failed %d times on %d paths with EIO, or on paths it had read before:\n    %s",
			badCount, len(bad), strings.Join(lines, "\n    "))
	}
	v := walk(B.p("g"))
	var missing []string
	for rel, c := range want {
		if got, ok := v.files[strings.TrimPrefix(rel, "g/")]; !ok || got != c {
			missing = append(missing, rel)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 || len(v.errs) > 0 {
		t.Errorf("after the sync B's walk misses or misreads %d of %d files (%v...) and meets %d errors: %v",
			len(missing), len(want), first(missing, 5), len(v.errs), v.errs)
	}
	expectFiles(t, "after the sync", want, A, B)
	e.mustSurvive("a file of scenario g", slices.Collect(maps.Values(want))...)
}

// fsckReport is the part of `veilfs fsck --json` the checks read.
type fsckReport struct {
	Problems []struct {
		Kind       string `json:"kind"`
		Severity   string `json:"severity"`
		CipherPath string `json:"cipher_path"`
		PlainPath  string `json:"plain_path"`
		Repaired   bool   `json:"repaired"`
	} `json:"problems"`
}

// h. Unmounted, fsck finds both copies clean (notes about the sync
// client's files are fine; duplicate IVs left by a rename-vs-edit, if any,
// are fixed by --repair, after which fsck exits 0); no fsck touches the
// client's own files; after the repairs the client still syncs, and every
// file a user wrote and did not delete still reads in both mounts.
func scFsck(t *testing.T, e *env) {
	p, A, B := e.sync, e.A, e.B
	// What the mounts show now (the earlier scenarios' files).
	before := map[*machine]map[string]string{A: walk(A.mnt).files, B: walk(B.mnt).files}
	// A temporary file of an interrupted transfer, as the client leaves it.
	for _, m := range []*machine{A, B} {
		if err := os.WriteFile(filepath.Join(m.cipher, p.leftoverTemp()), []byte("partial ciphertext"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	A.unmount(t)
	B.unmount(t)
	own := p.ownFiles()
	for _, m := range []*machine{A, B} {
		t.Logf("the client's own files in %s's CIPHERDIR: %q", m.name, slices.Sorted(maps.Keys(clientFiles(t, m.cipher, own))))
	}

	// fsck runs with the client installed, as a user's would; nothing is
	// in flight (settled before the unmount).
	fsckOn := func(m *machine, when string, args ...string) harness.Result {
		t.Helper()
		keep := clientFiles(t, m.cipher, own)
		res := m.fsck(t, args...)
		t.Logf("%s: veilfs fsck %s on %s: exit %d\n%s%s", when, strings.Join(args, " "), m.name, res.Code, tail(res.Stdout, 40), res.Stderr)
		after := clientFiles(t, m.cipher, own)
		for rel, c := range keep {
			if got, ok := after[rel]; !ok {
				t.Errorf("%s: veilfs fsck %s removed the sync client's %s on %s", when, strings.Join(args, " "), rel, m.name)
			} else if got != c {
				t.Errorf("%s: veilfs fsck %s changed the sync client's %s on %s", when, strings.Join(args, " "), rel, m.name)
			}
		}
		return res
	}
	for _, m := range []*machine{A, B} {
		res := fsckOn(m, "first check", "--json")
		var rep fsckReport
		if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
			t.Errorf("fsck --json of %s: %v", m.name, err)
			continue
		}
		for _, pr := range rep.Problems {
			if pr.Severity == "error" && pr.Kind != "dup-diriv" {
				t.Errorf("fsck of %s (exit %d) reports %s %s at %s (%s): only duplicate IVs may be left by the scenarios",
					m.name, res.Code, pr.Severity, pr.Kind, pr.CipherPath, pr.PlainPath)
			}
		}
		if res.Code != 0 && res.Code != 26 {
			t.Errorf("fsck of %s: exit %d", m.name, res.Code)
		}
	}
	// Repair A, let the client carry the repairs to B, then B.
	for _, m := range []*machine{A, B} {
		if res := fsckOn(m, "repair", "--repair"); res.Code != 0 {
			t.Errorf("veilfs fsck --repair on %s: exit %d, want 0", m.name, res.Code)
		}
		p.settle(t, "h: after fsck --repair on "+m.name)
	}
	for _, m := range []*machine{A, B} {
		if res := fsckOn(m, "second check"); res.Code != 0 {
			t.Errorf("veilfs fsck on %s after the repairs: exit %d, want 0", m.name, res.Code)
		}
	}

	// The client still syncs the repaired volumes.
	A.mount(t)
	B.mount(t)
	// These mounts end with this subtest, before runScenarios's
	// diagnostics run: dump while they are there.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("diagnostics of h, mounted again:\n%s%s", dumpMachine(t, A, "."), dumpMachine(t, B, "."))
		}
	})
	final := map[string]string{
		"h/final-from-A.txt":     "h: written on A after fsck --repair",
		"h/final-from-B.txt":     "h: written on B after fsck --repair",
		"a/dir-from-A/inner.txt": "h: an old file edited on B after the repair",
	}
	A.write(t, "h/final-from-A.txt", final["h/final-from-A.txt"])
	B.write(t, "h/final-from-B.txt", final["h/final-from-B.txt"])
	B.write(t, "a/dir-from-A/inner.txt", final["a/dir-from-A/inner.txt"])
	delete(e.keep, "a: file in a directory made on A") // edited just now
	p.settle(t, "h: after the repairs")
	expectFiles(t, "after the repairs", final, A, B)

	// Nothing a user wrote and kept is gone from either mount: neither
	// what the scenarios expect to survive nor what a mount showed before
	// fsck.
	must := map[string]string{}
	for c, what := range e.keep {
		must[c] = what
	}
	for _, m := range []*machine{A, B} {
		for rel, c := range before[m] {
			if _, ok := must[c]; !ok && c != "a: file in a directory made on A" && c != "" {
				must[c] = fmt.Sprintf("%s, shown by mount %s before fsck", rel, m.name)
			}
		}
	}
	for _, m := range []*machine{A, B} {
		now := walk(m.mnt)
		have := map[string]bool{}
		for _, c := range now.files {
			have[c] = true
		}
		var lost []string
		for c, what := range must {
			if !have[c] {
				lost = append(lost, fmt.Sprintf("%q (%s)", short(c), what))
			}
		}
		sort.Strings(lost)
		if len(lost) > 0 || len(now.errs) > 0 {
			t.Errorf("after fsck --repair and a remount, mount %s has no file reading:\n    %s\n  and meets errors %v\n  it lists at its root: %q",
				m.name, strings.Join(lost, "\n    "), now.errs, names(t, m, "."))
		}
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// expectGone checks that rel does not exist in the mounts.
func expectGone(t *testing.T, rel string, ms ...*machine) {
	t.Helper()
	for _, m := range ms {
		if _, ok := harness.Poll(seenWithinSync, func() bool {
			_, err := os.Lstat(m.p(rel))
			return errors.Is(err, syscall.ENOENT)
		}); !ok {
			t.Errorf("mount %s still shows %s", m.name, rel)
		}
	}
}

// expectExactly checks that dir lists exactly want in the mounts.
func expectExactly(t *testing.T, when, dir string, want []string, ms ...*machine) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	for _, m := range ms {
		var got []string
		if _, ok := harness.Poll(seenWithinSync, func() bool {
			ents, err := os.ReadDir(m.p(dir))
			if err != nil {
				got = []string{"ERROR " + err.Error()}
				return false
			}
			got = got[:0]
			for _, e := range ents {
				got = append(got, e.Name())
			}
			return slices.Equal(got, want)
		}); !ok {
			t.Errorf("%s: mount %s lists %s as %q, want %q", when, m.name, dir, got, want)
		}
	}
}
