package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/testenv"
)

// TestCheckScryptMemory: the costliest scrypt cost gocryptfs writes
// (N = 2^28, R = 8: 256 GiB) passes cipher's bounds, but on a machine with
// less memory it is refused with exit code 23 before the password is read,
// instead of ending in the OOM killer; the default cost passes.
func TestCheckScryptMemory(t *testing.T) {
	total, ok := totalMemory()
	if !ok {
		testenv.Missing(t, "cannot tell this machine's memory")
	}
	if total >= 256<<30 {
		testenv.Platform(t, "this machine has 256 GiB: N = 2^28 fits")
	}
	huge := cipher.NewScryptParams(cipher.MaxScryptLogN)
	if err := huge.Validate(); err != nil {
		t.Fatal(err)
	}
	err := checkScryptMemory(huge)
	if err == nil || exitCode(err) != exitOpenConf || !strings.Contains(err.Error(), "needs 262144 MiB of memory") {
		t.Fatalf("N=2^28: %v (exit %d)", err, exitCode(err))
	}
	if err := checkScryptMemory(cipher.NewScryptParams(cipher.DefaultScryptLogN)); err != nil {
		t.Fatalf("default cost: %v", err)
	}
}

// TestSaveConfigCheckFails: a change whose check fails exits 24 and leaves
// the old gocryptfs.conf byte-identical, with no tmp file beside it (the
// check once ran after the rename, leaving the failed config in place).
func TestSaveConfigCheckFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, config.Filename)
	old := []byte("the config that works\n") // saveConfig never reads it
	if err := os.WriteFile(path, old, 0o400); err != nil {
		t.Fatal(err)
	}
	f, err := config.New(bytes.Repeat([]byte{7}, cipher.MasterKeySize), []byte("new"), config.CreateOptions{LogN: cipher.MinScryptLogN})
	if err != nil {
		t.Fatal(err)
	}
	err = saveConfig(path, f, func(*config.File) error { return errors.New("does not open") })
	if exitCode(err) != exitWriteConf || !strings.Contains(err.Error(), "check "+path+" after writing it: does not open") {
		t.Fatalf("saveConfig: %v (exit %d)", err, exitCode(err))
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Error("the config was replaced by one that failed its check")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s holds %d entries, want only the config", dir, len(entries))
	}
}
