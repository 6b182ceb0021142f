//go:build linux

package hostile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

// editConfig rewrites CIPHERDIR/gocryptfs.conf (mode 0400, as veilfs and
// gocryptfs leave it) the way a CIPHERDIR writer without the password
// would: set the feature flags, and optionally drop veilfs's format record.
func editConfig(t *testing.T, dir string, flags []string, dropRecord bool) {
	t.Helper()
	p := filepath.Join(dir, "gocryptfs.conf")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["FeatureFlags"] = flags
	delete(m, "LongNameMax")
	if dropRecord {
		delete(m, "VeilfsFormat")
	}
	out, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(out, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o400); err != nil {
		t.Fatal(err)
	}
}

var plaintextNamesFlags = []string{"HKDF", "GCMIV128", "PlaintextNames"}

// copyFixture copies a gocryptfs-made fixture volume and returns its
// CIPHERDIR and password.
func copyFixture(t *testing.T, name string) (string, string) {
	t.Helper()
	src := filepath.Join(harness.FixturesDir(t), name)
	var man struct{ Password string }
	b, err := os.ReadFile(filepath.Join(src, "fixtures.json"))
	if err == nil {
		err = json.Unmarshal(b, &man)
	}
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "cipher")
	if out, err := exec.Command("cp", "-a", filepath.Join(src, "cipher"), dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	return dst, man.Password
}

// refusedEverywhere runs every command that unlocks the volume against dir
// and requires each to exit 23 with want in its message, to leave
// CIPHERDIR exactly as it was, and to mount nothing. noPassword runs them
// without a password at all: the refusal must come before it is asked for.
func refusedEverywhere(t *testing.T, dir, password, want string, noPassword bool) {
	t.Helper()
	before := treeDigest(dir)
	mnt := t.TempDir()
	pass := harness.Passfile(t, password)
	newPass := harness.Passfile(t, "a new password")
	unlock := []string{"--passfile", pass}
	if noPassword {
		unlock = nil
	}
	for _, cmd := range [][]string{
		append(append([]string{"mount"}, unlock...), dir, mnt),
		append(append([]string{"mount", "-f"}, unlock...), dir, mnt),
		append(append([]string{"ls"}, unlock...), dir),
		append(append([]string{"fsck"}, unlock...), dir),
		append(append([]string{"passwd", "--new-passfile", newPass}, unlock...), dir),
		append(append([]string{"path", "encrypt"}, unlock...), dir, "x"),
	} {
		res := runFormatCmd(t, cmd...)
		harness.Detach(mnt)
		if res.Code != 23 || !strings.Contains(res.Stderr, want) {
			t.Errorf("veilfs %s: want exit 23 and %q, got %v", strings.Join(cmd, " "), want, res)
		}
		if _, mounted := harness.FindMount(mnt); mounted {
			t.Errorf("veilfs %s mounted the volume", strings.Join(cmd, " "))
		}
	}
	if treeDigest(dir) != before {
		t.Errorf("a refused command changed CIPHERDIR")
	}
}

// runFormatCmd is harness.Run with a deadline of seconds: a foreground mount
// that is not refused serves until it is stopped.
func runFormatCmd(t *testing.T, args ...string) harness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := harness.Result{Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
	if ctx.Err() != nil {
		res.Stderr += "(killed after 15 s: it did not refuse)"
	} else if err != nil && res.Code == 0 {
		res.Code = -1
	}
	return res
}

