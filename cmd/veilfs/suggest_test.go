package main

import (
	"strings"
	"testing"
)

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"mount", "mount", 0},
		{"mout", "mount", 1},
		{"unmuont", "unmount", 1}, // a swap is one typo
		{"fsck", "fcsk", 1},
		{"", "ls", 2},
		{"init", "info", 2},
		{"rotate", "status", 4},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// A typo gets a suggestion; a word that is not one gets none, and every
// unknown word is quoted alone, not with the rest of the line.
func TestMistypedCommandLines(t *testing.T) {
	tests := []struct {
		args []string
		want string // substring of stderr
		not  string // must not be in stderr
	}{
		{[]string{"mout", "a", "b"}, `unknown command "mout"` + "\nveilfs: hint: did you mean 'veilfs mount'?", ""},
		{[]string{"unmuont", "/mnt"}, "did you mean 'veilfs unmount'?", ""},
		{[]string{"umout", "/mnt"}, "did you mean 'veilfs umount'?", ""},
		{[]string{"Init", "x"}, "did you mean 'veilfs init'?", ""},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "did you mean"},
		{[]string{"help", "fsk"}, "did you mean 'veilfs fsck'?", ""},
		{[]string{"path", "v.enc", "docs/x"}, `unknown path command "v.enc": the path commands are encrypt or decrypt`, `"path v.enc`},
		{[]string{"path", "decrpyt", "v.enc", "x"}, "did you mean 'veilfs path decrypt'?", ""},
		{[]string{"keys", "ad", "v.enc"}, `unknown keys command "ad": the keys commands are add, remove or list` + "\nveilfs: hint: did you mean 'veilfs keys add'?", ""},
		{[]string{"help", "keys", "lsit"}, "did you mean 'veilfs keys list'?", ""},
		{[]string{"help", "mount", "foo"}, `mount has no sub-commands, so "foo" names none`, ""},
		{[]string{"mount", "-passfile", "pf", "a", "b"}, "mount: -passfile is not a flag: long flags take two dashes; did you mean --passfile?", ""},
		{[]string{"init", "-passfile=pf", "a"}, "did you mean --passfile?", ""},
		{[]string{"keys", "add", "-label", "x", "a"}, "did you mean --label?", ""},
		// "-o ro" is a one-letter flag and its value; the value of a long
		// flag and whatever follows "--" are not flags.
		{[]string{"mount", "-o", "ro", "-fg", "a", "b"}, "unknown shorthand flag: 'g'", "did you mean"},
		{[]string{"init", "--passfile", "-extpass", "a"}, "", "did you mean"},
		{[]string{"init", "--", "-passfile"}, "", "did you mean"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, _, stderr := testCLI("")
			if code := c.run(tt.args); code == exitOK {
				t.Errorf("exit 0")
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
			if tt.not != "" && strings.Contains(stderr.String(), tt.not) {
				t.Errorf("stderr %q contains %q", stderr, tt.not)
			}
		})
	}
}
