package sync_test

// Two "machines" for the tests with real sync clients (syncthing_test.go,
// unison_test.go): each has its own copy of CIPHERDIR, its own veilfs
// state directory (the IV memory is per machine) and a veilfs mount of its
// copy that stays mounted while the client syncs underneath it. Everything
// the checks look at goes through the mounts: that is what users see.

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

// machine is one side of a synced volume.
type machine struct {
	name   string // "A" or "B"
	cipher string // its copy of CIPHERDIR
	mnt    string
	state  string // its VEILFS_STATE_DIR
	fg     *harness.Foreground
	logOff int // length of the daemon log already shown
}

func newMachine(t *testing.T, base, name string) *machine {
	m := &machine{
		name:   name,
		cipher: filepath.Join(base, "cipher-"+name),
		mnt:    filepath.Join(base, "mnt-"+name),
		state:  filepath.Join(base, "state-"+name),
	}
	for _, d := range []string{m.mnt, m.state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// newMachines checks for FUSE and the sync client's program (a skip, or
// a failure when the run must be complete: make test, CI), and returns machine A with a
// new volume in its CIPHERDIR and machine B with an empty one, under base.
func newMachines(t *testing.T, client string) (base string, A, B *machine) {
	t.Helper()
	harness.RequireFUSE(t)
	harness.RequireTool(t, client, client)
	base = t.TempDir()
	A, B = newMachine(t, base, "A"), newMachine(t, base, "B")
	harness.InitVolume(t, A.cipher, harness.DefaultPassword)
	if err := os.MkdirAll(B.cipher, 0o755); err != nil {
		t.Fatal(err)
	}
	return base, A, B
}

// withState runs fn with VEILFS_STATE_DIR set to the machine's, for the
// veilfs processes fn starts (they inherit the environment). The tests
// using it are not parallel.
func (m *machine) withState(fn func()) {
	old, had := os.LookupEnv("VEILFS_STATE_DIR")
	os.Setenv("VEILFS_STATE_DIR", m.state)
	defer func() {
		if had {
			os.Setenv("VEILFS_STATE_DIR", old)
		} else {
			os.Unsetenv("VEILFS_STATE_DIR")
		}
	}()
	fn()
}

// mount mounts the machine's CIPHERDIR in the foreground (as our child,
// so that its log is ours to show).
func (m *machine) mount(t *testing.T) {
	t.Helper()
	m.withState(func() {
		m.fg = harness.MustForeground(t, m.cipher, m.mnt, harness.DefaultPassword)
	})
	m.logOff = 0
}

// unmount unmounts it; the daemon's log stays readable.
func (m *machine) unmount(t *testing.T) {
	t.Helper()
	if m.fg == nil {
		return
	}
	m.fg.Stop()
	if _, ok := harness.FindMount(m.mnt); ok {
		t.Fatalf("%s: %s still mounted after unmount", m.name, m.mnt)
	}
}

func (m *machine) p(rel string) string { return filepath.Join(m.mnt, rel) }

// fsck runs `veilfs fsck [args] CIPHERDIR` with the machine's state.
func (m *machine) fsck(t *testing.T, args ...string) harness.Result {
	t.Helper()
	var res harness.Result
	m.withState(func() {
		all := append(append([]string{"fsck", "--passfile", harness.Passfile(t, harness.DefaultPassword)}, args...), m.cipher)
		res = harness.Run(t, "", all...)
	})
	return res
}

// newLog returns what the daemon logged since the last call.
func (m *machine) newLog() string {
	if m.fg == nil {
		return ""
	}
	l := m.fg.Log()
	if m.logOff > len(l) {
		m.logOff = 0
	}
	s := l[m.logOff:]
	m.logOff = len(l)
	return s
}

func (m *machine) write(t *testing.T, rel, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(m.p(rel)), 0o755); err != nil {
		t.Fatalf("%s: mkdir for %s: %v", m.name, rel, err)
	}
	if err := os.WriteFile(m.p(rel), []byte(content), 0o644); err != nil {
		t.Fatalf("%s: write %s: %v", m.name, rel, err)
	}
}

// writeBoth writes fromA through A's mount and fromB through B's, and
// checks that each side reads back its own files before any sync.
func writeBoth(t *testing.T, when string, A *machine, fromA map[string]string, B *machine, fromB map[string]string) {
	t.Helper()
	for _, w := range []struct {
		m     *machine
		files map[string]string
	}{{A, fromA}, {B, fromB}} {
		for rel, c := range w.files {
			w.m.write(t, rel, c)
		}
		expectFiles(t, when+", "+w.m.name+"'s own files", w.files, w.m)
	}
}

// writeAt writes and sets the mtime, so that which edit is "newer" for the
// sync client is decided by the test, not by the clock's resolution.
func (m *machine) writeAt(t *testing.T, rel, content string, mtime time.Time) {
	t.Helper()
	m.write(t, rel, content)
	if err := os.Chtimes(m.p(rel), mtime, mtime); err != nil {
		t.Fatalf("%s: chtimes %s: %v", m.name, rel, err)
	}
}

func (m *machine) mkdir(t *testing.T, rel string) {
	t.Helper()
	if err := os.MkdirAll(m.p(rel), 0o755); err != nil {
		t.Fatalf("%s: mkdir %s: %v", m.name, rel, err)
	}
}

func (m *machine) rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(m.p(from), m.p(to)); err != nil {
		t.Fatalf("%s: rename %s -> %s: %v", m.name, from, to, err)
	}
}

