package arch

// ARCHITECTURE.md's map is read here and compared with the code, so that the
// prose cannot drift from the build graph: the import table (every package,
// exactly its imports of ours, what it never imports), and every file and
// exported name the document cites.

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const archDoc = "../../ARCHITECTURE.md"

// mapRow is one row of ARCHITECTURE.md's import table.
type mapRow struct {
	pkg     string   // relative to the module: "fs/cipherdir"
	imports []string // the module packages it imports directly, relative
	never   []string // import paths (or "x/..." subtrees) it and our code below it never import
	line    int
}

// codeSpan is a code span on one line; fenced blocks are dropped first.
var codeSpan = regexp.MustCompile("`([^`\n]+)`")

// readMap parses the table under the heading "Import table": rows of
// | `pkg` | `a`, `b` (or —) | `x`, `y/...` (or —) |.
func readMap(t *testing.T) []mapRow {
	t.Helper()
	f, err := os.Open(archDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []mapRow
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.Contains(line, "Import table")
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 3 {
			t.Fatalf("%s:%d: an import-table row has 3 cells: %q", archDoc, n, line)
		}
		spans := func(cell string) []string {
			var out []string
			for _, m := range codeSpan.FindAllStringSubmatch(cell, -1) {
				out = append(out, m[1])
			}
			return out
		}
		pkg := spans(cells[0])
		if len(pkg) != 1 {
			t.Fatalf("%s:%d: the first cell names one package: %q", archDoc, n, line)
		}
		rows = append(rows, mapRow{pkg: pkg[0], imports: spans(cells[1]), never: spans(cells[2]), line: n})
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no import table (a heading containing \"Import table\" and rows of | `pkg` | ... |)", archDoc)
	}
	return rows
}

// mapped returns the module's packages that the map must show, relative to
// the module: all but the test suites under tests/ and the benchmark
// helpers under bench/.
func mapped(pkgs map[string]*listedPackage) map[string]bool {
	out := map[string]bool{}
	for path, p := range pkgs {
		rel := strings.TrimPrefix(path, module+"/")
		if p.Module != nil && p.Module.Path == module && !strings.HasPrefix(rel, "tests/") && !strings.HasPrefix(rel, "bench/") {
			out[rel] = true
		}
	}
	return out
}

// TestMapMatchesCode: every non-test package of the module has a row; a row's
// imports are exactly the package's direct imports of module packages (the
// picture draws these edges), and neither it nor any module package it
// depends on imports what its last cell forbids.
func TestMapMatchesCode(t *testing.T) {
	pkgs := goList(t)
	rows := readMap(t)
	own := func(path string) bool {
		p := pkgs[path]
		return p != nil && p.Module != nil && p.Module.Path == module
	}
	for path, p := range pkgs {
		if own(path) && p.Error != nil {
			t.Errorf("%s: %s", path, p.Error.Err)
		}
	}
	documented := map[string]bool{}
	for _, r := range rows {
		full := module + "/" + r.pkg
		documented[full] = true
		p := pkgs[full]
		if !own(full) {
			t.Errorf("%s:%d: %s is not a package of the module", archDoc, r.line, r.pkg)
			continue
		}
		var got []string
		for _, imp := range p.Imports {
			if own(imp) {
				got = append(got, strings.TrimPrefix(imp, module+"/"))
			}
		}
		want := slices.Clone(r.imports)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s:%d: %s imports %v of ours; the table says %v", archDoc, r.line, r.pkg, got, want)
		}
		closure := []string{full}
		for _, dep := range p.Deps {
			if own(dep) {
				closure = append(closure, dep)
			}
		}
		for _, o := range closure {
			for _, imp := range pkgs[o].Imports {
				for _, bad := range r.never {
					if matches(bad, imp) || matches(module+"/"+bad, imp) {
						t.Errorf("%s:%d: %s must not import %s, but %s (in its build) imports %s\n\tchain: %s",
							archDoc, r.line, r.pkg, bad, o, imp, strings.Join(chain(pkgs, full, imp), " -> "))
					}
				}
			}
		}
	}
	for rel := range mapped(pkgs) {
		if !documented[module+"/"+rel] {
			t.Errorf("package %s has no row in %s's import table: add it where it belongs", rel, archDoc)
		}
	}
}

// goFile is a cited source file: `fs/identity.go`, or a bare `journal.go`
// that must exist somewhere in the tree.
var goFile = regexp.MustCompile(`^[A-Za-z0-9_./-]+\.(go|sh|py)$`)

// qualified is a cited exported name of one of our packages:
// `cipherdir.WriteSidecar`, `config.Save`, `Volume.CheckKey` is not
// (a method; its type is checked when cited qualified).
var qualified = regexp.MustCompile(`^([a-z][a-z0-9]*)\.([A-Z][A-Za-z0-9_]*)`)

