package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestInitInfoPasswd runs the commands that need no FUSE end to end, in-process.
func TestInitInfoPasswd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")

	c, stdout, stderr := testCLI("pw1\n")
	if code := c.run([]string{"init", "--scryptn", "10", "--xchacha", dir}); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	key := regexp.MustCompile(`(?m)^    ([0-9a-f]{8}-){4}\n    ([0-9a-f]{8}-){3}[0-9a-f]{8}$`).FindString(stdout.String())
	if key == "" {
		t.Fatalf("no master key in init output:\n%s", stdout)
	}
	if !strings.Contains(stdout.String(), "offline") {
		t.Error("init does not tell to store the master key offline")
	}
	if _, err := os.Stat(filepath.Join(dir, config.Filename)); err != nil {
		t.Fatal(err)
	}

	c, stdout, stderr = testCLI("")
	if code := c.run([]string{"info", dir}); code != 0 {
		t.Fatalf("info: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Format version:  2", "Creator:         veilfs dev", "XChaCha20-Poly1305", "N=1024 (logN 10)", "Long-name limit: 255", "HKDF"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("info output lacks %q:\n%s", want, stdout)
		}
	}

	c, _, stderr = testCLI("pw1\n")
	if code := c.run([]string{"init", "--scryptn", "10", dir}); code != exitCipherDir || !strings.Contains(stderr.String(), "not empty") {
		t.Errorf("init on a volume: exit %d, %q", code, stderr)
	}

	c, _, stderr = testCLI("wrong\nnew\n")
	if code := c.run([]string{"passwd", dir}); code != exitWrongPassword || !strings.HasPrefix(stderr.String(), "veilfs: error: wrong password\n") {
		t.Errorf("passwd, wrong old password: exit %d, %q", code, stderr)
	}

	c, _, stderr = testCLI("pw1\n\n")
	if code := c.run([]string{"passwd", dir}); code != exitEmptyPassword {
		t.Errorf("passwd, empty new password: exit %d, %q", code, stderr)
	}

	c, stdout, stderr = testCLI("pw1\npw2\n")
	if code := c.run([]string{"passwd", "--scryptn", "11", dir}); code != 0 {
		t.Fatalf("passwd: exit %d: %s", code, stderr)
	}
	f, err := config.Load(filepath.Join(dir, config.Filename))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.UnlockMasterKey([]byte("pw2")); err != nil {
		t.Errorf("new password does not unlock: %v", err)
	}
	if _, err := f.UnlockMasterKey([]byte("pw1")); err == nil {
		t.Error("old password still unlocks")
	}
	if f.Scrypt.N != 1<<11 {
		t.Errorf("scrypt N = %d after --scryptn 11", f.Scrypt.N)
	}
}

func TestInitRefusesNonEmptyBeforePassword(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o600)
	c, _, stderr := testCLI("") // empty stdin: would be exit 22 if the password came first
	if code := c.run([]string{"init", "--scryptn", "10", dir}); code != exitCipherDir {
		t.Errorf("exit %d, %q", code, stderr)
	}
	file := filepath.Join(dir, "x")
	c, _, stderr = testCLI("")
	if code := c.run([]string{"init", file}); code != exitCipherDir || !strings.Contains(stderr.String(), "not a directory") {
		t.Errorf("file: exit %d, %q", code, stderr)
	}
}

func TestInfoFixtures(t *testing.T) {
	matches, _ := filepath.Glob("../../testdata/fixtures/*/cipher")
	if len(matches) == 0 {
		t.Fatal("no volume in testdata/fixtures/*/cipher: the fixtures are checked in, so the tree or the path is wrong")
	}
	for _, dir := range matches {
		c, stdout, stderr := testCLI("")
		if code := c.run([]string{"info", dir}); code != 0 {
			t.Errorf("%s: exit %d, %s", dir, code, stderr)
			continue
		}
		if !strings.Contains(stdout.String(), "Content cipher:") {
			t.Errorf("%s: %s", dir, stdout)
		}
	}
}