func (m *machine) remove(t *testing.T, rel string) {
	t.Helper()
	if err := os.RemoveAll(m.p(rel)); err != nil {
		t.Fatalf("%s: remove %s: %v", m.name, rel, err)
	}
}

// view is what a walk through a mount found below a directory: every
// file's content, every directory, and every error met (listing or
// reading), all by path relative to the walked directory.
type view struct {
	files map[string]string
	dirs  []string
	errs  map[string]error
}

func walk(root string) view {
	v := view{files: map[string]string{}, errs: map[string]error{}}
	var rec func(rel string)
	rec = func(rel string) {
		ents, err := os.ReadDir(filepath.Join(root, rel))
		if err != nil {
			v.errs[rel+"/"] = err
			return
		}
		for _, e := range ents {
			r := filepath.Join(rel, e.Name())
			if e.IsDir() {
				v.dirs = append(v.dirs, r)
				rec(r)
				continue
			}
			data, err := os.ReadFile(filepath.Join(root, r))
			if err != nil {
				v.errs[r] = err
				continue
			}
			v.files[r] = string(data)
		}
	}
	rec(".")
	// Paths relative to root, without "./".
	clean := func(s string) string { return strings.TrimPrefix(s, "./") }
	out := view{files: map[string]string{}, errs: map[string]error{}}
	for k, c := range v.files {
		out.files[clean(k)] = c
	}
	for k, e := range v.errs {
		out.errs[clean(k)] = e
	}
	for _, d := range v.dirs {
		out.dirs = append(out.dirs, clean(d))
	}
	sort.Strings(out.dirs)
	return out
}

