//go:build linux

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// masterKeyOf returns the master key init printed in out, as 64 hex digits.
func masterKeyOf(t *testing.T, out string) string {
	t.Helper()
	var hexKey strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if g := strings.Fields(strings.ReplaceAll(line, "-", " ")); len(g) > 0 && isHex(strings.Join(g, "")) {
			hexKey.WriteString(strings.Join(g, ""))
		}
	}
	if hexKey.Len() != 64 {
		t.Fatalf("no 64-hex-digit master key in init's output:\n%s", out)
	}
	return hexKey.String()
}

// TestPasswdRecovery: the primary password is lost; `veilfs passwd
// --masterkey-file` sets a new one after checking the key against the
// volume's files (a wrong key exits 12 and changes nothing); the new
// password then mounts and the files are there.
func TestPasswdRecovery(t *testing.T) {
	harness.RequireFUSE(t)
	cipherdir := filepath.Join(t.TempDir(), "cipher")
	mnt := t.TempDir()
	res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", harness.Passfile(t, "forgotten"), cipherdir)
	if res.Code != 0 {
		t.Fatalf("veilfs init: %v", res)
	}
	key := masterKeyOf(t, res.Stdout)
	harness.MountVolume(t, cipherdir, mnt, "forgotten")
	content := []byte("still here after the recovery\n")
	if err := os.WriteFile(filepath.Join(mnt, "note.txt"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Unmount(t, mnt)

	conf := filepath.Join(cipherdir, "gocryptfs.conf")
	before, _ := os.ReadFile(conf)
	keyFile := filepath.Join(t.TempDir(), "key")
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	wrong := []byte(key)
	if wrong[0] == '0' {
		wrong[0] = '1'
	} else {
		wrong[0] = '0'
	}
	os.WriteFile(wrongFile, append(wrong, '\n'), 0o600)
	newPass := harness.Passfile(t, "recovered")

	res = harness.Run(t, "", "passwd", "--masterkey-file", wrongFile, "--new-passfile", newPass, cipherdir)
	if res.Code != 12 || !strings.Contains(res.Stderr, "does not belong") {
		t.Errorf("passwd with a wrong master key: %v", res)
	}
	if after, _ := os.ReadFile(conf); !bytes.Equal(before, after) {
		t.Fatal("a refused recovery changed gocryptfs.conf")
	}

	res = harness.Run(t, "", "passwd", "--masterkey-file", keyFile, "--new-passfile", newPass, cipherdir)
	if res.Code != 0 || strings.Contains(res.Stderr, "warning") {
		t.Fatalf("passwd --masterkey-file: %v", res)
	}
	if strings.Contains(res.Stdout+res.Stderr, key[:16]) {
		t.Errorf("passwd printed the master key: %v", res)
	}
	if res := harness.TryMount(t, cipherdir, mnt, "--passfile", harness.Passfile(t, "forgotten")); res.Code != 12 {
		t.Errorf("old password after recovery: %v", res)
	}
	harness.MountVolume(t, cipherdir, mnt, "recovered")
	if got, err := os.ReadFile(filepath.Join(mnt, "note.txt")); err != nil || !bytes.Equal(got, content) {
		t.Errorf("after recovery: %q, %v", got, err)
	}
	harness.Unmount(t, mnt)

	// mount --masterkey-file refuses the wrong key as well (it would show an
	// empty volume and encrypt new files with it).
	if res := harness.TryMount(t, cipherdir, mnt, "--masterkey-file", wrongFile); res.Code != 12 {
		t.Errorf("mount with a wrong master key: %v", res)
	}
	if _, ok := harness.FindMount(mnt); ok {
		t.Fatal("mounted with a wrong master key")
	}
}

// TestKeyfileNotInDaemonArgs: with --keyfile, the daemon gets the master
// key over its pipe; neither the keyfile's path content nor the key shows in
// its command line or environment.
func TestKeyfileNotInDaemonArgs(t *testing.T) {
	harness.RequireFUSE(t)
	bin := harness.Binary(t)
	cipherdir := filepath.Join(t.TempDir(), "cipher")
	mnt := t.TempDir()
	res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", harness.Passfile(t, password), cipherdir)
	if res.Code != 0 {
		t.Fatalf("veilfs init: %v", res)
	}
	key := masterKeyOf(t, res.Stdout)
	kf := filepath.Join(t.TempDir(), "k")
	secret := "keyfile-secret-that-must-not-leak-0123456789"
	os.WriteFile(kf, []byte(secret), 0o600)
	if res := harness.Run(t, "", "keys", "add", "--passfile", harness.Passfile(t, password), "--new-keyfile", kf, "--label", "k", cipherdir); res.Code != 0 {
		t.Fatalf("keys add: %v", res)
	}
	checkDaemonProcFiles(t, bin, func() { harness.MountWith(t, cipherdir, mnt, "--keyfile", kf) },
		"the keyfile or the master key", func(data []byte) bool {
			return bytes.Contains(data, []byte(secret)) || bytes.Contains(bytes.ToLower(data), []byte(key[:16])) || bytes.Contains(data, []byte(kf))
		})
	harness.Unmount(t, mnt)
}