// TestFormatDowngrade: a CIPHERDIR writer without the password sets
// PlaintextNames (or removes DirIV) in gocryptfs.conf; gocryptfs's config
// authenticates none of its flags, so with the same password every new
// name and symlink target would reach the sync service in the clear.
// Before the format record and the root check, every row here mounted.
func TestFormatDowngrade(t *testing.T) {
	harness.RequireFUSE(t)

	t.Run("veilfs volume, PlaintextNames set", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cipher")
		harness.InitVolume(t, dir, harness.DefaultPassword)
		editConfig(t, dir, plaintextNamesFlags, false)
		refusedEverywhere(t, dir, harness.DefaultPassword,
			"gocryptfs.conf says PlaintextNames, but the volume was set up without it", false)
	})
	t.Run("veilfs volume, DirIV removed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cipher")
		harness.InitVolume(t, dir, harness.DefaultPassword)
		editConfig(t, dir, []string{"HKDF", "GCMIV128", "EMENames", "LongNames", "Raw64"}, false)
		refusedEverywhere(t, dir, harness.DefaultPassword,
			"gocryptfs.conf lacks DirIV, but the volume was set up with it", false)
	})
	t.Run("veilfs volume, PlaintextNames set and the record deleted", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cipher")
		harness.InitVolume(t, dir, harness.DefaultPassword)
		editConfig(t, dir, plaintextNamesFlags, true)
		refusedEverywhere(t, dir, harness.DefaultPassword,
			`gocryptfs.conf says PlaintextNames, but the root of `+dir+` holds "gocryptfs.diriv"`, true)
	})
	t.Run("gocryptfs volume, PlaintextNames set", func(t *testing.T) {
		dir, pw := copyFixture(t, "v2-default")
		editConfig(t, dir, plaintextNamesFlags, false)
		refusedEverywhere(t, dir, pw, `holds "gocryptfs.diriv", which only volumes with encrypted names have`, true)
	})
	t.Run("gocryptfs deterministic-names volume, PlaintextNames set", func(t *testing.T) {
		dir, pw := copyFixture(t, "v2-deterministic-names")
		editConfig(t, dir, plaintextNamesFlags, false)
		refusedEverywhere(t, dir, pw, "an encrypted name (base64 of whole 16-byte blocks)", true)
	})
	t.Run("gocryptfs volume, DirIV removed", func(t *testing.T) {
		dir, pw := copyFixture(t, "v2-default")
		editConfig(t, dir, []string{"HKDF", "GCMIV128", "EMENames", "LongNames", "Raw64"}, false)
		refusedEverywhere(t, dir, pw, "gocryptfs.conf says deterministic names (no DirIV flag)", true)
	})
	// A gocryptfs volume gets the record the first time veilfs writes its
	// config with the key; from then on the record catches the change.
	t.Run("gocryptfs volume after veilfs passwd", func(t *testing.T) {
		dir, pw := copyFixture(t, "v2-default")
		res := harness.Run(t, "", "passwd", "--passfile", harness.Passfile(t, pw), "--new-passfile", harness.Passfile(t, pw), dir)
		if res.Code != 0 {
			t.Fatalf("passwd: %v", res)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "gocryptfs.conf")); !strings.Contains(string(b), `"VeilfsFormat"`) {
			t.Fatalf("passwd wrote no format record:\n%s", b)
		}
		editConfig(t, dir, plaintextNamesFlags, false)
		refusedEverywhere(t, dir, pw, "gocryptfs.conf says PlaintextNames, but the volume was set up without it", false)
	})
	// rotate seals the new format under the new master key.
	t.Run("veilfs volume after rotate --xchacha", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cipher")
		harness.InitVolume(t, dir, harness.DefaultPassword)
		pw := harness.Passfile(t, harness.DefaultPassword)
		if res := harness.Run(t, "", "rotate", "--quiet", "--xchacha", "--passfile", pw, dir); res.Code != 0 {
			t.Fatalf("rotate: %v", res)
		}
		if res := harness.Run(t, "", "ls", "--passfile", pw, dir); res.Code != 0 {
			t.Fatalf("ls after rotate: %v", res)
		}
		editConfig(t, dir, []string{"HKDF", "XChaCha20Poly1305", "PlaintextNames"}, false)
		refusedEverywhere(t, dir, harness.DefaultPassword, "gocryptfs.conf says PlaintextNames, but the volume was set up without it", false)
	})
	// The genuine article still mounts: a plaintext-names volume, made by
	// veilfs (with a record) or by gocryptfs (without).
	t.Run("real plaintext-names volumes mount", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cipher")
		harness.InitVolume(t, dir, harness.DefaultPassword, "--plaintextnames")
		fx, pw := copyFixture(t, "v2-plaintextnames")
		for d, p := range map[string]string{dir: harness.DefaultPassword, fx: pw} {
			mnt := t.TempDir()
			harness.MountVolume(t, d, mnt, p)
			harness.Unmount(t, mnt)
		}
	})
}
