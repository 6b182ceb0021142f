// Package docs_test checks the repository's documents against the code that
// cites them. It needs no root, no FUSE and no build of veilfs.
package docs_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// formatDoc is the on-disk format specification, relative to the module root.
const formatDoc = "docs/FORMAT.md"

// cite is one section number cited somewhere.
type cite struct {
	file    string // relative to the module root, "/"-separated
	line    int
	section string // "5.4"
}

func (c cite) String() string { return fmt.Sprintf("%s:%d: §%s", c.file, c.line, c.section) }

var (
	// formatCite finds an explicit citation of the format document and the
	// section numbers chained to it: "FORMAT §4.4", "FORMAT.md §2",
	// "`docs/FORMAT.md`, §9", "FORMAT §2.1, §2.3", "FORMAT.md §5–§8",
	// "§5.4-§5.7 and §8".
	formatCite = regexp.MustCompile("FORMAT(?:\\.md)?`?,? *§ ?[0-9]+(?:\\.[0-9]+)*(?:(?:, *| *[-–/] *| and | or | to )§ ?[0-9]+(?:\\.[0-9]+)*)*")
	// sectionNum is one section number inside such a match.
	sectionNum = regexp.MustCompile(`§ ?([0-9]+(?:\.[0-9]+)*)`)
	// bareCite is a section sign without "FORMAT" before it. In Go source
	// these cite the format too ("// LongNameMax (§5.4)."), unless the
	// line names another document.
	bareCite = regexp.MustCompile(`§ ?([0-9]+(?:\.[0-9]+)*)`)
	// otherDoc marks a line whose bare "§" cites something else: an RFC,
	// a NIST publication, a draft, or another of our documents.
	otherDoc = regexp.MustCompile(`RFC|NIST|draft-|ARCHITECTURE|SECURITY|README|CHANGELOG`)
	// heading is a numbered heading of FORMAT.md: "## 5. File names",
	// "### 5.4 Long names".
	heading = regexp.MustCompile(`^#{1,6} +([0-9]+(?:\.[0-9]+)*)\.? `)
)

// citations returns the format sections cited in the file name (relative
// path) with content data: every explicit FORMAT citation in .go and .md
// files, and in .go files also the bare "§N" of comments.
func citations(name string, data []byte) []cite {
	var out []cite
	isGo := strings.HasSuffix(name, ".go")
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if !strings.Contains(text, "§") {
			continue
		}
		seen := map[int]bool{} // byte offsets of § already taken
		for _, m := range formatCite.FindAllStringIndex(text, -1) {
			for _, s := range sectionNum.FindAllStringSubmatchIndex(text[m[0]:m[1]], -1) {
				seen[m[0]+s[0]] = true
				out = append(out, cite{name, n, text[m[0]+s[2] : m[0]+s[3]]})
			}
		}
		if !isGo || otherDoc.MatchString(text) {
			continue
		}
		for _, s := range bareCite.FindAllStringSubmatchIndex(text, -1) {
			if !seen[s[0]] {
				out = append(out, cite{name, n, text[s[2]:s[3]]})
			}
		}
	}
	return out
}

// sections returns the section numbers FORMAT.md's headings define, and
// the numbers defined more than once.
func sections(doc []byte) (have map[string]bool, dups []string) {
	have = map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			if have[m[1]] {
				dups = append(dups, m[1])
			}
			have[m[1]] = true
		}
	}
	return have, dups
}

// missing returns the citations whose section have lacks.
func missing(cites []cite, have map[string]bool) []cite {
	var out []cite
	for _, c := range cites {
		if !have[c.section] {
			out = append(out, c)
		}
	}
	return out
}

