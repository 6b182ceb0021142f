package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/syncmem"
	"github.com/veilfs/veilfs/nametransform"
)

// TestLostLongNameLsPathFsck: a long name whose .name sidecar is gone is
// listed by ls, and translated by path, under "lost name H" as a mount
// shows it; once this machine's memory of long names has it, under its
// real name; fsck --repair then writes the sidecar back from the memory.
func TestLostLongNameLsPathFsck(t *testing.T) {
	t.Setenv("VEILFS_STATE_DIR", t.TempDir())
	dir, _ := pathTestVolume(t)
	long := strings.Repeat("L", 200)
	vol, root := openTestVolume(t, dir)
	iv, _ := vol.DirIVAt(root)
	obj, cname, _ := vol.DiskName(long, iv, true)
	err := vol.PrepareName(root, obj, cname, func() error {
		id := cipher.NewFileID()
		return os.WriteFile(filepath.Join(dir, obj), vol.Content.SealBlocks(cipher.MarshalHeader(id), []byte("long"), 0, id), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	side := filepath.Join(dir, nametransform.SidecarName(obj))
	os.Remove(side)
	lost := nametransform.LostLongName(obj)

	lsEntry := func() map[string]any {
		t.Helper()
		code, stdout, stderr := run(t, "pw\n", "ls", "--json", dir)
		var entries []map[string]any
		if err := json.Unmarshal([]byte(stdout), &entries); code != 0 || err != nil {
			t.Fatalf("ls --json: exit %d, %v\n%s%s", code, err, stdout, stderr)
		}
		for _, e := range entries {
			if e["cipher_name"] == obj {
				return e
			}
		}
		t.Fatalf("ls --json leaves out %s:\n%s", obj, stdout)
		return nil
	}
	if e := lsEntry(); e["name"] != lost || e["sidecar_missing"] != "lost" || e["error"] != nil {
		t.Errorf("ls --json, lost: %v", e)
	}
	_, stdout, _ := run(t, "pw\n", "ls", dir)
	if !strings.Contains(stdout, lost) || !strings.Contains(stdout, "name lost with its .name sidecar") {
		t.Errorf("ls:\n%s", stdout)
	}
	code, stdout, stderr := run(t, "pw\n", "path", "decrypt", dir, obj)
	if code != 0 || stdout != "/"+lost+"\n" || !strings.Contains(stderr, "lost with its .name sidecar") {
		t.Errorf("path decrypt: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "pw\n", "path", "encrypt", "--all", dir, lost)
	if code != 0 || !strings.HasPrefix(stdout, obj+"\n"+nametransform.SidecarName(obj)+"\n") ||
		!strings.Contains(stderr, "restore from your sync service's version history or a backup: "+nametransform.SidecarName(obj)) {
		t.Errorf("path encrypt --all: exit %d\n%s%s", code, stdout, stderr)
	}

	// This machine's mounts saw the name: shown, not written.
	syncmem.OpenLongNames(longNameMemoryFile(dir)).Record(cname)
	if e := lsEntry(); e["name"] != long || e["sidecar_missing"] != "remembered" {
		t.Errorf("ls --json, remembered: %v", e)
	}
	if _, err := os.Stat(side); !os.IsNotExist(err) {
		t.Fatalf("ls wrote the sidecar: %v", err)
	}
	code, stdout, _ = run(t, "pw\n", "path", "decrypt", dir, obj)
	if code != 0 || stdout != "/"+long+"\n" {
		t.Errorf("path decrypt, remembered: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, "pw\n", "fsck", dir)
	if code != exitFsck || !strings.Contains(stdout, "bad-sidecar") || !strings.Contains(stdout, "remember") {
		t.Errorf("fsck: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, "pw\n", "fsck", "--repair", dir)
	got, err := os.ReadFile(side)
	if err != nil || string(got) != cname || !strings.Contains(stdout, "memory of long names") {
		t.Errorf("fsck --repair: exit %d, sidecar %q, %v\n%s", code, got, err, stdout)
	}
}
