package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

func TestUnlockFlagsValidate(t *testing.T) {
	tests := []struct {
		u  unlockFlags
		ok bool
	}{
		{unlockFlags{password: &passwordFlags{}}, true},
		{unlockFlags{password: &passwordFlags{passfile: "p"}}, true},
		{unlockFlags{password: &passwordFlags{}, masterKey: "-"}, true},
		{unlockFlags{password: &passwordFlags{}, masterKeyFile: "k"}, true},
		{unlockFlags{password: &passwordFlags{}, keyfile: "k"}, true},
		{unlockFlags{password: &passwordFlags{passfile: "p", extpass: "e"}}, false},
		{unlockFlags{password: &passwordFlags{extpass: "e"}, masterKey: "-"}, false},
		{unlockFlags{password: &passwordFlags{}, masterKey: "-", masterKeyFile: "k"}, false},
		{unlockFlags{password: &passwordFlags{passfile: "p"}, keyfile: "k"}, false},
		{unlockFlags{password: &passwordFlags{}, keyfile: "k", masterKeyFile: "m"}, false},
	}
	for _, tt := range tests {
		err := tt.u.validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, errUsage)) {
			t.Errorf("%+v %+v: %v", tt.u, *tt.u.password, err)
		}
	}
}

// run runs one command line in-process with stdin and returns the exit
// code and outputs.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c, out, errOut := testCLI(stdin)
	code = c.run(args)
	return code, out.String(), errOut.String()
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("veilfs %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// newVolume makes a volume with primary password "pw" and returns its
// directory and master key (hex, as printed).
func newVolume(t *testing.T) (dir, keyHex string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "vol")
	return dir, initWithKey(t, "init", "--scryptn", "10", dir)
}

// initWithKey runs an init command with password "pw" and returns the
// master key it printed (hex).
func initWithKey(t *testing.T, args ...string) string {
	t.Helper()
	out := mustRun(t, "pw\n", args...)
	printed := regexp.MustCompile(`(?m)^    ([0-9a-f]{8}-){4}\n    ([0-9a-f]{8}-){3}[0-9a-f]{8}$`).FindString(out)
	keyHex := strings.NewReplacer("-", "", "\n", "", " ", "").Replace(printed)
	if len(keyHex) != 64 {
		t.Fatalf("no master key in:\n%s", out)
	}
	return keyHex
}

