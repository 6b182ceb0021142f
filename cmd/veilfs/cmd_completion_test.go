package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/veilfs/veilfs/internal/testenv"
)

// complete runs "veilfs __complete words..." in-process and returns the
// candidates (without descriptions) and the directive.
func complete(t *testing.T, words ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	c, stdout, stderr := testCLI("")
	if code := c.run(append([]string{"__complete"}, words...)); code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", words, code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	d, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		t.Fatalf("__complete %q: no directive line in %q", words, stdout)
	}
	var cands []string
	for _, l := range lines[:len(lines)-1] {
		cand, _, _ := strings.Cut(l, "\t")
		cands = append(cands, cand)
	}
	return cands, cobra.ShellCompDirective(d)
}

func TestCompleteCommandsAndTopics(t *testing.T) {
	if got, _ := complete(t, "mo"); !slices.Equal(got, []string{"mount"}) {
		t.Errorf("mo: %q", got)
	}
	if _, d := complete(t, "umount", ""); d != cobra.ShellCompDirectiveFilterDirs {
		t.Errorf("umount (alias) <TAB>: directive %d", d)
	}
	all, _ := complete(t, "")
	help, _ := complete(t, "help", "")
	for _, s := range specs() {
		if !slices.Contains(all, s.cmd.name) {
			t.Errorf("veilfs <TAB> lacks %s: %q", s.cmd.name, all)
		}
		if !slices.Contains(help, s.cmd.name) {
			t.Errorf("veilfs help <TAB> lacks %s: %q", s.cmd.name, help)
		}
	}
	if !slices.Contains(help, "exit-codes") {
		t.Errorf("veilfs help <TAB> lacks exit-codes: %q", help)
	}
	for _, cmd := range commands() {
		if cmd.hidden && (slices.Contains(all, cmd.name) || slices.Contains(help, cmd.name)) {
			t.Errorf("hidden command %s is offered", cmd.name)
		}
	}
	if got, _ := complete(t, "help", "keys", ""); !slices.Equal(got, []string{"add", "remove", "list"}) {
		t.Errorf("help keys <TAB>: %q", got)
	}
	if got, _ := complete(t, "keys", ""); !slices.Equal(got, []string{"add", "list", "remove"}) {
		t.Errorf("keys <TAB>: %q", got)
	}
	if got, _ := complete(t, "completion", ""); !slices.Equal(got, completionShells()) {
		t.Errorf("completion <TAB>: %q", got)
	}
}

// Every flag of every command completes, from the flag sets themselves.
func TestCompleteFlags(t *testing.T) {
	for _, s := range walk(specs()) {
		if s.flags == nil {
			continue
		}
		words := append(strings.Fields(s.cmd.name), "--")
		got, _ := complete(t, words...)
		for _, f := range visibleFlags(s.flags) {
			if !slices.Contains(got, "--"+f.Name) {
				t.Errorf("%s --<TAB> lacks --%s: %q", s.cmd.name, f.Name, got)
			}
		}
		for _, hidden := range []string{"--" + daemonFlag} {
			if slices.Contains(got, hidden) {
				t.Errorf("%s offers the hidden %s", s.cmd.name, hidden)
			}
		}
	}
}

func TestCompletePaths(t *testing.T) {
	tests := []struct {
		words []string
		want  cobra.ShellCompDirective
	}{
		{[]string{"mount", ""}, cobra.ShellCompDirectiveFilterDirs},                  // CIPHERDIR
		{[]string{"mount", "a", ""}, cobra.ShellCompDirectiveFilterDirs},             // MOUNTPOINT
		{[]string{"mount", "a", "b", ""}, cobra.ShellCompDirectiveNoFileComp},        // nothing more
		{[]string{"mount", "--passfile", ""}, cobra.ShellCompDirectiveDefault},       // FILE
		{[]string{"init", "--scryptn", ""}, cobra.ShellCompDirectiveNoFileComp},      // N
		{[]string{"keys", "add", "--label", ""}, cobra.ShellCompDirectiveNoFileComp}, // NAME
		{[]string{"unmount", ""}, cobra.ShellCompDirectiveFilterDirs},
	}
	for _, tt := range tests {
		if _, d := complete(t, tt.words...); d != tt.want {
			t.Errorf("%q: directive %d, want %d", tt.words, d, tt.want)
		}
	}
}

// Each script must at least parse in its shell. A shell that is not
// installed is skipped: make deps installs none of them but bash.
func TestCompletionScriptsParse(t *testing.T) {
	for _, shell := range completionShells() {
		t.Run(shell, func(t *testing.T) {
			c, stdout, stderr := testCLI("")
			if code := c.run([]string{"completion", shell}); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout.String(), "veilfs __complete") && !strings.Contains(stdout.String(), "__complete") {
				t.Errorf("script does not call veilfs __complete")
			}
			bin := testenv.NeedTool(t, shell, shell)
			path := filepath.Join(t.TempDir(), "veilfs."+shell)
			if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "-n", path).CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
	c, _, stderr := testCLI("")
	if code := c.run([]string{"completion", "tcsh"}); code != exitUsage || !strings.Contains(stderr.String(), `unknown shell "tcsh"`) {
		t.Errorf("tcsh: exit %d, %s", code, stderr)
	}
}
