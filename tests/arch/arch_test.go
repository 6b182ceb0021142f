// Package arch checks the architecture ARCHITECTURE.md describes against the
// build: its import table, row by row and edge by edge, and every file and
// name it cites (map_test.go); and the test suite's own rules (skips go
// through internal/testenv, which only tests import).
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

// matches reports whether path is pattern, or lies in its subtree when the
// pattern ends in "/...".
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
