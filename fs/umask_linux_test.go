package fs

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// TestMountRefusesUmask: a library caller that left a umask in place gets an
// error naming it, not a mount that creates files with other modes than
// users ask for. Not parallel: the umask is the process's.
func TestMountRefusesUmask(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cipher")
	master, err := cipherdir.Init(dir, testPassword, config.CreateOptions{LogN: 10})
	if err != nil {
		t.Fatal(err)
	}
	vol, err := cipherdir.OpenWithMasterKey(dir, master)
	if err != nil {
		t.Fatal(err)
	}
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	m, err := MountVolume(t.TempDir(), vol, Options{JournalDir: t.TempDir()})
	if err == nil {
		m.Unmount()
		t.Fatal("MountVolume with umask 022 succeeded; want an error")
	}
	if !strings.Contains(err.Error(), "umask is 0022") {
		t.Errorf("error %q does not name the umask", err)
	}
}