// TestInitReverse: init --reverse makes an existing, non-empty directory a
// reverse volume, writing only its config, and says how to mount it.
func TestInitReverse(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("plain"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "pw\n", "init", "--reverse", "--scryptn", "10", dir)
	if code != 0 {
		t.Fatalf("init --reverse: exit %d: %s", code, stderr)
	}
	if regexp.MustCompile(`(?m)^    ([0-9a-f]{8}-){4}\n    ([0-9a-f]{8}-){3}[0-9a-f]{8}$`).FindString(stdout) == "" {
		t.Errorf("no master key in init --reverse output:\n%s", stdout)
	}
	for _, want := range []string{"reverse volume", "offline", "veilfs mount --reverse " + dir + " MOUNTPOINT\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("init --reverse output lacks %q:\n%s", want, stdout)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != config.ReverseFilename || entries[1].Name() != "notes.txt" {
		t.Errorf("PLAINDIR holds %v, want the reverse config and notes.txt only", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "plain" {
		t.Errorf("notes.txt changed: %q", b)
	}
	conf := filepath.Join(dir, config.ReverseFilename)
	if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("reverse config: %v, %v", fi, err)
	}
	f, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Has(config.FlagAESSIV) || !f.Has(config.FlagDirIV) || f.Creator != "veilfs dev" {
		t.Errorf("reverse config: flags %v, creator %q", f.FeatureFlags, f.Creator)
	}
	if _, err := f.UnlockMasterKey([]byte("pw")); err != nil {
		t.Errorf("password does not unlock the reverse config: %v", err)
	}

	// info says what it is.
	code, stdout, stderr = run(t, "", "info", dir)
	if code != 0 || !strings.HasPrefix(stdout, "Volume type:     reverse") || !strings.Contains(stdout, "AES-SIV") {
		t.Errorf("info on a reverse volume: exit %d\n%s%s", code, stdout, stderr)
	}
	// A forward volume's info is as before.
	fwd := filepath.Join(t.TempDir(), "fwd")
	mustRun(t, "pw\n", "init", "--scryptn", "10", fwd)
	if out := mustRun(t, "", "info", fwd); strings.Contains(out, "reverse") {
		t.Errorf("info on a forward volume mentions reverse:\n%s", out)
	}

	// Again: refused before the password is read (stdin is empty), with
	// the exit code of init on an existing volume, and nothing changes.
	before, _ := os.ReadFile(conf)
	code, _, stderr = run(t, "", "init", "--reverse", "--scryptn", "10", dir)
	if code != exitCipherDir || !strings.Contains(stderr, "is a reverse volume already") || !strings.Contains(stderr, "veilfs mount --reverse "+dir) {
		t.Errorf("init --reverse twice: exit %d, %s", code, stderr)
	}
	if after, _ := os.ReadFile(conf); string(after) != string(before) {
		t.Error("second init --reverse changed the config")
	}
	// A normal init there is refused too: the directory is not empty.
	if code, _, stderr := run(t, "", "init", "--scryptn", "10", dir); code != exitCipherDir {
		t.Errorf("init on a reverse volume: exit %d, %s", code, stderr)
	}
}

func TestInitReverseRefuses(t *testing.T) {
	base := t.TempDir()
	fwd := filepath.Join(base, "fwd")
	mustRun(t, "pw\n", "init", "--scryptn", "10", fwd)
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"xchacha", []string{"--xchacha", base}, exitUsage, "--xchacha cannot be used with --reverse"},
		{"missing", []string{filepath.Join(base, "missing")}, exitCipherDir, "PLAINDIR " + filepath.Join(base, "missing") + " does not exist"},
		{"file", []string{file}, exitCipherDir, "is not a directory"},
		{"forward volume", []string{fwd}, exitCipherDir, "it is the CIPHERDIR of an encrypted volume"},
		{"plaintextnames and deterministic", []string{"--plaintextnames", "--deterministic-names", base}, exitUsage, "cannot be used together"},
		{"longnamemax", []string{"--longnamemax", "20", base}, exitUsage, "--longnamemax must be between"},
	}
	for _, tt := range tests {
		// Empty stdin: each must be refused before the password.
		code, _, stderr := run(t, "", append([]string{"init", "--reverse", "--scryptn", "10"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%s: exit %d (want %d), %q (want %q)", tt.name, code, tt.code, stderr, tt.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "missing")); !os.IsNotExist(err) {
		t.Errorf("init --reverse created a missing PLAINDIR: %v", err)
	}
	if _, err := os.Stat(filepath.Join(base, config.ReverseFilename)); !os.IsNotExist(err) {
		t.Errorf("a refused init --reverse wrote a config: %v", err)
	}
}

// TestInitReverseOptions: the name options and the scrypt cost reach the
// reverse config; --aessiv is accepted (it is implied anyway).
func TestInitReverseOptions(t *testing.T) {
	tests := []struct {
		args  []string
		check func(f *config.File) bool
	}{
		{[]string{"--plaintextnames"}, func(f *config.File) bool { return f.Has(config.FlagPlaintextNames) && !f.Has(config.FlagDirIV) }},
		{[]string{"--deterministic-names"}, func(f *config.File) bool { return !f.Has(config.FlagDirIV) && f.Has(config.FlagEMENames) }},
		{[]string{"--longnamemax", "62"}, func(f *config.File) bool { return f.LongNameMax == 62 }},
		{[]string{"--scryptn", "11"}, func(f *config.File) bool { return f.Scrypt.N == 1<<11 }},
		{[]string{"--aessiv"}, func(f *config.File) bool { return f.Has(config.FlagAESSIV) }},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		args := append([]string{"init", "--reverse", "--scryptn", "10"}, tt.args...)
		mustRun(t, "pw\n", append(args, dir)...)
		f, err := config.Load(filepath.Join(dir, config.ReverseFilename))
		if err != nil || !f.Has(config.FlagAESSIV) || !tt.check(f) {
			t.Errorf("init --reverse %v: %v, flags %v", tt.args, err, f.FeatureFlags)
		}
	}
}