// TestMapCitesWhatExists: every file and every package-qualified name that
// ARCHITECTURE.md cites in a code span exists, so a move or a rename that
// forgets the document fails here.
func TestMapCitesWhatExists(t *testing.T) {
	doc, err := os.ReadFile(archDoc)
	if err != nil {
		t.Fatal(err)
	}
	root := "../.."
	var files []string
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Top-level names of each of our packages, by package name.
	names := map[string]map[string]bool{}
	pkgs := goList(t)
	for path, p := range pkgs {
		if p.Module == nil || p.Module.Path != module {
			continue
		}
		dir := filepath.Join(root, strings.TrimPrefix(path, module))
		decls, pkgName := topLevelNames(t, dir)
		if names[pkgName] == nil {
			names[pkgName] = map[string]bool{}
		}
		for n := range decls {
			names[pkgName][n] = true
		}
	}
	var prose []string
	inFence := false
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
		} else if !inFence {
			prose = append(prose, l)
		}
	}
	for _, m := range codeSpan.FindAllStringSubmatch(strings.Join(prose, "\n"), -1) {
		span := m[1]
		switch {
		case goFile.MatchString(span):
			found := slices.ContainsFunc(files, func(f string) bool {
				return f == span || strings.HasSuffix(f, "/"+span)
			})
			if !found {
				t.Errorf("%s cites %s, which is no file of the tree", archDoc, span)
			}
		case qualified.MatchString(span):
			q := qualified.FindStringSubmatch(span)
			decls, ok := names[q[1]]
			if !ok {
				continue // not one of our packages (unix.Umask, fuse.Server)
			}
			if !decls[q[2]] {
				t.Errorf("%s cites %s, but package %s declares no %s", archDoc, span, q[1], q[2])
			}
		}
	}
}

// topLevelNames returns the top-level declarations (functions, types,
// variables, constants; methods as Type.Method too) of the Go files in dir,
// tests excluded, and the package name.
func topLevelNames(t *testing.T, dir string) (map[string]bool, string) {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	name := ""
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		name = f.Name.Name
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				out[d.Name.Name] = true
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						out[s.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range s.Names {
							out[n.Name] = true
						}
					}
				}
			}
		}
	}
	return out, name
}

// pictureToken is a word of the picture that may name a package.
var pictureToken = regexp.MustCompile(`[a-z][a-z0-9]*(?:/[a-z][a-z0-9]*)*`)

// drawnEdge is an arrow drawn between two packages on one row.
var drawnEdge = regexp.MustCompile(`([a-z][a-z0-9/]*) ─► ([a-z][a-z0-9/]*)`)

// readPicture returns the row of each package in the picture (the first
// fenced block under "## Packages and the import direction"; rows count
// only lines that name a package) and the arrows drawn within a row.
func readPicture(t *testing.T, known map[string]bool) (row map[string]int, drawn map[[2]string]bool) {
	t.Helper()
	doc, err := os.ReadFile(archDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## Packages and the import direction")
	if !ok {
		t.Fatalf("%s: no heading \"Packages and the import direction\"", archDoc)
	}
	_, block, ok := strings.Cut(after, "```\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatalf("%s: no picture (a fenced block) under \"Packages and the import direction\"", archDoc)
	}
	row, drawn = map[string]int{}, map[[2]string]bool{}
	n := 0
	for _, line := range strings.Split(block, "\n") {
		named := false
		for _, tok := range pictureToken.FindAllString(line, -1) {
			if !known[tok] {
				continue
			}
			if _, dup := row[tok]; dup {
				t.Errorf("%s: the picture shows %s twice", archDoc, tok)
			}
			row[tok], named = n, true
		}
		for _, m := range drawnEdge.FindAllStringSubmatch(line, -1) {
			drawn[[2]string{m[1], m[2]}] = true
		}
		if named {
			n++
		}
	}
	return row, drawn
}

// TestPictureMatchesCode: every package is on one row of the picture, and
// imports only packages on rows below it or drawn with an arrow beside it.
func TestPictureMatchesCode(t *testing.T) {
	pkgs := goList(t)
	known := mapped(pkgs)
	row, drawn := readPicture(t, known)
	for pkg := range known {
		if _, ok := row[pkg]; !ok {
			t.Errorf("%s: the picture does not show %s", archDoc, pkg)
		}
	}
	for e := range drawn {
		if !known[e[0]] || !known[e[1]] || row[e[0]] != row[e[1]] {
			t.Errorf("%s: the picture draws %s ─► %s, which are not two packages on one row", archDoc, e[0], e[1])
		} else if !slices.Contains(pkgs[module+"/"+e[0]].Imports, module+"/"+e[1]) {
			t.Errorf("%s: the picture draws %s ─► %s, which the code does not import", archDoc, e[0], e[1])
		}
	}
	for pkg := range known {
		for _, imp := range pkgs[module+"/"+pkg].Imports {
			dep := strings.TrimPrefix(imp, module+"/")
			if !known[dep] {
				continue
			}
			if row[dep] <= row[pkg] && !drawn[[2]string{pkg, dep}] {
				t.Errorf("%s: %s imports %s, which the picture shows on its own row or above", archDoc, pkg, dep)
			}
		}
	}
}

// TestEveryPackageOwnsSomething: each package has a row in the table of
// what it owns and what it does not, under "What each package owns".
func TestEveryPackageOwnsSomething(t *testing.T) {
	doc, err := os.ReadFile(archDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "### What each package owns")
	if !ok {
		t.Fatalf("%s: no heading \"What each package owns\"", archDoc)
	}
	table, _, _ = strings.Cut(table, "\n#")
	for rel := range mapped(goList(t)) {
		if !strings.Contains(table, "\n| `"+rel+"` | ") {
			t.Errorf("%s: %s has no row under \"What each package owns\"", archDoc, rel)
		}
	}
}
