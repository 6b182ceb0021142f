//go:build linux

package cli

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// The master key recovers a volume whose gocryptfs.conf is gone or
// unusable (docs/recovery.md): ls, fsck and mount open it with the format
// assumed (the default, or init's format options), and init
// --masterkey-file writes a new config that gocryptfs -fsck then finds
// clean. Before, every one of these exited 23 ("parse config: ...", or
// "not a volume").

// recoveryFormats are init's format options, each a volume of its own.
var recoveryFormats = []struct {
	name string
	args []string
}{
	{"default", nil},
	{"plaintextnames", []string{"--plaintextnames"}},
	{"deterministic-names", []string{"--deterministic-names"}},
	{"xchacha", []string{"--xchacha"}},
	{"aessiv", []string{"--aessiv"}},
	{"longnamemax 62", []string{"--longnamemax", "62"}},
}

// configDamages are the ways a gocryptfs.conf is lost or broken.
var configDamages = []struct {
	name   string
	damage func(t *testing.T, conf string)
}{
	{"deleted", func(t *testing.T, conf string) { mustRemove(t, conf) }},
	{"truncated", func(t *testing.T, conf string) {
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		rewrite(t, conf, b[:100])
	}},
	{"garbage", func(t *testing.T, conf string) {
		b := make([]byte, 700)
		rand.Read(b)
		rewrite(t, conf, b)
	}},
	{"wrong types", func(t *testing.T, conf string) {
		rewrite(t, conf, []byte(`{"Version": "two", "FeatureFlags": {}, "EncryptedKey": 7}`+"\n"))
	}},
	{"a FIFO", func(t *testing.T, conf string) {
		mustRemove(t, conf)
		if err := syscall.Mkfifo(conf, 0o600); err != nil {
			t.Fatal(err)
		}
	}},
}

