package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// newReverseVolume makes a directory holding a file a reverse volume with
// password "pw", init options opts, and returns it with its master key
// (hex).
func newReverseVolume(t *testing.T, opts ...string) (dir, keyHex string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("plaintext"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"init", "--reverse", "--scryptn", "10"}, opts...)
	return dir, initWithKey(t, append(args, dir)...)
}

func loadReverseConf(t *testing.T, dir string) *config.File {
	t.Helper()
	f, err := config.Load(filepath.Join(dir, config.ReverseFilename))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReversePasswdAndKeys: passwd and keys work on a PLAINDIR, on its
// .gocryptfs.reverse.conf, and write no gocryptfs.conf. Deterministic
// names, because then the key check for a forward volume would take the
// plaintext names for encrypted ones that do not decrypt, and refuse.
func TestReversePasswdAndKeys(t *testing.T) {
	dir, key := newReverseVolume(t, "--deterministic-names")

	mustRun(t, "pw\npw2\n", "passwd", dir)
	f := loadReverseConf(t, dir)
	if _, err := f.UnlockMasterKey([]byte("pw2")); err != nil {
		t.Errorf("new password does not unlock: %v", err)
	}
	if code, _, _ := run(t, "pw\nx\n", "passwd", dir); code != exitWrongPassword {
		t.Errorf("passwd with the old password: exit %d", code)
	}

	// With the master key and no extra unlocker nothing can check it:
	// a warning, not a refusal (there are no encrypted files to read).
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	code, _, stderr := run(t, "pw3\n", "passwd", "--masterkey-file", keyFile, dir)
	if code != 0 || !strings.Contains(stderr, "could not be checked") || !strings.Contains(stderr, "reverse volume") {
		t.Errorf("passwd --masterkey-file: exit %d, %s", code, stderr)
	}

	// keys add, list; then a wrong master key is refused by the unlocker.
	mustRun(t, "pw3\nlaptop-pw\n", "keys", "add", "--label", "laptop", dir)
	if out := mustRun(t, "", "keys", "list", dir); !strings.Contains(out, "laptop") {
		t.Errorf("keys list:\n%s", out)
	}
	if !loadReverseConf(t, dir).HasUnlocker("laptop") {
		t.Error("the unlocker is not in the reverse config")
	}
	// The extra unlocker opens it: no check against the plaintext files.
	code, _, stderr = run(t, "laptop-pw\npw4\n", "passwd", dir)
	if code != 0 {
		t.Errorf("passwd with an extra unlocker's password: exit %d, %s", code, stderr)
	}
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte(strings.Repeat("0", 64)+"\n"), 0o600)
	code, _, stderr = run(t, "pw5\n", "passwd", "--masterkey-file", wrong, dir)
	if code != exitWrongPassword || !strings.Contains(stderr, "does not belong") {
		t.Errorf("passwd with a wrong master key: exit %d, %s", code, stderr)
	}
	code, _, stderr = run(t, "pw4\n", "keys", "remove", "--label", "laptop", dir)
	if code != 0 || !strings.Contains(stderr, "veilfs init --reverse") || strings.Contains(stderr, "veilfs rotate") {
		t.Errorf("keys remove: exit %d, %s", code, stderr)
	}
	if _, err := os.Lstat(filepath.Join(dir, config.Filename)); !os.IsNotExist(err) {
		t.Errorf("a command wrote gocryptfs.conf into PLAINDIR: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "plain.txt")); string(b) != "plaintext" {
		t.Errorf("the plaintext changed: %q", b)
	}
}

// TestReverseFsckRotateRefused: fsck and rotate refuse a PLAINDIR before
// asking for a password, and touch nothing.
func TestReverseFsckRotateRefused(t *testing.T) {
	dir, _ := newReverseVolume(t)
	before := loadReverseConf(t, dir).Marshal()
	for _, args := range [][]string{{"fsck", dir}, {"fsck", "--repair", dir}, {"rotate", dir}} {
		code, _, stderr := run(t, "", args...) // empty stdin: no password
		if code != exitOpenConf || !strings.Contains(stderr, "is a reverse volume") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
	_, _, stderr := run(t, "", "fsck", dir)
	if !strings.Contains(stderr, "fsck on the copy") {
		t.Errorf("fsck does not point to the copy of the view: %s", stderr)
	}
	_, _, stderr = run(t, "", "rotate", dir)
	if !strings.Contains(stderr, "veilfs init --reverse "+dir) {
		t.Errorf("rotate does not say how to get a new master key: %s", stderr)
	}
	if string(loadReverseConf(t, dir).Marshal()) != string(before) {
		t.Error("the reverse config changed")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "plain.txt")); string(b) != "plaintext" {
		t.Errorf("the plaintext changed: %q", b)
	}
}

// TestReverseWithForwardConfig: a PLAINDIR whose plaintext holds a
// gocryptfs.conf (here a real one, of another volume). Without --reverse
// the commands use that gocryptfs.conf, as gocryptfs does, and say so;
// with --reverse they use the reverse config and leave the other alone.
func TestReverseWithForwardConfig(t *testing.T) {
	dir, key := newReverseVolume(t, "--deterministic-names")
	other := t.TempDir()
	initWithKey(t, "init", "--scryptn", "10", other)
	forward, err := os.ReadFile(filepath.Join(other, config.Filename))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, config.Filename), forward, 0o400); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := run(t, "", "info", dir)
	if code != 0 || strings.Contains(stdout, "reverse") || !strings.Contains(stderr, "add --reverse") {
		t.Errorf("info without --reverse: exit %d, want the forward config and a warning:\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "", "info", "--reverse", dir)
	if code != 0 || !strings.Contains(stdout, "reverse") || strings.Contains(stderr, "warning") {
		t.Errorf("info --reverse: exit %d, want the reverse config and no warning:\n%s%s", code, stdout, stderr)
	}

	mustRun(t, "pw\npw2\n", "passwd", "--reverse", dir)
	if _, err := loadReverseConf(t, dir).UnlockMasterKey([]byte("pw2")); err != nil {
		t.Errorf("passwd --reverse: the new password does not unlock the reverse config: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, config.Filename)); string(got) != string(forward) {
		t.Error("passwd --reverse changed the plaintext gocryptfs.conf")
	}
	view := strings.TrimSpace(mustRun(t, "pw2\n", "path", "encrypt", "--reverse", dir, "plain.txt"))

	// The master key is checked as a reverse volume's (against its
	// unlockers), not against the plaintext files as a forward one's.
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(mustRun(t, "", "path", "decrypt", "--reverse", "--masterkey-file", keyFile, dir, view)); got != "/plain.txt" {
		t.Errorf("path decrypt --reverse --masterkey-file %s = %q, want /plain.txt", view, got)
	}

	// --reverse on a directory that is no reverse volume.
	if code, _, stderr := run(t, "", "info", "--reverse", other); code != exitOpenConf || !strings.Contains(stderr, "leave out --reverse") {
		t.Errorf("info --reverse on a forward volume: exit %d, %s", code, stderr)
	}
}
