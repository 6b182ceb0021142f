// Package arch enforces the import-direction rules of ARCHITECTURE.md §1.1
// mechanically: the crypto and name layers stay free of FUSE, logging, the
// filesystem and the CLI, and the filesystem never reaches up into the CLI.
//
// It shells out to `go list -deps -json`, so it sees the same build graph as
// the compiler (transitive imports included, test files excluded).
package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/veilfs/veilfs"

// listedPackage is the part of `go list -json` output this test reads.
type listedPackage struct {
	ImportPath string
	Module     *struct{ Path string }
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

// rule forbids every package matched by from (an import path, or a subtree
// when it ends in "/...") from depending, directly or transitively, on any
// package that forbidden matches. ownCode entries are forbidden only as direct
// imports of our own code (the package and the module packages it pulls in):
// third-party dependencies such as rfjakob/eme and jacobsa/crypto import "log"
// for panics, which is theirs to decide, but our leaf packages never log.
type rule struct {
	from      string
	forbidden []string // import paths; "/..." suffix matches the subtree
	ownCode   []string
	why       string
}

// offlineReader is what a package that reads a volume without mounting it
// (for path and ls) must not depend on: FUSE, the FUSE node trees, the
// tools that rewrite a CIPHERDIR, and the CLI.
var offlineReader = []string{"github.com/hanwen/go-fuse/...", module + "/fs", module + "/fs/reverse",
	module + "/fs/rotate/...", module + "/fs/fsck/...", module + "/cmd/..."}

var rules = []rule{
	{
		from:      module + "/cipher/...",
		forbidden: []string{"github.com/hanwen/go-fuse/...", module + "/fs/...", module + "/cmd/...", module + "/nametransform/..."},
		ownCode:   []string{"log/..."},
		why:       "cipher and cipher/config are pure crypto and config I/O: no FUSE, no logging, nothing above them, and not the name layer",
	},
	{
		from:    module + "/cipher",
		ownCode: []string{"os", "syscall", "golang.org/x/sys/...", "io/fs", "path/filepath"},
		why:     "cipher is bytes in, bytes out: no file I/O (ARCHITECTURE.md: cipher does not do file I/O; cipher/config reads and writes gocryptfs.conf)",
	},
	{
		from:    module + "/nametransform/...",
		ownCode: []string{"os", "syscall", "io/fs"},
		why:     "nametransform reads and writes no file: not gocryptfs.diriv, not a sidecar (ARCHITECTURE.md)",
	},
	{
		from: module + "/fs/cipherdir/...",
		forbidden: []string{"github.com/hanwen/go-fuse/...", module + "/fs", module + "/fs/rotate/...", module + "/fs/fsck/...",
			module + "/fs/reverse/...", module + "/cmd/..."},
		ownCode: []string{"log/..."},
		why:     "fs/cipherdir is the CIPHERDIR layout under every tool: no FUSE, no logging (its callers report), nothing that uses it",
	},
	{
		from:      module + "/nametransform/...",
		forbidden: []string{"github.com/hanwen/go-fuse/...", module + "/fs/...", module + "/cmd/...", module + "/cipher/...", "golang.org/x/sys/unix"},
		ownCode:   []string{"log/..."},
		why:       "nametransform is a pure name cipher: no FUSE, no logging, no syscalls, and independent of package cipher",
	},
	{
		from:      module + "/fs/rotate/...",
		forbidden: []string{"github.com/hanwen/go-fuse/...", module + "/fs"},
		why:       "rotation works on an unmounted CIPHERDIR through fs/cipherdir alone, never through the FUSE layer",
	},
	{
		from:      module + "/fs/fsck/...",
		forbidden: []string{"github.com/hanwen/go-fuse/...", module + "/fs", module + "/fs/rotate/..."},
		why:       "fsck checks an unmounted CIPHERDIR through fs/cipherdir alone, never through the FUSE layer",
	},
	{
		from:      module + "/fs/reverse/view/...",
		forbidden: offlineReader,
		ownCode:   []string{"log/..."},
		why:       "the reverse view's names and IVs are computed without FUSE, so that path and ls on a PLAINDIR need no mount: no go-fuse, no logging, nothing of the FUSE layers or the tools",
	},
	{
		from:      module + "/fs/reverse/...",
		forbidden: []string{module + "/fs/rotate/...", module + "/fs/fsck/..."},
		why:       "the reverse view only reads the plaintext directory; it maps names through fs/cipherdir, never through the tools that rewrite a CIPHERDIR",
	},
	{
		from: module + "/fs/syncmem/...",
		forbidden: []string{"github.com/hanwen/go-fuse/...", module + "/fs", module + "/fs/cipherdir/...", module + "/fs/fsck/...",
			module + "/fs/rotate/...", module + "/fs/reverse/...", module + "/cipher/...", module + "/cmd/..."},
		ownCode: []string{"log/..."},
		why:     "syncmem is a plain file of what this machine remembers: no FUSE, no logging, no keys, no CIPHERDIR layout beyond nametransform's names",
	},
	{
		from:      module + "/fs/browse/...",
		forbidden: offlineReader,
		ownCode:   []string{"log/..."},
		why:       "ls's walk reads an unmounted volume through fs/cipherdir and fs/reverse/view: no FUSE, no logging, and the wording stays with the CLI",
	},
	{
		from:      module + "/internal/mounttable/...",
		forbidden: []string{"github.com/hanwen/go-fuse/...", module + "/fs/...", module + "/cmd/...", module + "/cipher/...", module + "/nametransform/..."},
		ownCode:   []string{"log/..."},
		why:       "the mount table is a leaf helper of cmd, fsck and rotate: it parses the kernel's table and knows nothing of volumes, FUSE or the CLI, and does not log",
	},
	{
		from:      module + "/internal/diskio",
		forbidden: []string{module + "/...", "github.com/hanwen/go-fuse/..."},
		ownCode:   []string{"log/..."},
		why:       "internal/diskio is the system-call layer under every tool: it knows no CIPHERDIR layout, names or keys (nothing of this module), no FUSE, and does not log",
	},
	{
		from:      module + "/fs/...",
		forbidden: []string{module + "/cmd/..."},
		why:       "the filesystem is a library; only the CLI sits above it",
	},
	{
		from:      module + "/internal/testenv",
		forbidden: []string{module + "/..."},
		why:       "internal/testenv is the leaf every test may import, the unit tests of cipher as much as tests/harness",
	},
}

func matches(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// goList returns every package of the module plus all of their dependencies,
// keyed by import path.
func goList(t *testing.T) map[string]*listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-e", "-json=ImportPath,Module,Imports,Deps,Error", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := make(map[string]*listedPackage)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[p.ImportPath] = &p
	}
	return pkgs
}