// String lists the view one path a line, for failure messages.
func (v view) String() string {
	var lines []string
	for _, d := range v.dirs {
		lines = append(lines, d+"/")
	}
	for f, c := range v.files {
		lines = append(lines, fmt.Sprintf("%s  %q", f, short(c)))
	}
	for p, e := range v.errs {
		lines = append(lines, fmt.Sprintf("%s  ERROR %v", p, e))
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return "    (empty)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

func short(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// errnoName names err's errno for messages ("EIO"), or the error.
func errnoName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		switch e {
		case syscall.EIO:
			return "EIO"
		case syscall.ENOENT:
			return "ENOENT"
		}
		return e.Error()
	}
	return err.Error()
}

// seenWithinSync is how long a mount may take to show what its CIPHERDIR
// holds once the sync client is done: the kernel's 1 s entry and
// attribute timeouts, with margin.
const seenWithinSync = 3 * time.Second

// expectFiles checks, on each machine, that every path of want reads
// want's content through the mount (polling for the kernel's caches).
// It returns false, after reporting what each mount lists, if not.
func expectFiles(t *testing.T, when string, want map[string]string, ms ...*machine) bool {
	t.Helper()
	ok := true
	for _, m := range ms {
		var bad []string
		_, good := harness.Poll(seenWithinSync, func() bool {
			bad = bad[:0]
			for rel, content := range want {
				data, err := os.ReadFile(m.p(rel))
				switch {
				case err != nil:
					bad = append(bad, fmt.Sprintf("%s: %v", rel, err))
				case string(data) != content:
					bad = append(bad, fmt.Sprintf("%s: reads %q, want %q", rel, short(string(data)), short(content)))
				}
			}
			return len(bad) == 0
		})
		if !good {
			ok = false
			sort.Strings(bad)
			t.Errorf("%s: mount %s does not show what was written:\n    %s\n  the mount lists (below the scenario's directories):\n%s",
				when, m.name, strings.Join(bad, "\n    "), listDirsOf(m, want))
		}
	}
	return ok
}

// listDirsOf walks the top directories of the paths in want.
func listDirsOf(m *machine, want map[string]string) string {
	tops := map[string]bool{}
	for rel := range want {
		tops[strings.SplitN(rel, "/", 2)[0]] = true
	}
	var b strings.Builder
	for _, top := range slices.Sorted(maps.Keys(tops)) {
		fmt.Fprintf(&b, "  %s/:\n%s\n", top, walk(m.p(top)))
	}
	return b.String()
}

// expectNoErrors walks rel on each machine and reports every error met.
func expectNoErrors(t *testing.T, when, rel string, ms ...*machine) bool {
	t.Helper()
	ok := true
	for _, m := range ms {
		v := walk(m.p(rel))
		if len(v.errs) > 0 {
			ok = false
			var lines []string
			for p, e := range v.errs {
				lines = append(lines, fmt.Sprintf("%s: %s (%v)", filepath.Join(rel, p), errnoName(e), e))
			}
			sort.Strings(lines)
			t.Errorf("%s: walking %s through mount %s meets errors:\n    %s\n  it lists:\n%s",
				when, rel, m.name, strings.Join(lines, "\n    "), v)
		}
	}
	return ok
}

// names lists the entries of a directory through a mount.
func names(t *testing.T, m *machine, rel string) []string {
	t.Helper()
	ents, err := os.ReadDir(m.p(rel))
	if err != nil {
		t.Errorf("%s: listing %s: %v", m.name, rel, err)
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// conflictCopies returns the entries of dir (through the mount) that are
// conflict copies of plain as veilfs shows them: the name's stem, then a
// marker with "conflict" in it.
func conflictCopies(t *testing.T, m *machine, dir, plain string) []string {
	t.Helper()
	stem := plain
	if i := strings.LastIndexByte(plain, '.'); i > 0 {
		stem = plain[:i]
	}
	var out []string
	for _, n := range names(t, m, dir) {
		if n != plain && strings.HasPrefix(n, stem) && strings.Contains(strings.ToLower(n), "conflict") {
			out = append(out, n)
		}
	}
	return out
}

// locate polls until every one of contents is the content of some file
// below dir in m's mount (or seenWithinSync has passed), and returns the
// paths (relative to dir) of the files holding each content.
func locate(m *machine, dir string, contents []string) map[string][]string {
	var at map[string][]string
	harness.Poll(seenWithinSync, func() bool {
		at = map[string][]string{}
		for p, c := range walk(m.p(dir)).files {
			at[c] = append(at[c], p)
		}
		for _, c := range contents {
			if len(at[c]) == 0 {
				return false
			}
		}
		return true
	})
	for _, ps := range at {
		sort.Strings(ps)
	}
	return at
}

// dumpMachine returns the diagnostics of one machine for a failed
// scenario: what the mount lists below rel, the ciphertext tree
// (`veilfs ls -R -a`, and `ls -laR` of the ciphertext directory), and the
// tail of the daemon's log.
func dumpMachine(t *testing.T, m *machine, rel string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "===== machine %s\n", m.name)
	if _, ok := harness.FindMount(m.mnt); ok {
		fmt.Fprintf(&b, "--- mount %s, below %s:\n%s\n", m.mnt, rel, walk(m.p(rel)))
	} else {
		fmt.Fprintf(&b, "--- (not mounted now)\n")
	}
	pass := harness.Passfile(t, harness.DefaultPassword)
	cdir := m.cipher
	m.withState(func() {
		res := harness.Run(t, "", "path", "encrypt", "--passfile", pass, m.cipher, rel)
		if res.Code == 0 {
			cdir = filepath.Join(m.cipher, strings.TrimSpace(res.Stdout))
		}
		ls := harness.Run(t, "", "ls", "-R", "-a", "--passfile", pass, m.cipher, rel)
		fmt.Fprintf(&b, "--- veilfs ls -R -a %s (exit %d):\n%s%s\n", rel, ls.Code, ls.Stdout, ls.Stderr)
	})
	out, _ := exec.Command("ls", "-laR", "--time-style=+%T.%N", cdir).CombinedOutput()
	fmt.Fprintf(&b, "--- ls -laR %s:\n%s\n", cdir, out)
	if m.fg != nil {
		fmt.Fprintf(&b, "--- veilfs log (last 40 lines):\n%s\n", tail(m.fg.Log(), 40))
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// logVeilfs shows (with -v, or on failure) what each daemon logged
// during a scenario: repairs, notices, errors.
func logVeilfs(t *testing.T, ms ...*machine) {
	t.Helper()
	for _, m := range ms {
		if l := strings.TrimSpace(m.newLog()); l != "" {
			t.Logf("veilfs log of %s during this scenario:\n%s", m.name, tail(l, 30))
		}
	}
}

// clientFiles returns the sync client's own files in a CIPHERDIR (the
// paths matched by re, relative) with their content, to check that fsck
// leaves them alone.
func clientFiles(t *testing.T, cipher string, re *regexp.Regexp) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(cipher, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(cipher, p)
		if !re.MatchString(rel) {
			return nil
		}
		if d.IsDir() {
			out[rel+"/"] = "(directory)"
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", cipher, err)
	}
	return out
}