// moduleRoot finds the directory holding go.mod, going up from the test's
// working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// repoCitations collects the citations of every .go and .md file under
// root but the format document itself, skipping .git, vendor and this
// package (whose synthetic inputs cite sections on purpose).
func repoCitations(t *testing.T, root string) []cite {
	t.Helper()
	var out []cite
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "vendor", "node_modules":
				return filepath.SkipDir
			}
			if rel, err := filepath.Rel(root, path); err == nil && filepath.ToSlash(rel) == "tests/docs" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".md")) {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == formatDoc {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, citations(rel, data)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFormatCitations: every section of FORMAT.md that the code and the
// documents cite exists.
func TestFormatCitations(t *testing.T) {
	root := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, formatDoc))
	if err != nil {
		t.Fatal(err)
	}
	have, dups := sections(doc)
	if len(dups) > 0 {
		t.Errorf("%s numbers these sections more than once: %v", formatDoc, dups)
	}
	cites := repoCitations(t, root)
	if len(cites) < 100 {
		// The code cites the format some 250 times: far fewer means the
		// patterns stopped matching, not that the citations went away.
		t.Fatalf("found only %d citations of the format; the patterns in this test no longer match the code", len(cites))
	}
	bad := missing(cites, have)
	for _, c := range bad {
		t.Errorf("%s: cited, but %s has no section %s (headings such as \"### %s Title\")", c, formatDoc, c.section, c.section)
	}
	if testing.Verbose() {
		used := map[string]int{}
		for _, c := range cites {
			used[c.section]++
		}
		var keys []string
		for k := range used {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Logf("§%s cited %d times", k, used[k])
		}
	}
}

// TestCheckerFindsBadCitations runs the checker on synthetic input, so that
// a pattern that silently stopped matching cannot make the real test pass.
func TestCheckerFindsBadCitations(t *testing.T) {
	doc := []byte("# Title\n\n## 0. Notation\n\n## 5. Names\n\n### 5.4 Long names\n\n" +
		"```\n## 9. inside a code block, not a heading\n```\n\n## 10. Reverse mode\n")
	have, dups := sections(doc)
	for _, s := range []string{"0", "5", "5.4", "10"} {
		if !have[s] {
			t.Errorf("heading %s not found", s)
		}
	}
	if have["9"] || len(dups) != 0 {
		t.Errorf("a heading in a code block counted, or duplicates %v", dups)
	}
	if _, d := sections([]byte("## 3. A\n### 3 B\n")); len(d) != 1 {
		t.Errorf("duplicate section 3 not reported: %v", d)
	}

	// The bogus section is put together at run time, so that this file
	// does not cite it itself.
	const bogus = "99" + ".1"
	goSrc := []byte(strings.ReplaceAll(`package x

// A (FORMAT §5.4) and a bogus FORMAT §BOGUS.
// Chained: FORMAT §0, §5, and FORMAT.md §5–§10 or §5.4-§7.
// Bare in Go: (§5.4), (§12).
// RFC 7748's function (§6.1) and ARCHITECTURE.md §1.1 are other documents.
`, "BOGUS", bogus))
	got := citations("x/x.go", goSrc)
	var list []string
	for _, c := range got {
		list = append(list, c.String())
	}
	want := []string{
		"x/x.go:3: §5.4", "x/x.go:3: §" + bogus,
		"x/x.go:4: §0", "x/x.go:4: §5", "x/x.go:4: §5", "x/x.go:4: §10", "x/x.go:4: §5.4", "x/x.go:4: §7",
		"x/x.go:5: §5.4", "x/x.go:5: §12",
	}
	if strings.Join(list, "\n") != strings.Join(want, "\n") {
		t.Errorf("citations:\n%s\nwant:\n%s", strings.Join(list, "\n"), strings.Join(want, "\n"))
	}
	var bad []string
	for _, c := range missing(got, have) {
		bad = append(bad, c.String())
	}
	if want := "x/x.go:3: §" + bogus + " x/x.go:4: §7 x/x.go:5: §12"; strings.Join(bad, " ") != want {
		t.Errorf("missing = %q, want %q", strings.Join(bad, " "), want)
	}

	// Markdown: only explicit citations count.
	md := []byte("See `docs/FORMAT.md`, §9 in particular; (FORMAT §4.4); a bare §3 is not ours.\n")
	var mdList []string
	for _, c := range citations("SECURITY.md", md) {
		mdList = append(mdList, c.String())
	}
	if want := "SECURITY.md:1: §9 SECURITY.md:1: §4.4"; strings.Join(mdList, " ") != want {
		t.Errorf("markdown citations = %q, want %q", strings.Join(mdList, " "), want)
	}
}
