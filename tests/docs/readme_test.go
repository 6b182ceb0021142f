package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeMaxLines keeps README.md a first page: what veilfs is, how to
// install and start, the sync-folder how-to and the links. The reference
// lives in docs/.
const readmeMaxLines = 300

// TestReadmeFirstPage: README.md stays short, names the two commands the
// developers' guide promises (`make demo` and `make test`), and links to
// every page of docs/ and to SECURITY.md, ARCHITECTURE.md and CHANGELOG.md,
// so that nothing moved out of it is lost from sight.
func TestReadmeFirstPage(t *testing.T) {
	root := moduleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	if n := strings.Count(readme, "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move reference material to docs/", n, readmeMaxLines)
	}
	for _, cmd := range []string{"make demo", "make test"} {
		if !regexp.MustCompile("(?m)^" + regexp.QuoteMeta(cmd) + " ").MatchString(readme) {
			t.Errorf("README.md has no line starting with %q in its try-it block", cmd)
		}
	}
	linked := map[string]bool{}
	for _, m := range mdLink.FindAllStringSubmatch(stripCode(readme, false), -1) {
		path, _, _ := strings.Cut(m[1], "#")
		linked[filepath.ToSlash(filepath.Clean(path))] = true
	}
	want := []string{"SECURITY.md", "ARCHITECTURE.md", "CHANGELOG.md"}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no docs/*.md pages")
	}
	for _, p := range pages {
		want = append(want, "docs/"+filepath.Base(p))
	}
	for _, w := range want {
		if !linked[w] {
			t.Errorf("README.md does not link to %s", w)
		}
	}
}
