package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// fsckDoc is the part of the --json document these tests read.
type fsckDoc struct {
	Problems []struct {
		Kind, Severity, CipherPath, PlainPath, Detail string
		Repaired                                      bool
	}
	Summary struct {
		Clean, Complete, Repair bool
		Errors, Unrepaired      int
		Quarantine              string
	}
}

func TestFsckCommand(t *testing.T) {
	type volume struct{ dir, key string }
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		stdin  string
		args   []string // CIPHERDIR is appended
		code   int
		json   bool
		kinds  string // kinds of the JSON problems, space-separated
		stdout string // a substring of the text output
		stderr string
	}{
		{name: "clean", stdin: "pw\n", code: 0, stdout: "fsck summary: no problems found; checked 1 directory"},
		{name: "clean json", stdin: "pw\n", args: []string{"--json"}, code: 0, json: true, kinds: ""},
		{name: "master key", args: []string{"--masterkey", "KEY"}, code: 0, stdout: "no problems found"},
		{name: "wrong password", stdin: "nope\n", code: exitWrongPassword, stderr: "wrong password"},
		{name: "undecryptable name",
			damage: func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "AAAA"), nil, 0o600) },
			stdin:  "pw\n", code: exitFsck,
			stdout: "error bad-name: AAAA: the name does not decrypt", stderr: "veilfs: error: 1 problem found in "},
		{name: "undecryptable name json",
			damage: func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "AAAA"), nil, 0o600) },
			stdin:  "pw\n", args: []string{"--json"}, code: exitFsck, json: true, kinds: "bad-name"},
		{name: "repaired",
			damage: func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "AAAA"), nil, 0o600) },
			stdin:  "pw\n", args: []string{"--repair"}, code: 0,
			stdout: "repaired: moved to /veilfs-quarantine-"},
		{name: "not repairable",
			damage: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, "gocryptfs.diriv.rmdir.7"), []byte("0123456789abcdef"), 0o600)
			},
			stdin: "pw\n", args: []string{"--repair"}, code: exitFsck,
			stdout: "error leftover: gocryptfs.diriv.rmdir.7: ", stderr: "1 problem left in "},
		{name: "damaged config, no password asked",
			damage: func(t *testing.T, dir string) { writeConf(t, dir, "{") },
			args:   []string{"--json"}, code: exitFsck, json: true, kinds: "bad-config"},
		{name: "damaged config text",
			damage: func(t *testing.T, dir string) { writeConf(t, dir, `{"Version": 2}`) },
			code:   exitFsck, stdout: "error bad-config: gocryptfs.conf: ", stderr: "gocryptfs.conf of"},
		{name: "newer format is not damage",
			damage: func(t *testing.T, dir string) { editConf(t, dir, `"Version": 2`, `"Version": 3`) },
			code:   exitOpenConf, stderr: "upgrade veilfs"},
		{name: "missing config",
			damage: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, config.Filename)) },
			code:   exitOpenConf, stderr: "has no gocryptfs.conf"},
		{name: "rotation in progress",
			damage: func(t *testing.T, dir string) {
				editConf(t, dir, `"FeatureFlags": [`, `"FeatureFlags": ["VeilfsRotationInProgress",`)
			},
			args: []string{"--json"}, code: exitRotating, json: true, kinds: "rotation-in-progress", stderr: "veilfs rotate"},
		{name: "no such directory", args: []string{"--json"}, code: exitCipherDir,
			damage: func(t *testing.T, dir string) { os.RemoveAll(dir) }},
		{name: "unknown flag", args: []string{"--nope"}, code: exitUsage, stderr: "unknown flag"},
		{name: "unreadable passfile", args: []string{"--passfile", "/nonexistent/pw"}, code: exitReadPassword},
		{name: "not a master key", args: []string{"--masterkey", "00"}, code: exitMasterKey},
		{name: "empty password", stdin: "\n", code: exitEmptyPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, key := newVolume(t)
			if tt.damage != nil {
				tt.damage(t, dir)
			}
			args := append([]string{"fsck"}, tt.args...)
			for i, a := range args {
				if a == "KEY" {
					args[i] = key
				}
			}
			code, out, errOut := run(t, tt.stdin, append(args, dir)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			if !usageExitCodes(t, fsckUsage)[code] {
				t.Errorf("'veilfs help fsck' does not list exit code %d", code)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errOut, tt.stdout, tt.stderr)
			}
			if !tt.json {
				return
			}
			var doc fsckDoc
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
			}
			var ks []string
			for _, p := range doc.Problems {
				ks = append(ks, p.Kind)
			}
			if got := strings.Join(ks, " "); got != tt.kinds {
				t.Errorf("kinds %q, want %q", got, tt.kinds)
			}
			if doc.Summary.Clean != (tt.code == 0) {
				t.Errorf("summary clean=%v with exit %d", doc.Summary.Clean, tt.code)
			}
		})
	}
}

func writeConf(t *testing.T, dir, content string) {
	t.Helper()
	p := filepath.Join(dir, config.Filename)
	os.Chmod(p, 0o600)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func editConf(t *testing.T, dir, old, new string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, config.Filename))
	if err != nil || !strings.Contains(string(b), old) {
		t.Fatalf("%v: %q not in the config", err, old)
	}
	writeConf(t, dir, strings.Replace(string(b), old, new, 1))
}

// The help lists every exit code fsck can return, and no other. Each one
// here is returned by a case of TestFsckCommand, except exitOther, which
// needs a mount (tests/fsck TestRefusesMounted).
func TestFsckHelpListsItsExitCodes(t *testing.T) {
	canReturn := []int{exitOK, exitFsck, exitRotating, exitOpenConf, exitWrongPassword, exitCipherDir, exitOther,
		exitUsage, exitReadPassword, exitMasterKey, exitEmptyPassword}
	sameCodes(t, "'veilfs help fsck'", canReturn, usageExitCodes(t, fsckUsage))
}
