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
		t.Skip("no fixtures")
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