func mustRemove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func rewrite(t *testing.T, p string, b []byte) {
	t.Helper()
	mustRemove(t, p)
	if err := os.WriteFile(p, b, 0o400); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverWithoutConfig(t *testing.T) {
	harness.RequireFUSE(t)
	harness.RequireGocryptfs(t)
	long := strings.Repeat("long name ", 20) // 200 bytes: a long name in every name format
	for _, format := range recoveryFormats {
		t.Run(format.name, func(t *testing.T) {
			// One volume per format, with a file, a long name, a
			// directory and a symlink; each damage gets a copy.
			orig := filepath.Join(t.TempDir(), "cipher")
			keyFile := initWithKeyFile(t, orig, "old password", format.args...)
			mnt := t.TempDir()
			harness.MountVolume(t, orig, mnt, "old password")
			for name, content := range map[string]string{"notes.txt": "my notes\n", long: "long\n", "sub/deeper.txt": "deep\n"} {
				p := filepath.Join(mnt, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink("notes.txt", filepath.Join(mnt, "link")); err != nil {
				t.Fatal(err)
			}
			harness.Unmount(t, mnt)

			for i, dmg := range configDamages {
				t.Run(dmg.name, func(t *testing.T) {
					dir := filepath.Join(t.TempDir(), "cipher")
					if out, err := exec.Command("cp", "-a", orig, dir).CombinedOutput(); err != nil {
						t.Fatalf("cp -a: %v: %s", err, out)
					}
					dmg.damage(t, filepath.Join(dir, "gocryptfs.conf"))
					key := append([]string{"--masterkey-file", keyFile}, format.args...)

					// Read-only commands open it as it is.
					res := harness.Run(t, "", append(append([]string{"ls", "-R"}, key...), dir)...)
					if res.Code != 0 || !strings.Contains(res.Stdout, "deeper.txt") || !strings.Contains(res.Stdout, long) ||
						!strings.Contains(res.Stderr, "opening the volume with the master key, assuming") {
						t.Fatalf("ls -R with the master key: %v", res)
					}
					if i == 0 {
						// The mount (through its daemon) and fsck, once per format.
						harness.MountWith(t, dir, mnt, key...)
						if b, err := os.ReadFile(filepath.Join(mnt, "sub/deeper.txt")); err != nil || string(b) != "deep\n" {
							t.Errorf("read through the recovery mount: %q, %v", b, err)
						}
						harness.Unmount(t, mnt)
						// Every file checks out; the config is the one problem.
						res := harness.Run(t, "", append(append([]string{"fsck"}, key...), dir)...)
						if res.Code != 26 || !strings.Contains(res.Stdout, "bad-config") || !strings.Contains(res.Stdout, "fsck summary: 1 problem;") {
							t.Errorf("fsck with the master key: want exit 26 and only bad-config, got %v", res)
						}
					}

					// init writes a new config, which gocryptfs finds clean.
					newPw := harness.Passfile(t, "new password")
					res = harness.Run(t, "", append(append([]string{"init", "--scryptn", "10", "--passfile", newPw}, key...), dir)...)
					if res.Code != 0 || !strings.Contains(res.Stdout, "Wrote a new gocryptfs.conf") {
						t.Fatalf("init --masterkey-file: %v", res)
					}
					if dmg.name != "deleted" && dmg.name != "a FIFO" && !strings.Contains(res.Stdout, "The damaged one was moved to") {
						t.Errorf("init did not say where the damaged config went: %v", res)
					}
					if out, code := harness.GocryptfsFsck(t, dir, "new password"); code != 0 {
						t.Errorf("gocryptfs -fsck after recovery: exit %d\n%s", code, out)
					}
					harness.MountVolume(t, dir, mnt, "new password")
					if b, err := os.ReadFile(filepath.Join(mnt, "link")); err != nil || string(b) != "my notes\n" {
						t.Errorf("after recovery, link: %q, %v", b, err)
					}
					harness.Unmount(t, mnt)
				})
			}
		})
	}
}

// TestRecoverRefusesWrongGuess: a format or key that does not fit the
// files is refused with what does fit, never shown as an empty volume.
func TestRecoverRefusesWrongGuess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cipher")
	keyFile := initWithKeyFile(t, dir, "pw", "--xchacha")
	mnt := t.TempDir()
	harness.MountVolume(t, dir, mnt, "pw")
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(mnt, n), []byte("content "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	harness.Unmount(t, mnt)
	mustRemove(t, filepath.Join(dir, "gocryptfs.conf"))
	wrongKey := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongKey, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, dir)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"default format for an XChaCha volume", []string{"ls", "--masterkey-file", keyFile}, 23, "run the command again with --xchacha"},
		{"plaintext names for an encrypted-names volume", []string{"ls", "--masterkey-file", keyFile, "--xchacha", "--plaintextnames"}, 23, `its root holds "gocryptfs.diriv"`},
		{"wrong key", []string{"ls", "--masterkey-file", wrongKey, "--xchacha"}, 12, "the master key does not decrypt the files"},
		{"init with the wrong format", []string{"init", "--masterkey-file", keyFile, "--passfile", harness.Passfile(t, "x")}, 23, "with --xchacha"},
		{"mount with the wrong format", []string{"mount", "--masterkey-file", keyFile, "--aessiv"}, 23, "run the command again with --xchacha"},
		{"format options with a usable config", nil, 1, "describe a volume without a usable gocryptfs.conf"},
		{"no master key", []string{"ls", "--passfile", harness.Passfile(t, "pw")}, 23, "veilfs mount --masterkey-file FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := dir
			args := tc.args
			if args == nil {
				target = filepath.Join(t.TempDir(), "ok")
				harness.InitVolume(t, target, "pw")
				args = []string{"ls", "--passfile", harness.Passfile(t, "pw"), "--xchacha"}
			}
			args = append(args, target)
			if args[0] == "mount" {
				args = append(args, mnt)
			}
			res := harness.Run(t, "", args...)
			if _, mounted := harness.FindMount(mnt); mounted {
				harness.Unmount(t, mnt)
				t.Fatalf("mounted: %v", res)
			}
			if res.Code != tc.code || !strings.Contains(res.Stderr, tc.want) {
				t.Errorf("veilfs %s: want exit %d and %q, got %v", strings.Join(args, " "), tc.code, tc.want, res)
			}
		})
	}
	if treeDigest(t, dir) != before {
		t.Error("a refused recovery changed CIPHERDIR")
	}
}

// initWithKeyFile makes a volume in dir with password and init's extra
// args, and returns a file holding the master key init printed.
func initWithKeyFile(t *testing.T, dir, password string, args ...string) string {
	t.Helper()
	res := harness.Run(t, "", append(append([]string{"init", "--scryptn", "10", "--passfile", harness.Passfile(t, password)}, args...), dir)...)
	if res.Code != 0 {
		t.Fatalf("init: %v", res)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(masterKeyOf(t, res.Stdout)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile
}

// treeDigest lists every path under dir with its size and mode.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d\n", p, fi.Mode(), fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
