package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veilfs/veilfs/internal/testenv"
)

var testManDate = time.Date(2025, 11, 27, 0, 0, 0, 0, time.UTC)

// manSections splits the page at .SH and .SS lines: title -> body.
func manSections(page string) map[string]string {
	out := map[string]string{}
	title := ""
	for _, line := range strings.Split(page, "\n") {
		if t, ok := strings.CutPrefix(line, ".SH "); ok {
			title = strings.Trim(t, `"`)
			out[title] += ""
			continue
		}
		if t, ok := strings.CutPrefix(line, ".SS "); ok {
			title = strings.Trim(t, `"`)
			out[title] += ""
			continue
		}
		out[title] += line + "\n"
	}
	return out
}

func TestManPageCoversEveryCommandAndFlag(t *testing.T) {
	page := manPage(testManDate)
	sections := manSections(page)
	for _, name := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "FILES", "SECURITY", "EXAMPLES", "SEE ALSO"} {
		if _, ok := sections[name]; !ok {
			t.Errorf("no %s section", name)
		}
	}
	for _, ref := range []string{`\fBgocryptfs\fR(1)`, `\fBfusermount3\fR(1)`, `\fBmount.fuse3\fR(8)`} {
		if !strings.Contains(sections["SEE ALSO"], ref) {
			t.Errorf("SEE ALSO lacks %s", ref)
		}
	}

	for _, s := range walk(specs()) {
		title := escape(s.usage.synopsis[0])
		body, ok := sections[title]
		if !ok {
			t.Errorf("no subsection %q for %s", title, s.cmd.name)
			continue
		}
		syn := manSynopsisWords(sections["SYNOPSIS"])
		if !strings.Contains(syn, "veilfs "+s.cmd.name+" ") && !strings.HasSuffix(syn, "veilfs "+s.cmd.name) {
			t.Errorf("SYNOPSIS lacks %s", s.cmd.name)
		}
		for _, f := range visibleFlags(s.flags) {
			tag := `\fB\-\-` + escape(f.Name) + `\fR`
			if f.Shorthand != "" {
				tag = `\fB\-` + f.Shorthand + `\fR, ` + tag
			}
			if !strings.Contains(body, ".TP\n"+tag) {
				t.Errorf("%s: flag --%s has no entry %q", s.cmd.name, f.Name, tag)
			}
		}
		if s.flags != nil && !strings.Contains(body, ".TP\n"+`\fB\-h\fR, \fB\-\-help\fR`) {
			t.Errorf("%s: no --help entry", s.cmd.name)
		}
	}
	for _, cmd := range commands() {
		if cmd.hidden && strings.Contains(sections["SYNOPSIS"]+strings.Join(slices.Collect(maps.Keys(sections)), "\n"), "veilfs "+escape(cmd.name)) {
			t.Errorf("hidden command %s is in the page", cmd.name)
		}
	}
	for _, extra := range []string{"veilfs help [COMMAND | exit\\-codes]", "veilfs \\-\\-version"} {
		if _, ok := sections[extra]; !ok {
			t.Errorf("no subsection for %q", extra)
		}
	}

	// EXAMPLES starts with the example of the main help.
	if ex := escape("$ mkdir ~/vault && veilfs mount ~/vault.enc ~/vault"); !strings.Contains(mainUsage, "$ mkdir ~/vault && veilfs mount") || !strings.Contains(sections["EXAMPLES"], ex) {
		t.Errorf("EXAMPLES lacks the main help's example")
	}

	codes := regexp.MustCompile(`(?m)^\s+(\d+)  `).FindAllStringSubmatch(exitCodeHelp, -1)
	if len(codes) < 10 {
		t.Fatalf("found %d exit codes in exitCodeHelp", len(codes))
	}
	for _, c := range codes {
		if !strings.Contains(sections["EXIT STATUS"], ".TP\n\\fB"+c[1]+"\\fR\n") {
			t.Errorf("EXIT STATUS lacks code %s", c[1])
		}
	}
	if !strings.Contains(page, `.TH "VEILFS" "1" "2025\-11\-27"`) {
		t.Errorf("header: %q", strings.SplitN(page, "\n", 4)[2])
	}
}

// manSynopsisWords turns the SYNOPSIS body back into plain words.
func manSynopsisWords(body string) string {
	r := strings.NewReplacer(`\fB`, "", `\fI`, "", `\fR`, "", `\-`, "-")
	return strings.Join(strings.Fields(r.Replace(body)), " ")
}

// The page renders without a warning, and what the reader sees can be
// copied into a shell: ASCII hyphens, quotes and tildes, no request eaten.
func TestManPageRenders(t *testing.T) {
	groff := testenv.NeedTool(t, "groff", "groff-base")
	path := filepath.Join(t.TempDir(), "veilfs.1")
	if err := os.WriteFile(path, []byte(manPage(testManDate)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-P-cbou", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff: %v\n%s", err, stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{
		"--masterkey-file FILE",
		`$ printf '%s\n%s\n' "$OLD" "$NEW" | veilfs passwd ~/vault.enc`,
		"$ veilfs init --passfile ~/.vault-password --scryptn 10 /tmp/test.enc",
		"gocryptfs.longname.*",
		"veilfs status --json | jq '.[].bytes_written'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	if man, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command(man, "--warnings", "-l", path)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		out, err := cmd.CombinedOutput()
		if err != nil || bytes.Contains(out, []byte("warning")) {
			t.Errorf("man --warnings -l: %v\n%s", err, out)
		}
	}
}

// Text that looks like roff must stay text.
func TestManEscapes(t *testing.T) {
	var w roffWriter
	w.text(".SH not a section\n'also not\nback\\slash -x `cmd` ~/a ^b")
	want := "\\&.SH not a section\n\\(aqalso not\nback\\eslash \\-x \\(gacmd\\(ga \\(ti/a \\(hab\n"
	if w.String() != want {
		t.Errorf("got %q\nwant %q", w.String(), want)
	}
}

func TestManpageCommand(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1764201600") // 2025-11-27
	c, stdout, stderr := testCLI("")
	if code := c.run([]string{"manpage"}); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout.String() != manPage(testManDate) {
		t.Error("veilfs manpage does not print manPage(SOURCE_DATE_EPOCH)")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "soon")
	if code := c.run([]string{"manpage"}); code != exitUsage {
		t.Errorf("bad SOURCE_DATE_EPOCH: exit %d", code)
	}
}
