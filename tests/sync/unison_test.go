package sync_test

// The same scenarios with a sync client of another kind: unison (Debian's
// 2.52), which syncs two directories in one run, with no state between
// runs except its archives. Machines A and B are two CIPHERDIRs, both
// mounted throughout; a "sync" is one unison run between them.
//
// What unison 2.52.1 does with the volume (measured):
//   - A conflict is resolved by -prefer newer; with -copyonconflict the
//     losing side's version is first copied to "NAME (conflict_on_DATE)"
//     (the marker goes before the last dot: "gocryptfs (conflict_on_
//     2026-12-07).diriv"; later conflicts of the same name that day are
//     "NAME (conflict #1_on_DATE)", #2, ...), which the next run copies to
//     the other side. Without -copyonconflict the losing version is
//     overwritten and gone.
//   - Its temporary files are ".unison.NAME.HASH.unison.tmp"; its archives
//     live in $UNISON (here under the test's temp dir).

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// unisonPair runs unison between two CIPHERDIRs.
type unisonPair struct {
	home   string // $UNISON: archives and log
	a, b   string
	noCopy bool // leave out -copyonconflict (the losing version is overwritten)
	runs   []string
}

// unisonArgs are the options of every run: no questions, modification
// times kept, conflicts resolved by the newer version with a copy of the
// other, and every file's content compared (the fast check trusts size and
// mtime, which two writes in one second can leave equal).
func (u *unisonPair) args() []string {
	args := []string{u.a, u.b, "-batch", "-auto", "-times", "-prefer", "newer", "-fastcheck", "false",
		"-confirmbigdel=false", "-ui", "text"}
	if !u.noCopy {
		args = append(args, "-copyonconflict")
	}
	return args
}

// run runs unison once and returns its output and exit code (0 all done,
// 1 some items skipped, 2 some failed, 3 fatal).
func (u *unisonPair) run(t *testing.T) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unison", u.args()...)
	cmd.Env = append(os.Environ(), "UNISON="+u.home, "HOME="+u.home)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	// Drop the progress lines.
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.Contains(l, "ETA") && !strings.HasPrefix(l, "| ") && strings.TrimSpace(l) != "" {
			keep = append(keep, l)
		}
	}
	s := strings.Join(keep, "\n")
	u.runs = append(u.runs, s)
	return s, code
}

// settle runs unison until a run finds nothing to do: a conflict copy made
// by one run reaches the other side in the next.
func (u *unisonPair) settle(t *testing.T, what string) {
	t.Helper()
	start := time.Now()
	for i := 0; i < 5; i++ {
		out, code := u.run(t)
		if code != 0 {
			t.Errorf("unison (%s), run %d: exit %d\n%s", what, i+1, code, out)
		}
		if strings.Contains(out, "Nothing to do") {
			t.Logf("unison settled (%s) after %d runs in %v", what, i+1, time.Since(start).Round(time.Millisecond))
			return
		}
	}
	t.Fatalf("unison (%s): still changes to carry after 5 runs; the last:\n%s", what, u.runs[len(u.runs)-1])
}

// Unison carries changes only when it runs: nothing to pause.
func (u *unisonPair) pause(t *testing.T)  {}
func (u *unisonPair) resume(t *testing.T) {}

func (u *unisonPair) dump() string {
	var b strings.Builder
	b.WriteString("===== unison's last runs:\n")
	for _, r := range u.runs[max(0, len(u.runs)-3):] {
		b.WriteString(tail(r, 30) + "\n-----\n")
	}
	return b.String()
}

func (u *unisonPair) ownFiles() *regexp.Regexp {
	return regexp.MustCompile(`(^|/)\.unison\.[^/]*\.unison\.tmp$`)
}

func (u *unisonPair) leftoverTemp() string {
	return ".unison.5-X5dCRA68UR5LPU8CKRFg.966586dc608452c1f99af569aa6ce1b1.unison.tmp"
}

// TestUnison runs the scenarios of issue #13 with unison as the sync
// client, plus one unison-specific case: the same new directory synced
// without -copyonconflict, where the losing gocryptfs.diriv is simply
// overwritten.
func TestUnison(t *testing.T) {
	start := time.Now()
	base, A, B := newMachines(t, "unison")
	u := &unisonPair{home: filepath.Join(base, "unison-home"), a: A.cipher, b: B.cipher}
	if err := os.MkdirAll(u.home, 0o755); err != nil {
		t.Fatal(err)
	}
	u.settle(t, "the new volume reaches B")
	scenarios := append([]scenario(nil), allScenarios[:len(allScenarios)-1]...)
	scenarios = append(scenarios,
		scenario{"i-same-new-dir-overwritten", func(t *testing.T, e *env) { scSameNewDirOverwritten(t, e, u) }},
		allScenarios[len(allScenarios)-1]) // fsck last
	runScenarios(t, u, A, B, scenarios)
	t.Logf("TestUnison: %v in all", time.Since(start).Round(time.Millisecond))
}

// i. The same new directory made on both sides, synced by unison without
// -copyonconflict: the newer gocryptfs.diriv overwrites the other, and no
// copy of the lost IV is left anywhere. Only the machine that made the
// losing directory knows its IV (veilfs remembers the IVs it created and
// read): its mount re-encrypts those names as soon as it sees its IV
// replaced, and the other machine gets them with the next sync. Until
// then they cannot show there: nothing on that machine can decrypt them.
// So: every file shows on the machine that wrote it at once, and on both
// after the losing machine's mount looked at the directory and the next
// sync.
func scSameNewDirOverwritten(t *testing.T, e *env, u *unisonPair) {
	A, B := e.A, e.B
	fromA := map[string]string{
		"i/shared/from-A.txt":     "i: written on A",
		"i/shared/" + longSharedA: "i: long name written on A",
	}
	fromB := map[string]string{
		"i/shared/from-B.txt":     "i: written on B",
		"i/shared/" + longSharedB: "i: long name written on B",
	}
	writeBoth(t, "before the sync", A, fromA, B, fromB)
	u.noCopy = true
	defer func() { u.noCopy = false }()
	u.settle(t, "i: the same new directory, no conflict copies")
	all := merge(fromA, fromB)
	e.mustSurvive("a file of scenario i", "i: written on A", "i: long name written on A", "i: written on B", "i: long name written on B")
	expectFiles(t, "after the sync, on the machine that wrote them", fromA, A)
	expectFiles(t, "after the sync, on the machine that wrote them", fromB, B)
	// The users look at the folder: the machine whose IV lost notices
	// (its cached IV may still have been fresh for the lookups above).
	for _, m := range []*machine{A, B} {
		walk(m.p("i"))
	}
	u.settle(t, "i: after the mounts' repairs")
	expectExactly(t, "after the repairs synced", "i/shared", []string{longSharedA, longSharedB, "from-A.txt", "from-B.txt"}, A, B)
	expectFiles(t, "after the repairs synced", all, A, B)
	expectNoErrors(t, "after the repairs synced", "i", A, B)
}
