//go:build linux

package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// The pages of docs/ (and README.md) that repeat the binary's help carry it
// verbatim, between markers, so that the two cannot drift apart:
//
//	<!-- help: mount -->
//	```text
//	(the output of `veilfs help mount`)
//	```
//	<!-- /help -->
//
// "<!-- help: keys add -->" is `veilfs help keys add`, and
// "<!-- help: mount | Mount options: -->" only the part of `veilfs help
// mount` that starts at its line "Mount options:" (see helpSection).
// TestDocsHelpBlocks fails when a block differs from what the binary says;
// `make docs` (this test with -update) rewrites the blocks.
var updateDocs = flag.Bool("update", false, "rewrite the help blocks of README.md and docs/*.md from the binary")

var helpOpen = regexp.MustCompile(`^<!-- help: ([a-z][a-z -]*?)(?: \| (.+?))? -->$`)

const helpClose = "<!-- /help -->"

// helpBlock is one marked block of a page.
type helpBlock struct {
	line    int    // of the opening marker, 1-based
	args    string // "keys add"
	section string // "" for the whole help
}

func (b helpBlock) String() string {
	if b.section != "" {
		return fmt.Sprintf("line %d: veilfs help %s | %s", b.line, b.args, b.section)
	}
	return fmt.Sprintf("line %d: veilfs help %s", b.line, b.args)
}

// renderHelpBlocks returns page with the body of every help block replaced
// by what help gives for it, the blocks found, and the blocks whose body
// was not that already.
func renderHelpBlocks(page []byte, help func(args, section string) (string, error)) (out []byte, blocks, stale []helpBlock, err error) {
	lines := strings.SplitAfter(string(page), "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		b.WriteString(lines[i])
		m := helpOpen.FindStringSubmatch(strings.TrimRight(lines[i], "\n"))
		if m == nil {
			if strings.HasPrefix(lines[i], "<!-- help") || strings.HasPrefix(lines[i], helpClose) {
				return nil, nil, nil, fmt.Errorf("line %d: a help marker out of place: %q", i+1, strings.TrimSpace(lines[i]))
			}
			continue
		}
		blk := helpBlock{line: i + 1, args: m[1], section: m[2]}
		end := -1
		for j := i + 1; j < len(lines); j++ {
			if strings.TrimRight(lines[j], "\n") == helpClose {
				end = j
				break
			}
			if helpOpen.MatchString(strings.TrimRight(lines[j], "\n")) {
				break
			}
		}
		if end < 0 {
			return nil, nil, nil, fmt.Errorf("%v: no %s after it", blk, helpClose)
		}
		text, err := help(blk.args, blk.section)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%v: %w", blk, err)
		}
		if strings.Contains(text, "```") {
			return nil, nil, nil, fmt.Errorf("%v: the help holds ``` and cannot go in a fenced block", blk)
		}
		body := "```text\n" + text + "```\n"
		if strings.Join(lines[i+1:end], "") != body {
			stale = append(stale, blk)
		}
		b.WriteString(body)
		b.WriteString(lines[end])
		blocks = append(blocks, blk)
		i = end
	}
	return []byte(b.String()), blocks, stale, nil
}

// helpSection returns the part of a help text that starts at the line
// title ("Mount options:") and ends before the next heading: a line at the
// left margin ending in ":" that follows a blank line. Trailing blank lines
// are dropped; the result ends in a newline.
func helpSection(help, title string) (string, error) {
	lines := strings.Split(help, "\n")
	start := -1
	for i, l := range lines {
		if l == title {
			start = i
			break
		}
	}
	if start < 0 {
		return "", fmt.Errorf("no line %q in the help", title)
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		if l != "" && l[0] != ' ' && strings.HasSuffix(l, ":") && lines[i-1] == "" {
			end = i
			break
		}
	}
	sec := strings.TrimRight(strings.Join(lines[start:end], "\n"), "\n")
	return sec + "\n", nil
}

// binaryHelp runs `veilfs help ARGS` and cuts the section out if one is named.
func binaryHelp(t *testing.T) func(args, section string) (string, error) {
	cache := map[string]string{}
	return func(args, section string) (string, error) {
		out, ok := cache[args]
		if !ok {
			res := harness.Run(t, "", append([]string{"help"}, strings.Fields(args)...)...)
			if res.Code != 0 {
				return "", fmt.Errorf("veilfs help %s: %v", args, res)
			}
			out = res.Stdout
			cache[args] = out
		}
		if section == "" {
			if !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			return out, nil
		}
		return helpSection(out, section)
	}
}

// docPages returns README.md and docs/*.md, relative to the module root.
func docPages(t *testing.T, root string) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{filepath.Join(root, "README.md")}, pages...)
	for i, p := range pages {
		pages[i], _ = filepath.Rel(root, p)
	}
	return pages
}

// TestDocsHelpBlocks checks (or with -update rewrites) every help block of
// README.md and docs/*.md against the binary's help.
func TestDocsHelpBlocks(t *testing.T) {
	root := harness.ModuleRoot(t)
	help := binaryHelp(t)
	total := 0
	for _, page := range docPages(t, root) {
		path := filepath.Join(root, page)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out, blocks, stale, err := renderHelpBlocks(data, help)
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		total += len(blocks)
		if len(stale) == 0 {
			continue
		}
		if *updateDocs {
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rewrote %d help blocks", page, len(stale))
			continue
		}
		for _, b := range stale {
			t.Errorf("%s, %v: the block differs from the binary's help; run `make docs` (or change cmd/veilfs, whose text wins)", page, b)
		}
	}
	if total == 0 {
		t.Error("no help blocks found in README.md or docs/*.md")
	}
}