func loadConf(t *testing.T, dir string) *config.File {
	t.Helper()
	f, err := config.Load(filepath.Join(dir, config.Filename))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestKeysAddListRemove(t *testing.T) {
	dir, _ := newVolume(t)
	kf := filepath.Join(t.TempDir(), "usb.key")

	// A password unlocker: the volume's password, then the new one, on stdin.
	out := mustRun(t, "pw\nlaptop-pw\n", "keys", "add", "--label", "laptop", dir)
	if !strings.Contains(out, `Added password unlocker "laptop"`) {
		t.Errorf("keys add output: %q", out)
	}
	// A keyfile unlocker, unlocked with the laptop password; the keyfile is created.
	out = mustRun(t, "laptop-pw\n", "keys", "add", "--label", "usb stick", "--new-keyfile", kf, dir)
	if !strings.Contains(out, "Created the keyfile") || !strings.Contains(out, `Added keyfile unlocker "usb stick"`) {
		t.Errorf("keys add --new-keyfile output: %q", out)
	}
	st, err := os.Stat(kf)
	if err != nil || st.Size() != newKeyfileSize || st.Mode().Perm() != 0o400 {
		t.Fatalf("keyfile: %v, %v", st, err)
	}
	st, err = os.Stat(filepath.Join(dir, config.Filename))
	if err != nil || st.Mode().Perm() != 0o400 {
		t.Errorf("config mode after keys add: %v, %v", st.Mode(), err)
	}

	out = mustRun(t, "", "keys", "list", dir)
	if !regexp.MustCompile(`(?m)^LABEL +KIND +CREATED\nprimary +password +-\nlaptop +password +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nusb stick +keyfile +\d{4}-`).MatchString(out) {
		t.Errorf("keys list:\n%s", out)
	}
	if out2 := mustRun(t, "", "keys", "ls", dir); out2 != out {
		t.Errorf("keys ls differs from keys list")
	}

	// Every unlocker opens the volume for keys and passwd.
	mustRun(t, "", "keys", "add", "--keyfile", kf, "--new-passfile", writeFile(t, "third\n"), "--label", "third", dir)
	mustRun(t, "third\nlaptop-pw2\n", "passwd", "--label", "laptop", dir)
	f := loadConf(t, dir)
	if _, label, err := f.UnlockWithPassword([]byte("laptop-pw2")); err != nil || label != "laptop" {
		t.Errorf("changed unlocker password: %q, %v", label, err)
	}
	if _, _, err := f.UnlockWithPassword([]byte("laptop-pw")); !errors.Is(err, config.ErrWrongPassword) {
		t.Errorf("old unlocker password still works: %v", err)
	}

	// Refusals, each before anything is changed.
	before, _ := os.ReadFile(filepath.Join(dir, config.Filename))
	short := writeFile(t, "too short\n")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		sub   string
	}{
		{"duplicate label", "pw\nx\n", []string{"keys", "add", "--label", "LAPTOP", dir}, exitUsage, "already"},
		{"reserved label", "pw\nx\n", []string{"keys", "add", "--label", "primary", dir}, exitUsage, "passwd"},
		{"control character", "pw\nx\n", []string{"keys", "add", "--label", "a\tb", dir}, exitUsage, "invalid label"},
		{"no label", "pw\nx\n", []string{"keys", "add", dir}, exitUsage, "--label NAME is required"},
		{"short keyfile", "pw\n", []string{"keys", "add", "--label", "s", "--new-keyfile", short, dir}, exitUsage, "at least 32"},
		{"keyfile already used", "pw\n", []string{"keys", "add", "--label", "again", "--new-keyfile", kf, dir}, exitUsage, "already opens"},
		{"both new secrets", "pw\n", []string{"keys", "add", "--label", "b", "--new-keyfile", "x", "--new-passfile", "y", dir}, exitUsage, "cannot be used together"},
		{"two unlock secrets", "", []string{"keys", "add", "--label", "b", "--keyfile", kf, "--passfile", "y", dir}, exitUsage, "cannot be used together"},
		{"wrong password", "nope\nx\n", []string{"keys", "add", "--label", "b", dir}, exitWrongPassword, "wrong password"},
		{"wrong keyfile", "", []string{"keys", "add", "--label", "b", "--keyfile", writeFile(t, strings.Repeat("k", 40)), dir}, exitWrongPassword, "keyfile does not unlock"},
		{"remove primary", "pw\n", []string{"keys", "remove", "--label", "primary", dir}, exitUsage, "cannot be removed"},
		{"remove unknown", "pw\n", []string{"keys", "remove", "--label", "nope", dir}, exitUsage, "no unlocker labelled"},
		{"remove wrong password", "nope\n", []string{"keys", "remove", "--label", "third", dir}, exitWrongPassword, "wrong password"},
		{"passwd unknown label", "pw\nx\n", []string{"passwd", "--label", "nope", dir}, exitUsage, "no unlocker labelled"},
		{"passwd keyfile label", "pw\nx\n", []string{"passwd", "--label", "usb stick", dir}, exitUsage, "keyfile unlocker"},
		{"keys without command", "", []string{"keys"}, exitUsage, "no command given"},
		{"keys unknown command", "", []string{"keys", "frob", dir}, exitUsage, `unknown keys command "frob"`},
		{"list with a password flag", "", []string{"keys", "list", "--passfile", "x", dir}, exitUsage, "unknown flag"},
	} {
		code, _, errOut := run(t, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.sub) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, errOut, tc.code, tc.sub)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, config.Filename)); !bytes.Equal(before, after) {
			t.Fatalf("%s changed gocryptfs.conf", tc.name)
		}
	}

	// Remove with the unlocker being removed: it works, and says what it does not do.
	code, out, errOut := run(t, "", "keys", "remove", "--keyfile", kf, "--label", "usb stick", dir)
	if code != 0 || !strings.Contains(out, `Removed unlocker "usb stick"`) ||
		!strings.Contains(errOut, "may still have the master key") || !strings.Contains(errOut, "veilfs rotate "+dir) ||
		!strings.Contains(errOut, "no longer opens") {
		t.Errorf("keys remove: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if code, _, _ := run(t, "", "keys", "list", "--keyfile", kf, dir); code != exitUsage {
		t.Errorf("keys list takes no key: exit %d", code)
	}
	if code, _, errOut := run(t, "", "keys", "add", "--keyfile", kf, "--label", "x", "--new-passfile", short, dir); code != exitWrongPassword {
		t.Errorf("removed keyfile: exit %d, %s", code, errOut)
	}
	mustRun(t, "pw\n", "keys", "rm", "--label", "third", dir)
	mustRun(t, "pw\n", "keys", "remove", "--label", "laptop", dir)
	// Without extra unlockers, the file is plain gocryptfs again: no new field.
	if data, _ := os.ReadFile(filepath.Join(dir, config.Filename)); bytes.Contains(data, []byte("VeilfsUnlockers")) {
		t.Errorf("empty VeilfsUnlockers left behind:\n%s", data)
	}
}

