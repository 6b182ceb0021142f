//go:build linux

package fs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/syncmem"
)

// TestRmdirForgetsIV: a directory the mount removes leaves the IV memory,
// so that a mount that creates and removes directories all day does not
// grow (make bench-soak grew 0.7 MiB a cycle of untar and rm -rf before).
// One that is still there stays remembered.
func TestRmdirForgetsIV(t *testing.T) {
	mem := filepath.Join(t.TempDir(), "ivs")
	tm := newTestMountWith(t, config.CreateOptions{}, Options{IVMemory: mem})
	for _, d := range []string{"kept", "gone", "gone/sub"} {
		if err := os.Mkdir(filepath.Join(tm.mnt, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"gone/sub", "gone"} {
		if err := os.Remove(filepath.Join(tm.mnt, d)); err != nil {
			t.Fatal(err)
		}
	}
	tm.unmount()
	data, err := os.ReadFile(mem)
	if err != nil {
		t.Fatal(err)
	}
	// The root's IV is remembered too, when the mount reads it.
	recorded, forgotten := 0, strings.Count(string(data), "forget ")
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.HasPrefix(line, "forget ") {
			recorded++
		}
	}
	if forgotten != 2 {
		t.Errorf("memory file: %d forget lines, want 2 (one per rmdir):\n%s", forgotten, data)
	}
	if n := len(syncmem.OpenIVs(mem).All()); n != recorded-2 {
		t.Errorf("IV memory after rmdir of 2 of %d recorded directories: %d IVs, want %d", recorded, n, recorded-2)
	}
}
