//go:build linux

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestBashCompletion loads the script of `veilfs completion bash` into a
// bash, as bash-completion does, and presses TAB: it sets COMP_WORDS and
// COMP_CWORD as bash would and calls the completion function, which asks the
// built binary (`veilfs __complete`) for the candidates. It does so again
// without the bash-completion package, as 'source <(veilfs completion
// bash)' in a ~/.bashrc does where the package is not installed.
func TestBashCompletion(t *testing.T) {
	bashCompletion := harness.RequireTool(t, "/usr/share/bash-completion/bash_completion", "bash-completion")
	t.Run("with bash-completion", func(t *testing.T) { testBashCompletion(t, bashCompletion) })
	// An empty file to source in its place: none of its functions exist.
	t.Run("without bash-completion", func(t *testing.T) { testBashCompletion(t, os.DevNull) })
}

// testBashCompletion presses TAB in a bash that has sourced bashCompletion
// (the package's main script, or nothing) and the veilfs script.
func testBashCompletion(t *testing.T, bashCompletion string) {
	bin := harness.Binary(t)
	res := harness.Run(t, "", "completion", "bash")
	if res.Code != 0 {
		t.Fatalf("veilfs completion bash: %v", res)
	}
	script := filepath.Join(t.TempDir(), "veilfs.bash")
	if err := os.WriteFile(script, []byte(res.Stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "vault.enc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vault.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tab := func(line string) []string {
		t.Helper()
		// The binary is found on PATH, as the installed script finds it.
		cmd := exec.Command("bash", "-c", `
			source "$1"; source "$2"
			COMP_LINE=$3; COMP_POINT=${#COMP_LINE}
			read -ra COMP_WORDS <<<"$COMP_LINE"
			[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
			COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
			__start_veilfs veilfs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
			printf '%s\n' "${COMPREPLY[@]}"`,
			"bash", bashCompletion, script, line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		// compopt complains here only because no real TAB runs the
		// function; anything else would show on the user's terminal, as
		// "_get_comp_words_by_ref: command not found" did on every TAB.
		for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if l != "" && !strings.HasSuffix(l, "compopt: not currently executing completion function") {
				t.Errorf("%q: the script printed on stderr: %s", line, l)
			}
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				got = append(got, l)
			}
		}
		return got
	}

	if got := tab("veilfs mo"); !slices.Equal(got, []string{"mount"}) {
		t.Errorf("veilfs mo<TAB>: %q, want mount", got)
	}
	if got := tab("veilfs keys a"); !slices.Equal(got, []string{"add"}) {
		t.Errorf("veilfs keys a<TAB>: %q", got)
	}
	if got := tab("veilfs mount --passf"); !slices.Equal(got, []string{"--passfile"}) {
		t.Errorf("veilfs mount --passf<TAB>: %q", got)
	}
	if got := tab("veilfs help exit"); !slices.Equal(got, []string{"exit-codes"}) {
		t.Errorf("veilfs help exit<TAB>: %q", got)
	}
	// CIPHERDIR completes to directories only: vault.enc/, not vault.txt.
	if got := tab("veilfs mount vau"); !slices.Equal(got, []string{"vault.enc"}) {
		t.Errorf("veilfs mount vau<TAB>: %q, want the directory only", got)
	}
	// A FILE argument completes to any file: the function offers nothing
	// and bash falls back to file names, which it does because the script
	// registers the function with -o default.
	if got := tab("veilfs mount --passfile vault.t"); len(got) != 0 {
		t.Errorf("veilfs mount --passfile vault.t<TAB>: %q, want bash's own file names", got)
	}
	out, err := exec.Command("bash", "-c", `source "$1"; source "$2"; complete -p veilfs`, "bash", bashCompletion, script).Output()
	if err != nil || !strings.Contains(string(out), "-o default") || !strings.Contains(string(out), "-F __start_veilfs") {
		t.Errorf("complete -p veilfs: %v %q", err, out)
	}
}