// TestPasswdRecovery: a lost primary password is replaced with the master
// key; a wrong master key is refused when something can tell.
func TestPasswdRecovery(t *testing.T) {
	dir, keyHex := newVolume(t)
	keyFile := writeFile(t, keyHex+"\n")
	wrongKey := writeFile(t, strings.Repeat("ab", 32)+"\n")

	// An empty volume without extra unlockers cannot tell: warn, proceed.
	code, out, errOut := run(t, "", "passwd", "--masterkey-file", keyFile, "--new-passfile", writeFile(t, "new1\n"), dir)
	if code != 0 || !strings.Contains(out, "New password set") || !strings.Contains(errOut, "could not be checked") {
		t.Fatalf("recovery on an empty volume: exit %d\n%s%s", code, out, errOut)
	}
	mustRun(t, "new1\n"+strings.Repeat("k", 40)+"\n", "keys", "add", "--label", "k", dir)

	// Now an unlocker can tell a wrong key from the right one.
	before, _ := os.ReadFile(filepath.Join(dir, config.Filename))
	code, _, errOut = run(t, "", "passwd", "--masterkey-file", wrongKey, "--new-passfile", writeFile(t, "new2\n"), dir)
	if code != exitWrongPassword || !strings.Contains(errOut, "master key does not belong") {
		t.Errorf("wrong master key: exit %d, %s", code, errOut)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, config.Filename)); !bytes.Equal(before, after) {
		t.Fatal("a refused recovery changed gocryptfs.conf")
	}
	code, _, errOut = run(t, "", "passwd", "--masterkey-file", keyFile, "--new-passfile", writeFile(t, "new2\n"), dir)
	if code != 0 || strings.Contains(errOut, "could not be checked") {
		t.Errorf("recovery: exit %d, %s", code, errOut)
	}
	f := loadConf(t, dir)
	mk, label, err := f.UnlockWithPassword([]byte("new2"))
	if err != nil || label != config.PrimaryLabel || hex.EncodeToString(mk) != keyHex {
		t.Errorf("new primary password: %q, %v", label, err)
	}
	if !f.HasUnlocker("k") {
		t.Error("recovery lost the extra unlocker")
	}

	// --masterkey - on a pipe leaves no line for the new password.
	code, _, errOut = run(t, keyHex+"\nnew3\n", "passwd", "--masterkey", "-", dir)
	if code != exitUsage || !strings.Contains(errOut, "--new-passfile") {
		t.Errorf("--masterkey - without --new-passfile: exit %d, %s", code, errOut)
	}
	code, _, errOut = run(t, keyHex+"\n", "passwd", "--masterkey", "-", "--new-passfile", writeFile(t, "new3\n"), dir)
	if code != 0 {
		t.Errorf("--masterkey - with --new-passfile: exit %d, %s", code, errOut)
	}
	// A password unlocker's password may reset the primary.
	mustRun(t, strings.Repeat("k", 40)+"\nnew4\n", "passwd", dir)
	if _, label, err := loadConf(t, dir).UnlockWithPassword([]byte("new4")); err != nil || label != config.PrimaryLabel {
		t.Errorf("primary set through an unlocker: %q, %v", label, err)
	}
}

