//go:build linux

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestExposedSecretFileWarning: a passfile, keyfile or master key file that other users can
// read unlocks the volume for them; veilfs says so on stderr, with the
// chmod that fixes it, and still does what it was asked (refusing would
// fail mounts at boot over a file mode). A 0600 or 0400 file, or a pipe,
// gets no warning.
func TestExposedSecretFileWarning(t *testing.T) {
	harness.RequireFUSE(t)
	cdir, mnt := filepath.Join(t.TempDir(), "cipher"), t.TempDir()
	pf := harness.Passfile(t, password)
	res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", pf, cdir)
	if res.Code != 0 {
		t.Fatalf("init: %v", res)
	}
	mkf := filepath.Join(t.TempDir(), "vault.key")
	if err := os.WriteFile(mkf, []byte(masterKeyOf(t, res.Stdout)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kf := filepath.Join(t.TempDir(), "vault.keyfile")
	if res := harness.Run(t, "", "keys", "add", "--passfile", pf, "--new-keyfile", kf, "--label", "usb", cdir); res.Code != 0 {
		t.Fatalf("keys add: %v", res)
	}
	for _, tt := range []struct {
		name string
		file string
		mode os.FileMode
		args []string
		warn bool
	}{
		{"passfile 0644", pf, 0o644, []string{"--passfile", pf}, true},
		{"passfile 0640", pf, 0o640, []string{"-o", "passfile=" + pf}, true},
		{"passfile 0600", pf, 0o600, []string{"--passfile", pf}, false},
		{"keyfile 0604", kf, 0o604, []string{"--keyfile", kf}, true},
		{"keyfile 0400", kf, 0o400, []string{"--keyfile", kf}, false},
		{"master key file 0644", mkf, 0o644, []string{"--masterkey-file", mkf}, true},
		{"master key file 0600", mkf, 0o600, []string{"-o", "masterkey-file=" + mkf}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Chmod(tt.file, tt.mode); err != nil {
				t.Fatal(err)
			}
			res := harness.TryMount(t, cdir, mnt, tt.args...)
			if res.Code != 0 {
				t.Fatalf("mount: %v", res)
			}
			harness.Unmount(t, mnt)
			warned := strings.Contains(res.Stderr, "veilfs: warning: ") && strings.Contains(res.Stderr, tt.file+" is readable by other users")
			hinted := strings.Contains(res.Stderr, "veilfs: hint: chmod 600 "+tt.file)
			switch {
			case tt.warn && (!warned || !hinted):
				t.Errorf("no warning with the hint chmod 600 for a %s:\n%s", tt.name, res.Stderr)
			case !tt.warn && strings.Contains(res.Stderr, "readable by other users"):
				t.Errorf("a warning for a %s:\n%s", tt.name, res.Stderr)
			}
		})
	}
	// passwd reads the new password's file too: the same warning there.
	if err := os.Chmod(pf, 0o644); err != nil {
		t.Fatal(err)
	}
	res = harness.Run(t, "", "passwd", "--passfile", pf, "--new-passfile", pf, cdir)
	if res.Code != 0 || strings.Count(res.Stderr, pf+" is readable by other users") != 2 {
		t.Errorf("passwd with a 0644 passfile as old and new: want it to work and warn twice: %v", res)
	}
}
