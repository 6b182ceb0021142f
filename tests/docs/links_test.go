package docs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

var (
	// mdLink is an inline Markdown link or image: [text](target). The text
	// may run over a line break.
	mdLink = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	// inlineCode is a code span on one line, whose brackets are no link.
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	// mdHeading is an ATX heading.
	mdHeading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
)

// stripCode blanks fenced code blocks, keeping line breaks, and code spans;
// with keepSpans it keeps the words of a code span, only dropping its
// backticks, as GitHub does when it makes an anchor of a heading.
func stripCode(doc string, keepSpans bool) string {
	lines := strings.Split(doc, "\n")
	inFence := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
			lines[i] = ""
			continue
		}
		if inFence {
			lines[i] = ""
			continue
		}
		lines[i] = inlineCode.ReplaceAllStringFunc(l, func(s string) string {
			if keepSpans {
				return strings.Trim(s, "`")
			}
			return strings.Repeat(" ", len(s))
		})
	}
	return strings.Join(lines, "\n")
}

// slug is the anchor GitHub gives a heading: lower case, everything but
// letters, digits, spaces, hyphens and underscores dropped, spaces made
// hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown document's headings, with
// GitHub's -1, -2, ... for repeated ones.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range strings.Split(stripCode(doc, true), "\n") {
		m := mdHeading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		// Links in a heading count by their text.
		text := mdLink.ReplaceAllStringFunc(m[1], func(s string) string {
			return s[1:strings.Index(s, "](")]
		})
		a := slug(text)
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// brokenLinks returns the links of the Markdown document name (relative to
// root) that lead nowhere: a relative path that does not exist, or an
// anchor that no heading of the .md file it names makes.
func brokenLinks(root, name string, read func(string) (string, error)) ([]string, error) {
	doc, err := read(name)
	if err != nil {
		return nil, err
	}
	var bad []string
	body := stripCode(doc, false)
	for _, m := range mdLink.FindAllStringSubmatchIndex(body, -1) {
		target := body[m[2]:m[3]]
		line := 1 + strings.Count(body[:m[0]], "\n")
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		path, anchor, _ := strings.Cut(target, "#")
		file := name
		if path != "" {
			file = filepath.ToSlash(filepath.Join(filepath.Dir(name), path))
			if _, err := os.Stat(filepath.Join(root, file)); err != nil {
				bad = append(bad, name+":"+strconv.Itoa(line)+": "+target+": no such file")
				continue
			}
		}
		if anchor == "" || !strings.HasSuffix(file, ".md") {
			continue
		}
		targetDoc, err := read(file)
		if err != nil {
			return nil, err
		}
		if !anchors(targetDoc)[anchor] {
			bad = append(bad, name+":"+strconv.Itoa(line)+": "+target+": no heading of "+file+" makes this anchor")
		}
	}
	return bad, nil
}

// markdownFiles lists the tracked-looking .md files under root, relative
// and "/"-separated, leaving out .git, vendor and test data.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "vendor", "node_modules", "testdata", "bin":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestLinks: every relative link between the repository's Markdown files
// leads to a file that exists and, with an anchor, to a heading of it. A
// section moved from one page to another breaks the links to it here, not
// in a reader's browser.
func TestLinks(t *testing.T) {
	root := moduleRoot(t)
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, name))
		return string(b), err
	}
	files := markdownFiles(t, root)
	if len(files) < 5 {
		t.Fatalf("only %d Markdown files found under %s", len(files), root)
	}
	for _, f := range files {
		bad, err := brokenLinks(root, f, read)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Error(b)
		}
	}
}

// TestLinkCheckerFindsBrokenLinks runs the checker on synthetic pages, so
// that a pattern that silently stopped matching cannot make TestLinks pass.
func TestLinkCheckerFindsBrokenLinks(t *testing.T) {
	root := t.TempDir()
	pages := map[string]string{
		"README.md": "# Top\n\n## Try it: `make demo` and `make test`\n\n" +
			"[ok](docs/a.md#etcfstab-and-mount8) [ok](#try-it-make-demo-and-make-test) [ok](docs/a.md)\n" +
			"[gone](docs/missing.md) [bad anchor](docs/a.md#nowhere)\n" +
			"[over a\nline break](#top) [web](https://example.org/x#y)\n" +
			"`[in code](nowhere.md)`\n\n```\n[in a fence](nowhere.md)\n```\n",
		"docs/a.md": "# A\n\n## /etc/fstab and mount(8)\n\n## Same\n\n## Same\n\n[up](../README.md#top) [second](#same-1) [third](#same-2)\n",
	}
	for name, text := range pages {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, name))
		return string(b), err
	}
	got, err := brokenLinks(root, "README.md", read)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:6: docs/missing.md: no such file",
		"README.md:6: docs/a.md#nowhere: no heading of docs/a.md makes this anchor",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got, err = brokenLinks(root, "docs/a.md", read)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.Contains(got[0], "#same-2") {
		t.Errorf("docs/a.md: %q, want only #same-2 reported", got)
	}
}
