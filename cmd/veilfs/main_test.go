package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// testCLI returns a cli whose stdin is the given text (not a terminal) and
// whose output is captured.
func testCLI(stdin string) (c *cli, stdout, stderr *bytes.Buffer) {
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	c = &cli{
		stdin:           strings.NewReader(stdin),
		stdout:          stdout,
		stderr:          stderr,
		stdinIsTerminal: func() bool { return false },
		promptPassword: func(string) ([]byte, error) {
			return nil, errors.New("test: no terminal")
		},
	}
	return c, stdout, stderr
}

// terminalCLI is a cli on a fake terminal that answers prompts in order.
func terminalCLI(answers ...string) (c *cli, prompts *[]string) {
	c, _, _ = testCLI("")
	prompts = new([]string)
	c.stdinIsTerminal = func() bool { return true }
	c.promptPassword = func(p string) ([]byte, error) {
		*prompts = append(*prompts, p)
		if len(answers) == 0 {
			return nil, errors.New("test: no more answers")
		}
		a := answers[0]
		answers = answers[1:]
		return []byte(a), nil
	}
	return c, prompts
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		stdout     string // substring
		stderr     string // substring
		stdoutNone bool
	}{
		{args: nil, code: exitUsage, stderr: "veilfs: error: no command given"},
		{args: []string{"frobnicate"}, code: exitUsage, stderr: `veilfs: error: unknown command "frobnicate"`},
		{args: []string{"--version"}, code: 0, stdout: "veilfs dev (go"},
		{args: []string{"version"}, code: 0, stdout: "veilfs dev"},
		{args: []string{"help"}, code: 0, stdout: "Usage:"},
		{args: []string{"--help"}, code: 0, stdout: "Usage:"},
		{args: []string{"help", "mount"}, code: 0, stdout: "veilfs mount [options] CIPHERDIR MOUNTPOINT"},
		{args: []string{"help", "umount"}, code: 0, stdout: "veilfs unmount MOUNTPOINT"},
		{args: []string{"help", "exit-codes"}, code: 0, stdout: "12  wrong password"},
		{args: []string{"help", "nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{args: []string{"init", "--help"}, code: 0, stdout: "veilfs init [options] CIPHERDIR"},
		{args: []string{"passwd", "-h"}, code: 0, stdout: "veilfs passwd [options] CIPHERDIR"},
		{args: []string{"info"}, code: exitUsage, stderr: "info: missing CIPHERDIR"},
		{args: []string{"mount", "x"}, code: exitUsage, stderr: "mount: missing MOUNTPOINT"},
		{args: []string{"unmount", "a", "b"}, code: exitUsage, stderr: "too many arguments"},
		{args: []string{"info", "--nope", "x"}, code: exitUsage, stderr: "unknown flag: --nope"},
		{args: []string{"init", "--scryptn", "9", "x"}, code: exitUsage, stderr: "--scryptn must be between 10 and 28"},
		{args: []string{"init", "--aessiv", "--xchacha", "x"}, code: exitUsage, stderr: "cannot be used together"},
		{args: []string{"init", "--longnamemax", "20", "x"}, code: exitUsage, stderr: "--longnamemax must be between 62 and 255"},
		{args: []string{"init", "--passfile", "a", "--extpass", "b", "x"}, code: exitUsage, stderr: "--passfile and --extpass"},
		{args: []string{"mount", "--masterkey", "00", "--passfile", "p", "a", "b"}, code: exitUsage, stderr: "cannot be used together"},
		{args: []string{"mount", "--internal-daemon=bogus", "a", "b"}, code: exitUsage, stderr: "internal to veilfs"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, stdout, stderr := testCLI("")
			if code := c.run(tt.args); code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
			if tt.code != 0 && !strings.HasPrefix(stderr.String(), "veilfs: error: ") && tt.args != nil {
				t.Errorf("stderr does not start with the error prefix: %q", stderr)
			}
		})
	}
}

func TestHelpTextsHaveExamples(t *testing.T) {
	for _, cmd := range commands() {
		t.Run(cmd.name, func(t *testing.T) {
			if !strings.Contains(cmd.usage, "Example") {
				t.Errorf("usage of %s has no example", cmd.name)
			}
			if !strings.Contains(cmd.usage, "\n  $ veilfs "+cmd.name+" ") {
				t.Errorf("usage of %s has no example invocation", cmd.name)
			}
			if !strings.HasPrefix(cmd.usage, "Usage: veilfs "+cmd.name) {
				t.Errorf("usage of %s does not start with its synopsis", cmd.name)
			}
			if !cmd.hidden && !strings.Contains(mainUsage, "veilfs "+cmd.name) {
				t.Errorf("main usage does not list %s", cmd.name)
			}
			if cmd.name == cobra.ShellCompRequestCmd {
				return // every word after __complete is a word to complete, --help too
			}
			c, stdout, _ := testCLI("")
			if code := c.run([]string{cmd.name, "--help"}); code != 0 || stdout.String() != cmd.usage {
				t.Errorf("%s --help: code %d, output %q", cmd.name, code, stdout)
			}
		})
	}
	if !strings.Contains(mainUsage, "Example") {
		t.Error("main usage has no example")
	}
}

// Every long flag a command defines must be documented in its usage text.
func TestUsageDocumentsFlags(t *testing.T) {
	documented := map[string][]string{
		"init":    {"--passfile", "--extpass", "--scryptn", "--plaintextnames", "--deterministic-names", "--aessiv", "--xchacha", "--longnamemax"},
		"mount":   {"--passfile", "--extpass", "--masterkey", "--masterkey-file", "--foreground", "--ro", "--allow-other", "--options", "-o", "-f"},
		"passwd":  {"--passfile", "--extpass", "--new-passfile", "--scryptn"},
		"unmount": {"--help"},
		"info":    {"--help"},
	}
	for name, flags := range documented {
		cmd := lookupCommand(name)
		for _, f := range flags {
			if !strings.Contains(cmd.usage, f) {
				t.Errorf("usage of %s does not mention %s", name, f)
			}
		}
	}
}