func TestKeysHelp(t *testing.T) {
	for _, sub := range keysCommand.subcommands {
		name := strings.TrimPrefix(sub.name, "keys ")
		if !strings.HasPrefix(sub.usage, "Usage: veilfs "+sub.name) || !strings.Contains(sub.usage, "\n  $ veilfs "+sub.name+" ") {
			t.Errorf("%s: usage has no synopsis or example", sub.name)
		}
		if code, out, _ := run(t, "", "help", "keys", name); code != 0 || out != sub.usage {
			t.Errorf("help keys %s: exit %d", name, code)
		}
		if code, out, _ := run(t, "", "keys", name, "--help"); code != 0 || out != sub.usage {
			t.Errorf("keys %s --help: exit %d", name, code)
		}
		if !strings.Contains(keysCommand.usage, "veilfs "+sub.name) {
			t.Errorf("keys usage does not list %s", sub.name)
		}
	}
	documented := map[string][]string{
		"keys add":    {"--label", "--new-passfile", "--new-keyfile", "--scryptn", "--passfile", "--extpass", "--keyfile", "--masterkey", "--masterkey-file"},
		"keys remove": {"--label", "--passfile", "--extpass", "--keyfile", "--masterkey", "--masterkey-file", "veilfs rotate"},
		"passwd":      {"--keyfile", "--masterkey", "--masterkey-file", "--label"},
		"mount":       {"--keyfile"},
	}
	for name, flags := range documented {
		var usage string
		if cmd := lookupCommand(name); cmd != nil {
			usage = cmd.usage
		} else {
			usage = lookupSubcommand(&keysCommand, strings.TrimPrefix(name, "keys ")).usage
		}
		for _, f := range flags {
			if !strings.Contains(usage, f) {
				t.Errorf("usage of %s does not mention %s", name, f)
			}
		}
	}
	if code, _, _ := run(t, "", "help", "keys", "frob"); code != exitUsage {
		t.Errorf("help keys frob: exit %d", code)
	}
}

// TestKeysAddPrompts: on a terminal, keys add asks for the volume's
// password once and for the new one twice, as passwd does.
func TestKeysAddPrompts(t *testing.T) {
	dir, _ := newVolume(t)
	c, prompts := terminalCLI("pw", "new-pw", "new-pw")
	if code := c.run([]string{"keys", "add", "--label", "t", dir}); code != 0 {
		t.Fatalf("keys add on a terminal: exit %d", code)
	}
	if want := []string{"Password: ", "New password: ", "Repeat: "}; strings.Join(*prompts, "|") != strings.Join(want, "|") {
		t.Errorf("prompts %q, want %q", *prompts, want)
	}
	if _, label, err := loadConf(t, dir).UnlockWithPassword([]byte("new-pw")); err != nil || label != "t" {
		t.Errorf("new unlocker: %q, %v", label, err)
	}
	c, _ = terminalCLI("pw", "a", "b")
	if code := c.run([]string{"keys", "add", "--label", "u", dir}); code != exitReadPassword {
		t.Errorf("mismatched new passwords: exit %d", code)
	}
}
