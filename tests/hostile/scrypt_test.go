//go:build linux

package hostile_test

import (
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

// TestHostileScrypt gives mount (background, as fstab does, and
// foreground), info and passwd a gocryptfs.conf whose scrypt parameters a
// CIPHERDIR writer chose to make unlocking impossible: hours of work
// (P = 2^20), 128 GiB of memory (R = 2^20), or values scrypt or gocryptfs
// refuse. Each command must refuse within seconds, with exit code 23 and a
// message naming the field and the range allowed, before asking for the
// password, and must not mount. Before the upper bounds the first two were
// accepted and ran until the OOM killer or the timeout.
func TestHostileScrypt(t *testing.T) {
	harness.RequireFUSE(t)
	base := t.TempDir()
	clean := filepath.Join(base, "clean")
	harness.InitVolume(t, clean, harness.DefaultPassword)
	conf, err := os.ReadFile(filepath.Join(clean, "gocryptfs.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, field string
		value       any
		want        string
	}{
		{"N 2^31", "N", 1 << 31, "scrypt N=2147483648 is out of range: allowed"},
		{"N not a power of two", "N", 1536, "scrypt N=1536 is not a power of two"},
		{"R 2^20", "R", 1 << 20, "scrypt R=1048576 is out of range: allowed 8 to 32"},
		{"P 2^20", "P", 1 << 20, "scrypt P=1048576 is out of range: allowed 1 to 16"},
		{"N·R·P too costly", "N", 1 << 28, "too costly"}, // with R = 8, P = 1 set below
		{"salt 31 bytes", "Salt", make([]byte, 31), "scrypt salt is 31 bytes: allowed 32 to 1024"},
		{"salt 2000 bytes", "Salt", make([]byte, 2000), "scrypt salt is 2000 bytes: allowed 32 to 1024"},
		{"KeyLen 64", "KeyLen", 64, "scrypt KeyLen=64: allowed only 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(conf, &m); err != nil {
				t.Fatal(err)
			}
			so := m["ScryptObject"].(map[string]any)
			so[tc.field] = tc.value
			if tc.name == "N·R·P too costly" {
				so["R"] = 16
			}
			b, _ := json.Marshal(m)
			if err := os.WriteFile(filepath.Join(dir, "gocryptfs.conf"), b, 0o400); err != nil {
				t.Fatal(err)
			}
			pass := harness.Passfile(t, harness.DefaultPassword)
			mnt := t.TempDir()
			for _, args := range [][]string{
				{"mount", "--passfile", pass, dir, mnt},
				{"mount", "-f", "--passfile", pass, dir, mnt},
				{"info", dir},
				{"passwd", "--passfile", pass, "--new-passfile", pass, dir},
			} {
				// A short deadline of our own: the harness's is minutes,
				// and the hostile costs ran for hours.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				start := time.Now()
				out, err := exec.CommandContext(ctx, harness.Binary(t), args...).CombinedOutput()
				took, timedOut := time.Since(start), ctx.Err() != nil
				cancel()
				harness.Detach(mnt)
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				}
				switch {
				case timedOut:
					t.Errorf("veilfs %s: still running after %v", args[0], took)
				case code != 23 || !strings.Contains(string(out), tc.want):
					t.Errorf("veilfs %s: exit %d (%v), want 23 and %q:\n%s", strings.Join(args[:2], " "), code, err, tc.want, out)
				case took > 3*time.Second:
					t.Errorf("veilfs %s: refused only after %v", args[0], took)
				}
			}
		})
	}
}