// chain returns one import path from -> ... -> to, for the failure message.
func chain(pkgs map[string]*listedPackage, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := cur; p != ""; p = prev[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			return path
		}
		p := pkgs[cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	return []string{from, "...", to}
}

func TestImportRules(t *testing.T) {
	pkgs := goList(t)

	var ours []string
	for path, p := range pkgs {
		if p.Module != nil && p.Module.Path == module {
			ours = append(ours, path)
			if p.Error != nil {
				t.Errorf("%s: %s", path, p.Error.Err)
			}
		}
	}
	slices.Sort(ours)

	for _, r := range rules {
		checked := 0
		for _, path := range ours {
			if !matches(r.from, path) {
				continue
			}
			checked++
			for _, dep := range pkgs[path].Deps {
				for _, bad := range r.forbidden {
					if matches(bad, dep) {
						t.Errorf("forbidden import %s -> %s (%s)\n\tchain: %s",
							path, dep, r.why, strings.Join(chain(pkgs, path, dep), " -> "))
					}
				}
			}
			// Our own code in the closure: the package itself and every
			// module package it imports, directly or not.
			own := []string{path}
			for _, dep := range pkgs[path].Deps {
				if p := pkgs[dep]; p != nil && p.Module != nil && p.Module.Path == module {
					own = append(own, dep)
				}
			}
			for _, o := range own {
				for _, imp := range pkgs[o].Imports {
					for _, bad := range r.ownCode {
						if matches(bad, imp) {
							t.Errorf("forbidden import %s -> %s (%s)\n\tvia our package %s",
								path, imp, r.why, o)
						}
					}
				}
			}
		}
		if checked == 0 {
			t.Errorf("rule for %s matched no package: the layout changed, update tests/arch", r.from)
		}
	}
}

// TestTestenvOnlyInTests: internal/testenv (which fails or skips a test) is
// imported by test files and by the packages under tests/ only. `go list
// -deps` leaves test files out, so no other package may have it among its
// dependencies.
func TestTestenvOnlyInTests(t *testing.T) {
	const testenv = module + "/internal/testenv"
	pkgs := goList(t)
	if pkgs[testenv] == nil {
		t.Fatalf("%s is not in the module: the layout changed, update tests/arch", testenv)
	}
	for path, p := range pkgs {
		if p.Module == nil || p.Module.Path != module || matches(module+"/tests/...", path) || path == testenv {
			continue
		}
		if slices.Contains(p.Deps, testenv) {
			t.Errorf("%s imports %s outside its tests\n\tchain: %s", path, testenv, strings.Join(chain(pkgs, path, testenv), " -> "))
		}
	}
}

// bareSkips are the test files allowed a skip that does not go through
// internal/testenv, with why: a skip about the test's own flags or inputs,
// which no install changes and a strict run must not turn into a failure.
var bareSkips = map[string]string{
	"cipher/fuzz_test.go":               "a fuzz input larger than the target takes",
	"tests/posix/battery_test.go":       "-short leaves the volume matrix out",
	"tests/posix/cases_tmpfile_test.go": "VEILFS_POSIX_PEER=gocryptfs compares with gocryptfs, which has no O_TMPFILE",
}

// TestSkipsGoThroughTestenv: a test that lacks something skips through
// internal/testenv, which fails instead under `make test` (README: a
// missing tool fails the run); a bare t.Skip would hide that nothing ran.
func TestSkipsGoThroughTestenv(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	root := strings.TrimSpace(string(out))
	skip := regexp.MustCompile(`\.(Skip|Skipf|SkipNow)\(`)
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "internal/testenv" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || rel == "tests/arch/arch_test.go" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if !skip.MatchString(line) {
				continue
			}
			if _, ok := bareSkips[rel]; ok {
				seen[rel] = true
				continue
			}
			t.Errorf("%s:%d: a bare skip: go through internal/testenv (NeedTool, NeedRoot, NeedFUSE, Missing, Platform), or add the file to bareSkips if the skip is about the test's own flags\n\t%s", rel, i+1, strings.TrimSpace(line))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range bareSkips {
		if !seen[rel] {
			t.Errorf("%s is in bareSkips but has no skip left: remove it there", rel)
		}
	}
}

// TestRuleMatcher pins the pattern semantics the rules rely on.
func TestRuleMatcher(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"log/...", "log", true},
		{"log/...", "log/slog", true},
		{"log/...", "logger", false},
		{module + "/cipher/...", module + "/cipher/config", true},
		{module + "/fs/...", module + "/fsx", false},
		{"golang.org/x/sys/unix", "golang.org/x/sys/unix", true},
		{"golang.org/x/sys/unix", "golang.org/x/sys/unix/linux", false},
	}
	for _, c := range cases {
		if got := matches(c.pattern, c.path); got != c.want {
			t.Errorf("matches(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}
