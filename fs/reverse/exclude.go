package reverse

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Excluder decides which plaintext paths the view leaves out, with
// gitignore rules (go-git's implementation: "*", "**", "?", character
// classes, a trailing "/" for directories only, a leading "/" to anchor at
// the root, "!" to re-include). A nil *Excluder excludes nothing.
type Excluder struct {
	m gitignore.Matcher
}

// NewExcluder compiles patterns (from --exclude) and the lines of files
// (from --exclude-from: one pattern per line, blank lines and lines
// starting with "#" ignored, as in .gitignore). It returns nil when there
// is no pattern at all.
func NewExcluder(patterns, files []string) (*Excluder, error) {
	var ps []gitignore.Pattern
	add := func(line string) {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			return
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	for _, p := range patterns {
		add(p)
	}
	for _, f := range files {
		if err := readPatterns(f, add); err != nil {
			return nil, err
		}
	}
	if len(ps) == 0 {
		return nil, nil
	}
	return &Excluder{m: gitignore.NewMatcher(ps)}, nil
}

func readPatterns(file string, add func(string)) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("read exclusion patterns: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		add(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read exclusion patterns from %s: %w", file, err)
	}
	return nil
}

// Excluded reports whether the plaintext path ppath ("/"-separated,
// relative to the plaintext root) is left out of the view. The root
// itself never is.
func (e *Excluder) Excluded(ppath string, isDir bool) bool {
	if e == nil || ppath == "" {
		return false
	}
	return e.m.Match(strings.Split(ppath, "/"), isDir)
}