// TestDocsHelpBlocksCoverCommands requires a block of the whole help of
// every command `veilfs help` lists, and of each sub-command listed under
// "Commands:" in a command's help (keys add, path encrypt, ...), in
// docs/commands.md.
func TestDocsHelpBlocksCoverCommands(t *testing.T) {
	root := harness.ModuleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if m := helpOpen.FindStringSubmatch(l); m != nil && m[2] == "" {
			have[m[1]] = true
		}
	}

	commandLine := regexp.MustCompile(`^  veilfs ([a-z][a-z-]*)`)
	var want []string
	top := harness.Run(t, "", "help")
	if top.Code != 0 {
		t.Fatalf("veilfs help: %v", top)
	}
	for _, l := range strings.Split(top.Stdout, "\n") {
		m := commandLine.FindStringSubmatch(l)
		if m == nil || m[1] == "help" {
			continue
		}
		cmd := m[1]
		if len(want) > 0 && want[len(want)-1] == cmd {
			continue // init and init --reverse
		}
		want = append(want, cmd)
		res := harness.Run(t, "", "help", cmd)
		if res.Code != 0 {
			t.Fatalf("veilfs help %s: %v", cmd, res)
		}
		sub := regexp.MustCompile(`^  veilfs ` + cmd + ` ([a-z][a-z-]*)`)
		if sec, err := helpSection(res.Stdout, "Commands:"); err == nil {
			for _, sl := range strings.Split(sec, "\n") {
				if m := sub.FindStringSubmatch(sl); m != nil {
					want = append(want, cmd+" "+m[1])
				}
			}
		}
	}
	if len(want) < 10 {
		t.Fatalf("only %d commands parsed from `veilfs help`:\n%s", len(want), top.Stdout)
	}
	for _, c := range want {
		if !have[c] {
			t.Errorf("docs/commands.md has no <!-- help: %s --> block", c)
		}
	}
}

// TestDocsHelpBlockDrift shows that a page which no longer says what the
// help says is caught, and that -update's rewrite is then accepted, without
// the binary.
func TestDocsHelpBlockDrift(t *testing.T) {
	help := func(args, section string) (string, error) {
		text := "Usage: veilfs demo\n\nOptions:\n  --new   a flag added since\n\nExamples:\n  $ veilfs demo\n"
		if section != "" {
			return helpSection(text, section)
		}
		return text, nil
	}
	page := []byte("# demo\n\n<!-- help: demo -->\n```text\nUsage: veilfs demo\n```\n<!-- /help -->\n\n" +
		"<!-- help: demo | Options: -->\n```text\nOptions:\n  --new   a flag added since\n```\n<!-- /help -->\ntail\n")
	out, blocks, stale, err := renderHelpBlocks(page, help)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || len(stale) != 1 || stale[0].line != 3 {
		t.Fatalf("blocks %v, stale %v; want 2 blocks, the first one stale", blocks, stale)
	}
	if !bytes.Contains(out, []byte("  --new   a flag added since\n\nExamples:")) || !bytes.HasSuffix(out, []byte("<!-- /help -->\ntail\n")) {
		t.Errorf("rewritten page:\n%s", out)
	}
	if _, _, again, err := renderHelpBlocks(out, help); err != nil || len(again) != 0 {
		t.Errorf("the rewritten page is stale again: %v %v", again, err)
	}
	for _, bad := range []string{
		"<!-- help: demo -->\n```text\n```\n",              // never closed
		"<!-- help: demo | Nowhere: -->\n<!-- /help -->\n", // no such section
		"<!-- /help -->\n",                                 // closed, never opened
	} {
		if _, _, _, err := renderHelpBlocks([]byte(bad), help); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestDocsExitCodes keeps the exit-code table of docs/commands.md identical
// to what the binary documents (`veilfs help exit-codes`, generated from
// cmd/veilfs/exitcodes.go).
func TestDocsExitCodes(t *testing.T) {
	const page = "docs/commands.md"
	doc, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), page))
	if err != nil {
		t.Fatal(err)
	}
	fromDoc := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \| (.+) \|$`).FindAllStringSubmatch(string(doc), -1) {
		fromDoc[m[1]] = strings.TrimSpace(m[2])
	}

	res := harness.Run(t, "", "help", "exit-codes")
	if res.Code != 0 {
		t.Fatalf("veilfs help exit-codes: %v", res)
	}
	fromBinary := map[string]string{}
	var last string
	for _, line := range strings.Split(res.Stdout, "\n") {
		if m := regexp.MustCompile(`^\s*(\d+)\s{2,}(.+)$`).FindStringSubmatch(line); m != nil {
			last = m[1]
			fromBinary[last] = strings.TrimSpace(m[2])
		} else if last != "" && strings.HasPrefix(line, "      ") && strings.TrimSpace(line) != "" {
			fromBinary[last] += " " + strings.TrimSpace(line) // continuation line
		}
	}
	if len(fromBinary) == 0 {
		t.Fatalf("no exit codes parsed from `veilfs help exit-codes`:\n%s", res.Stdout)
	}
	codes := make([]string, 0, len(fromBinary))
	for code := range fromBinary {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		meaning := fromBinary[code]
		if got, ok := fromDoc[code]; !ok {
			t.Errorf("%s lacks exit code %s (%s)", page, code, meaning)
		} else if got != meaning {
			t.Errorf("exit code %s: %s says %q, veilfs help exit-codes says %q", code, page, got, meaning)
		}
	}
	for code := range fromDoc {
		if _, ok := fromBinary[code]; !ok {
			t.Errorf("%s documents exit code %s that veilfs help exit-codes does not", page, code)
		}
	}
}
